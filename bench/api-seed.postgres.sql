-- PostgreSQL version of bench/api-seed.sqlite.sql, for the PostgreSQL store's schema (times as bigint Unix ms, flags as
-- boolean, reservations.seq an identity column: set explicitly here, then the identity moves past it). Seeds the API load
-- benchmark's history straight into the store (plain SQL, not through the API): 99 more users and
-- 100,000 ended reservations spread over them and the bench user ({{BENCH_USER}} owns every 100th, so 1,000), each with
-- 4 history rows, plus 20 live (active) reservations of the bench user. Times are Unix milliseconds, as the store keeps them.
BEGIN;
WITH n(i) AS (SELECT generate_series(1, 99))
INSERT INTO users (id, name, github_user, is_admin, token_hash, created_at)
SELECT 'u' || lpad(i::text, 31, '0'), 'user' || lpad(i::text, 2, '0'), NULL, false, 'seed-token-hash-' || i, {{NOW_MS}} - 90 * 86400000::bigint FROM n;

WITH n(i) AS (SELECT generate_series(1, {{COUNT}}))
INSERT INTO reservations (id, seq, user_id, name, gpu_type, gpu_count, hours, node_count, jupyter, distributed, status, status_reason,
    created_at, started_at, expires_at, ended_at)
OVERRIDING SYSTEM VALUE
SELECT lpad(to_hex(i), 32, '0'), i,
    CASE WHEN i % 100 = 0 THEN '{{BENCH_USER}}' ELSE 'u' || lpad((i % 100)::text, 31, '0') END,
    'job-' || i, CASE i % 3 WHEN 0 THEN 'h100' WHEN 1 THEN 'h200' ELSE 'b200' END,
    CASE i % 4 WHEN 0 THEN 1 WHEN 1 THEN 2 WHEN 2 THEN 4 ELSE 8 END, 4, 1, false, false,
    CASE WHEN i % 10 < 7 THEN 'expired' WHEN i % 10 < 9 THEN 'cancelled' ELSE 'failed' END, 'seeded',
    {{NOW_MS}} - ({{COUNT}} - i + 1000) * 60000::bigint,
    {{NOW_MS}} - ({{COUNT}} - i + 1000) * 60000::bigint + 60000,
    {{NOW_MS}} - ({{COUNT}} - i + 1000) * 60000::bigint + 60000 + 4 * 3600000,
    {{NOW_MS}} - ({{COUNT}} - i + 1000) * 60000::bigint + 60000 + 4 * 3600000
FROM n;

WITH n(i) AS (SELECT generate_series(1, 20))
INSERT INTO reservations (id, seq, user_id, name, gpu_type, gpu_count, hours, node_count, jupyter, distributed, status, status_reason,
    created_at, started_at, expires_at, ssh_host, ssh_port, ssh_user)
OVERRIDING SYSTEM VALUE
SELECT 'f' || lpad(to_hex(i), 31, '0'), {{COUNT}} + i, '{{BENCH_USER}}', 'live-' || i, 'h100', 1, 24, 1, false, false, 'active', 'seeded',
    {{NOW_MS}} - 3600000, {{NOW_MS}} - 3500000, {{NOW_MS}} + 20 * 3600000, '127.0.0.1', 40000 + i, 'dev'
FROM n;

INSERT INTO reservation_history (reservation_id, at, from_status, to_status, reason) SELECT id, created_at, NULL, 'pending', 'requested' FROM reservations;
INSERT INTO reservation_history (reservation_id, at, from_status, to_status, reason) SELECT id, created_at + 1000, 'pending', 'preparing', 'placed on local-0' FROM reservations;
INSERT INTO reservation_history (reservation_id, at, from_status, to_status, reason) SELECT id, started_at, 'preparing', 'active', 'ssh handshake succeeded' FROM reservations;
INSERT INTO reservation_history (reservation_id, at, from_status, to_status, reason)
SELECT id, ended_at, 'active', status, 'seeded end' FROM reservations WHERE status <> 'active';
DO $$ BEGIN PERFORM setval(pg_get_serial_sequence('reservations', 'seq'), (SELECT MAX(seq) FROM reservations)); END $$;
COMMIT;
ANALYZE;
