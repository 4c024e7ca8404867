using System.Globalization;
using System.Text;

namespace GpuDev.Storage.Sqlite;

/// <summary>Versioned migrations. Each entry runs once, in order, inside one transaction with its version bump.
/// Times are stored as Unix milliseconds (UTC).</summary>
internal static class SqliteSchema
{
    public static readonly string[] Migrations =
    [
        """
        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            github_user TEXT,
            is_admin INTEGER NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL);
        CREATE TABLE ssh_keys (
            user_id TEXT NOT NULL REFERENCES users(id),
            key TEXT NOT NULL,
            PRIMARY KEY (user_id, key));
        CREATE TABLE nodes (
            name TEXT PRIMARY KEY,
            gpu_type TEXT NOT NULL,
            gpu_count INTEGER NOT NULL,
            simulated INTEGER NOT NULL,
            labels TEXT NOT NULL,
            online INTEGER NOT NULL);
        CREATE TABLE reservations (
            id TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            user_id TEXT NOT NULL REFERENCES users(id),
            name TEXT,
            gpu_type TEXT NOT NULL,
            gpu_count INTEGER NOT NULL,
            hours REAL NOT NULL,
            node_count INTEGER NOT NULL,
            jupyter INTEGER NOT NULL,
            distributed INTEGER NOT NULL,
            status TEXT NOT NULL,
            status_reason TEXT,
            created_at INTEGER NOT NULL,
            started_at INTEGER,
            expires_at INTEGER,
            ended_at INTEGER,
            ssh_host TEXT,
            ssh_port INTEGER,
            ssh_user TEXT,
            ssh_host_key TEXT,
            queue_position INTEGER,
            estimated_start_at INTEGER,
            wait_reason TEXT,
            idempotency_key TEXT);
        CREATE UNIQUE INDEX ix_reservations_idempotency ON reservations(user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
        CREATE INDEX ix_reservations_status ON reservations(status);
        CREATE INDEX ix_reservations_user ON reservations(user_id);
        CREATE TABLE reservation_history (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            reservation_id TEXT NOT NULL REFERENCES reservations(id),
            at INTEGER NOT NULL,
            from_status TEXT,
            to_status TEXT NOT NULL,
            reason TEXT NOT NULL);
        CREATE INDEX ix_history_reservation ON reservation_history(reservation_id);
        CREATE TABLE reservation_nodes (
            reservation_id TEXT NOT NULL REFERENCES reservations(id),
            rank INTEGER NOT NULL,
            node TEXT NOT NULL,
            gpu_indices TEXT NOT NULL,
            PRIMARY KEY (reservation_id, rank));
        CREATE TABLE gpu_allocations (
            node TEXT NOT NULL,
            gpu_index INTEGER NOT NULL,
            reservation_id TEXT NOT NULL REFERENCES reservations(id),
            PRIMARY KEY (node, gpu_index));
        CREATE INDEX ix_allocations_reservation ON gpu_allocations(reservation_id);
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            reservation_id TEXT NOT NULL,
            run_after INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            lease_owner TEXT,
            lease_until INTEGER,
            last_error TEXT);
        CREATE INDEX ix_jobs_due ON jobs(run_after);
        """,
        """
        ALTER TABLE reservation_nodes ADD COLUMN ssh_host TEXT;
        ALTER TABLE reservation_nodes ADD COLUMN ssh_port INTEGER;
        ALTER TABLE reservation_nodes ADD COLUMN ssh_user TEXT;
        ALTER TABLE reservation_nodes ADD COLUMN ssh_host_key TEXT;
        """,
        """
        ALTER TABLE reservations ADD COLUMN extended_hours REAL NOT NULL DEFAULT 0;
        ALTER TABLE reservations ADD COLUMN jupyter_url TEXT;
        CREATE TABLE reservation_users (
            reservation_id TEXT NOT NULL REFERENCES reservations(id),
            github_user TEXT NOT NULL COLLATE NOCASE,
            added_at INTEGER NOT NULL,
            PRIMARY KEY (reservation_id, github_user));
        CREATE INDEX ix_reservation_users_github ON reservation_users(github_user);
        CREATE TABLE reservation_warnings (
            reservation_id TEXT NOT NULL REFERENCES reservations(id),
            minutes_before INTEGER NOT NULL,
            at INTEGER NOT NULL,
            message TEXT,
            delivered_at INTEGER,
            PRIMARY KEY (reservation_id, minutes_before));
        """,
        """
        CREATE TABLE disks (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            last_used_at INTEGER,
            attached_reservation TEXT,
            size_bytes INTEGER NOT NULL DEFAULT 0,
            deleted_at INTEGER,
            purge_at INTEGER);
        CREATE UNIQUE INDEX ix_disks_live_name ON disks(user_id, name) WHERE deleted_at IS NULL;
        CREATE TABLE disk_snapshots (
            id TEXT PRIMARY KEY,
            disk_id TEXT NOT NULL REFERENCES disks(id),
            created_at INTEGER NOT NULL,
            size_bytes INTEGER NOT NULL,
            file_count INTEGER NOT NULL,
            reservation_id TEXT);
        CREATE INDEX ix_disk_snapshots_disk ON disk_snapshots(disk_id, created_at);
        ALTER TABLE reservations ADD COLUMN disk_id TEXT REFERENCES disks(id);
        """,
        """
        ALTER TABLE reservations ADD COLUMN recreate_env INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE disks ADD COLUMN purged_at INTEGER;
        """,
        """
        ALTER TABLE reservations ADD COLUMN environment_json TEXT;
        """,
        """
        CREATE TABLE worker_leases (
            name TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            expires_at INTEGER NOT NULL);
        """,
        """
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at INTEGER NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT,
            outcome INTEGER NOT NULL,
            detail TEXT,
            remote_address TEXT);
        CREATE INDEX ix_audit_at ON audit_log(at);
        CREATE INDEX ix_audit_actor ON audit_log(actor, at);
        CREATE INDEX ix_audit_target ON audit_log(target, at);
        CREATE INDEX ix_reservations_user_status ON reservations(user_id, status);
        """,
        """
        ALTER TABLE disks ADD COLUMN restore_owner TEXT;
        ALTER TABLE disks ADD COLUMN restore_started_at INTEGER;
        """,
        """
        ALTER TABLE reservations ADD COLUMN extended_at INTEGER;
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

        // The read cache's revisions (SqliteReservationRevision): the store's in one row, and each reservation's in its
        // row, moved by triggers in the same transaction as any change to what a reservation's answer is read from, so no
        // write path can forget them and another process's writes count too.
        RevisionTriggers(),

        // Tokens of their own (issue 16): several per user, each named and expiring, revocable; accounts can be disabled.
        // The token each user had becomes their 'initial' bootstrap token, valid for a year from this migration.
        """
        CREATE TABLE tokens (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            revoked_at INTEGER);
        CREATE INDEX ix_tokens_user ON tokens(user_id, created_at);
        INSERT INTO tokens (id, user_id, name, kind, hash, created_at, expires_at)
            SELECT lower(hex(randomblob(16))), id, 'initial', 'bootstrap', token_hash, created_at, CAST(unixepoch('subsec') * 1000 AS INTEGER) + 31536000000 FROM users;
        ALTER TABLE users ADD COLUMN disabled_at INTEGER;
        """,

        // Sign-in with the site's OpenID provider: which provider account (issuer, subject) is which user, and the ID tokens
        // already exchanged (each is good for one login; kept until it expires).
        """
        CREATE TABLE user_identities (
            issuer TEXT NOT NULL,
            subject TEXT NOT NULL,
            user_id TEXT NOT NULL REFERENCES users(id),
            created_at INTEGER NOT NULL,
            PRIMARY KEY (issuer, subject));
        CREATE TABLE used_id_tokens (
            hash TEXT PRIMARY KEY,
            expires_at INTEGER NOT NULL);
        """,

        // The likely start of a waiting request (issue 17), beside the guaranteed one; the nodes the guaranteed one is booked
        // on (the next pass holds that slot, so it never moves later); and the index the end predictor's history
        // (reservations ended recently) is read by.
        """
        ALTER TABLE reservations ADD COLUMN likely_start_at INTEGER;
        ALTER TABLE reservations ADD COLUMN planned_nodes TEXT;
        CREATE INDEX ix_reservations_ended ON reservations(ended_at);
        """,
    ];

    private static string RevisionTriggers()
    {
        // (table, event, the reservations it touches: null for none in particular). Each bumps the store's revision and
        // stamps the touched reservations with it, so a reservation's revision moves with anything its answer is read from.
        (string Table, string Event, string? Touched)[] changes =
        [
            ("reservations", "INSERT", "id = NEW.id"), ("reservations", "UPDATE", "id = NEW.id"), ("reservations", "DELETE", null),
            ("reservation_history", "INSERT", "id = NEW.reservation_id"), ("reservation_history", "UPDATE", "id = NEW.reservation_id"),
            ("reservation_history", "DELETE", "id = OLD.reservation_id"),
            ("reservation_nodes", "INSERT", "id = NEW.reservation_id"), ("reservation_nodes", "UPDATE", "id = NEW.reservation_id"),
            ("reservation_nodes", "DELETE", "id = OLD.reservation_id"),
            ("reservation_users", "INSERT", "id = NEW.reservation_id"), ("reservation_users", "UPDATE", "id = NEW.reservation_id"),
            ("reservation_users", "DELETE", "id = OLD.reservation_id"),
            ("reservation_warnings", "INSERT", "id = NEW.reservation_id"), ("reservation_warnings", "UPDATE", "id = NEW.reservation_id"),
            ("reservation_warnings", "DELETE", "id = OLD.reservation_id"),
            ("users", "UPDATE OF name", "user_id = NEW.id"), ("users", "DELETE", null),
            ("disks", "UPDATE OF name", "disk_id = NEW.id"), ("disks", "DELETE", null),
        ];
        var sql = new StringBuilder("""
            ALTER TABLE reservations ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
            CREATE TABLE store_revision (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
            INSERT INTO store_revision (id, value) VALUES (1, 0);

            """);
        foreach (var (table, change, touched) in changes)
        {
            var name = $"tr_revision_{table}_{change.Split(' ')[0].ToLowerInvariant()}";
            // The stamp is an UPDATE of reservations inside a trigger: SQLite does not fire a trigger from its own program
            // (recursive_triggers is off), and the stamp's own firing of the reservations UPDATE trigger only bumps again.
            var stamp = touched is null ? "" : $" UPDATE reservations SET revision = (SELECT value FROM store_revision WHERE id = 1) WHERE {touched};";
            sql.Append(CultureInfo.InvariantCulture,
                $"CREATE TRIGGER {name} AFTER {change} ON {table} BEGIN UPDATE store_revision SET value = value + 1 WHERE id = 1;{stamp} END;\n");
        }

        return sql.ToString();
    }
}
