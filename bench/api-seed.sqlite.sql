-- Seeds the API load benchmark's history straight into the store (plain SQL, not through the API): 99 more users and
-- 100,000 ended reservations spread over them and the bench user ({{BENCH_USER}} owns every 100th, so 1,000), each with
-- 4 history rows, plus 20 live (active) reservations of the bench user. Times are Unix milliseconds, as the store keeps them.
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 99)
INSERT INTO users (id, name, github_user, is_admin, token_hash, created_at)
SELECT printf('u%031d', i), printf('user%02d', i), NULL, 0, printf('seed-token-hash-%d', i), {{NOW_MS}} - 90 * 86400000 FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {{COUNT}})
INSERT INTO reservations (id, seq, user_id, name, gpu_type, gpu_count, hours, node_count, jupyter, distributed, status, status_reason,
    created_at, started_at, expires_at, ended_at)
SELECT printf('%032x', i), i,
    CASE WHEN i % 100 = 0 THEN '{{BENCH_USER}}' ELSE printf('u%031d', i % 100) END,
    printf('job-%d', i), CASE i % 3 WHEN 0 THEN 'h100' WHEN 1 THEN 'h200' ELSE 'b200' END,
    CASE i % 4 WHEN 0 THEN 1 WHEN 1 THEN 2 WHEN 2 THEN 4 ELSE 8 END, 4, 1, 0, 0,
    CASE WHEN i % 10 < 7 THEN 'expired' WHEN i % 10 < 9 THEN 'cancelled' ELSE 'failed' END, 'seeded',
    {{NOW_MS}} - ({{COUNT}} - i + 1000) * 60000,
    {{NOW_MS}} - ({{COUNT}} - i + 1000) * 60000 + 60000,
    {{NOW_MS}} - ({{COUNT}} - i + 1000) * 60000 + 60000 + 4 * 3600000,
    {{NOW_MS}} - ({{COUNT}} - i + 1000) * 60000 + 60000 + 4 * 3600000
FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20)
INSERT INTO reservations (id, seq, user_id, name, gpu_type, gpu_count, hours, node_count, jupyter, distributed, status, status_reason,
    created_at, started_at, expires_at, ssh_host, ssh_port, ssh_user)
SELECT printf('f%031x', i), {{COUNT}} + i, '{{BENCH_USER}}', printf('live-%d', i), 'h100', 1, 24, 1, 0, 0, 'active', 'seeded',
    {{NOW_MS}} - 3600000, {{NOW_MS}} - 3500000, {{NOW_MS}} + 20 * 3600000, '127.0.0.1', 40000 + i, 'dev'
FROM n;

INSERT INTO reservation_history (reservation_id, at, from_status, to_status, reason) SELECT id, created_at, NULL, 'pending', 'requested' FROM reservations;
INSERT INTO reservation_history (reservation_id, at, from_status, to_status, reason) SELECT id, created_at + 1000, 'pending', 'preparing', 'placed on local-0' FROM reservations;
INSERT INTO reservation_history (reservation_id, at, from_status, to_status, reason) SELECT id, started_at, 'preparing', 'active', 'ssh handshake succeeded' FROM reservations;
INSERT INTO reservation_history (reservation_id, at, from_status, to_status, reason)
SELECT id, ended_at, 'active', status, 'seeded end' FROM reservations WHERE status <> 'active';
COMMIT;
