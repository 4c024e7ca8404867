namespace GpuDev.Storage.Postgres;

/// <summary>Versioned migrations, recorded in <c>schema_migrations</c>. Each entry runs once, in order, in the one
/// transaction that holds the migration advisory lock. Times are Unix milliseconds (UTC) in <c>bigint</c>, as in the
/// SQLite store, so both round-trip a <see cref="DateTimeOffset"/> to the same millisecond.</summary>
internal static class PostgresSchema
{
    /// <summary>Key of the transaction-level advisory lock that serializes migrations of replicas starting at once.</summary>
    public const long MigrationLock = 0x67707564_65760001;

    public static readonly string[] Migrations =
    [
        """
        CREATE TABLE users (
            id text PRIMARY KEY,
            name text NOT NULL UNIQUE,
            github_user text,
            is_admin boolean NOT NULL,
            token_hash text NOT NULL UNIQUE,
            created_at bigint NOT NULL);
        CREATE TABLE ssh_keys (
            user_id text NOT NULL REFERENCES users(id),
            key text NOT NULL,
            PRIMARY KEY (user_id, key));
        CREATE TABLE nodes (
            name text PRIMARY KEY,
            gpu_type text NOT NULL,
            gpu_count integer NOT NULL,
            simulated boolean NOT NULL,
            labels text NOT NULL,
            online boolean NOT NULL);
        CREATE TABLE reservations (
            id text PRIMARY KEY,
            seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
            user_id text NOT NULL REFERENCES users(id),
            name text,
            gpu_type text NOT NULL,
            gpu_count integer NOT NULL,
            hours double precision NOT NULL,
            node_count integer NOT NULL,
            jupyter boolean NOT NULL,
            distributed boolean NOT NULL,
            status text NOT NULL,
            status_reason text,
            created_at bigint NOT NULL,
            started_at bigint,
            expires_at bigint,
            ended_at bigint,
            ssh_host text,
            ssh_port integer,
            ssh_user text,
            ssh_host_key text,
            queue_position integer,
            estimated_start_at bigint,
            wait_reason text,
            idempotency_key text);
        CREATE UNIQUE INDEX ix_reservations_idempotency ON reservations(user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
        CREATE INDEX ix_reservations_status ON reservations(status);
        CREATE INDEX ix_reservations_user ON reservations(user_id);
        CREATE TABLE reservation_history (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            reservation_id text NOT NULL REFERENCES reservations(id),
            at bigint NOT NULL,
            from_status text,
            to_status text NOT NULL,
            reason text NOT NULL);
        CREATE INDEX ix_history_reservation ON reservation_history(reservation_id);
        CREATE TABLE reservation_nodes (
            reservation_id text NOT NULL REFERENCES reservations(id),
            rank integer NOT NULL,
            node text NOT NULL,
            gpu_indices text NOT NULL,
            PRIMARY KEY (reservation_id, rank));
        CREATE TABLE gpu_allocations (
            node text NOT NULL,
            gpu_index integer NOT NULL,
            reservation_id text NOT NULL REFERENCES reservations(id),
            PRIMARY KEY (node, gpu_index));
        CREATE INDEX ix_allocations_reservation ON gpu_allocations(reservation_id);
        CREATE TABLE jobs (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            kind text NOT NULL,
            reservation_id text NOT NULL,
            run_after bigint NOT NULL,
            created_at bigint NOT NULL,
            attempts integer NOT NULL DEFAULT 0,
            lease_owner text,
            lease_until bigint,
            last_error text);
        CREATE INDEX ix_jobs_due ON jobs(run_after, id);
        """,
        """
        ALTER TABLE reservation_nodes ADD COLUMN ssh_host text;
        ALTER TABLE reservation_nodes ADD COLUMN ssh_port integer;
        ALTER TABLE reservation_nodes ADD COLUMN ssh_user text;
        ALTER TABLE reservation_nodes ADD COLUMN ssh_host_key text;
        """,
        """
        ALTER TABLE reservations ADD COLUMN extended_hours double precision NOT NULL DEFAULT 0;
        ALTER TABLE reservations ADD COLUMN jupyter_url text;
        CREATE TABLE reservation_users (
            reservation_id text NOT NULL REFERENCES reservations(id),
            github_user text NOT NULL,
            added_at bigint NOT NULL);
        CREATE UNIQUE INDEX ix_reservation_users_key ON reservation_users(reservation_id, lower(github_user));
        CREATE INDEX ix_reservation_users_github ON reservation_users(lower(github_user));
        CREATE TABLE reservation_warnings (
            reservation_id text NOT NULL REFERENCES reservations(id),
            minutes_before integer NOT NULL,
            at bigint NOT NULL,
            message text,
            delivered_at bigint,
            PRIMARY KEY (reservation_id, minutes_before));
        """,
        """
        CREATE TABLE disks (
            id text PRIMARY KEY,
            user_id text NOT NULL REFERENCES users(id),
            name text NOT NULL,
            status text NOT NULL,
            created_at bigint NOT NULL,
            last_used_at bigint,
            attached_reservation text,
            size_bytes bigint NOT NULL DEFAULT 0,
            deleted_at bigint,
            purge_at bigint);
        CREATE UNIQUE INDEX ix_disks_live_name ON disks(user_id, name) WHERE deleted_at IS NULL;
        CREATE TABLE disk_snapshots (
            id text PRIMARY KEY,
            disk_id text NOT NULL REFERENCES disks(id),
            created_at bigint NOT NULL,
            size_bytes bigint NOT NULL,
            file_count integer NOT NULL,
            reservation_id text);
        CREATE INDEX ix_disk_snapshots_disk ON disk_snapshots(disk_id, created_at);
        ALTER TABLE reservations ADD COLUMN disk_id text REFERENCES disks(id);
        """,
        """
        ALTER TABLE reservations ADD COLUMN recreate_env boolean NOT NULL DEFAULT false;
        ALTER TABLE disks ADD COLUMN purged_at bigint;
        """,
        """
        ALTER TABLE reservations ADD COLUMN environment_json jsonb;
        """,
        """
        CREATE TABLE worker_leases (
            name text PRIMARY KEY,
            owner text NOT NULL,
            expires_at bigint NOT NULL);
        """,
        // The audit trail (SQLite migration 8). Targets are reservation ids or disk names, filtered by prefix: that index
        // and the id-prefix one use the "C" collation so a prefix is a key range whatever the database's default collation.
        """
        CREATE TABLE audit_log (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at bigint NOT NULL,
            actor text NOT NULL,
            action text NOT NULL,
            target text,
            outcome integer NOT NULL,
            detail text,
            remote_address text);
        CREATE INDEX ix_audit_at ON audit_log(at);
        CREATE INDEX ix_audit_actor ON audit_log(actor, at);
        CREATE INDEX ix_audit_target ON audit_log(target COLLATE "C", at);
        CREATE INDEX IF NOT EXISTS ix_reservations_user_status ON reservations(user_id, status);
        CREATE INDEX IF NOT EXISTS ix_reservations_id_c ON reservations(id COLLATE "C");
        """,

        // Who is restoring a disk, so a replica starting up ends only restores cut short by a process that is gone.
        """
        ALTER TABLE disks ADD COLUMN restore_owner text;
        ALTER TABLE disks ADD COLUMN restore_started_at bigint;
        """,

        // When the one extension was made: expiry warnings count from there (a threshold at or above what was left then is skipped).
        """
        ALTER TABLE reservations ADD COLUMN extended_at bigint;
        """,

        // Disk names are not case-sensitive (lookups compare lower(name)): one live disk per user and name whatever its
        // case. A live duplicate from before (two creates racing past the API's check) keeps its data under its name
        // followed by '-' and its id's first 8 characters, still a valid name; the oldest keeps the name.
        """
        UPDATE disks SET name = substr(name, 1, 55) || '-' || substr(id, 1, 8)
        WHERE deleted_at IS NULL AND EXISTS (
            SELECT 1 FROM disks older WHERE older.user_id = disks.user_id AND older.deleted_at IS NULL AND lower(older.name) = lower(disks.name)
                AND (older.created_at < disks.created_at OR (older.created_at = disks.created_at AND older.id < disks.id)));
        DROP INDEX ix_disks_live_name;
        CREATE UNIQUE INDEX ix_disks_live_lower_name ON disks(user_id, lower(name)) WHERE deleted_at IS NULL;
        """,

        // Tokens of their own (issue 16): several per user, each named and expiring, revocable; accounts can be disabled.
        // The token each user had becomes their 'initial' bootstrap token, valid for a year from this migration.
        """
        CREATE TABLE tokens (
            id text PRIMARY KEY,
            user_id text NOT NULL REFERENCES users(id),
            name text NOT NULL,
            kind text NOT NULL,
            hash text NOT NULL UNIQUE,
            created_at bigint NOT NULL,
            expires_at bigint NOT NULL,
            revoked_at bigint);
        CREATE INDEX ix_tokens_user ON tokens(user_id, created_at);
        INSERT INTO tokens (id, user_id, name, kind, hash, created_at, expires_at)
            SELECT md5(random()::text || id), id, 'initial', 'bootstrap', token_hash, created_at, (extract(epoch FROM now()) * 1000)::bigint + 31536000000 FROM users;
        ALTER TABLE users ADD COLUMN disabled_at bigint;
        """,

        // Sign-in with the site's OpenID provider: which provider account (issuer, subject) is which user, and the ID tokens
        // already exchanged (each is good for one login; kept until it expires).
        """
        CREATE TABLE user_identities (
            issuer text NOT NULL,
            subject text NOT NULL,
            user_id text NOT NULL REFERENCES users(id),
            created_at bigint NOT NULL,
            PRIMARY KEY (issuer, subject));
        CREATE TABLE used_id_tokens (
            hash text PRIMARY KEY,
            expires_at bigint NOT NULL);
        """,

        // The likely start of a waiting request (issue 17), beside the guaranteed one; the nodes the guaranteed one is booked
        // on (the next pass holds that slot, so it never moves later); and the index the end predictor's history
        // (reservations ended recently) is read by.
        """
        ALTER TABLE reservations ADD COLUMN likely_start_at bigint;
        ALTER TABLE reservations ADD COLUMN planned_nodes text;
        CREATE INDEX ix_reservations_ended ON reservations(ended_at);
        """,
    ];
}
