#!/usr/bin/env bash
# API load benchmark: seeds a store with 100,000 reservations of history (direct SQL, see bench/api-seed.*.sql), starts
# the real bin/gpu-dev-server on it, and drives GET /api/v1/reservations (list) and GET /api/v1/reservations/{id} (show)
# open-loop at a fixed rate with bench/GpuDev.Bench.Api. Prints a markdown table (see bench/README.md), with the server
# process's CPU time per request (from /proc/PID/stat), which does not depend on the load generator sharing the cores.
#   bench/api-load.sh [--store sqlite|postgres] [--postgres CONNSTR] [--rate 2000[,R2...]] [--duration 30] [--warmup 5]
#                     [--reservations 100000] [--port 18484] [--endpoints list,show[,me,healthz]] [--writes-per-s 0] [--keep]
# --writes-per-s N (SQLite) moves the read cache's revision N times a second while measuring, as writes would: 0 measures
#   answers served from the cache once warm, a rate above the request rate measures every answer read from the store.
# --endpoints adds the request pipeline's floor: GET /api/v1/me (authenticated, one small body) and GET /healthz (none).
# Needs ./build.sh first (bin/gpu-dev-server), sqlite3 (or psql for --store postgres) and the .NET 10 SDK.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

store=sqlite postgres="" rate=2000 duration=30 warmup=5 count=100000 port=18484 keep=0 endpoints=list,show writes=0
while [ $# -gt 0 ]; do
  case "$1" in
    --store) store=$2; shift 2 ;;
    --postgres) postgres=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --reservations) count=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --endpoints) endpoints=$2; shift 2 ;;
    --writes-per-s) writes=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "error: unknown option '$1'" >&2; exit 1 ;;
  esac
done
case "$store" in
  sqlite) command -v sqlite3 >/dev/null || { echo "error: sqlite3 is needed (apt-get install sqlite3)" >&2; exit 1; } ;;
  postgres)
    [ -n "$postgres" ] || { echo "error: --store postgres needs --postgres CONNSTR (e.g. 'Host=127.0.0.1;Port=5433;Username=postgres;Database=gpudev_bench')" >&2; exit 1; }
    command -v psql >/dev/null || { echo "error: psql is needed (apt-get install postgresql-client)" >&2; exit 1; } ;;
  *) echo "error: --store must be sqlite or postgres" >&2; exit 1 ;;
esac
[ -x bin/gpu-dev-server ] || { echo "error: bin/gpu-dev-server is missing; run ./build.sh first" >&2; exit 1; }

project=bench/GpuDev.Bench.Api/GpuDev.Bench.Api.csproj
dll=artifacts/bin/GpuDev.Bench.Api/release/GpuDev.Bench.Api.dll
for attempt in 1 2 3 4 5; do
  if log=$(dotnet build "$project" -c Release --nologo -v quiet 2>&1); then break; fi
  if [ "$attempt" = 5 ] || ! grep -qiE 'being used by another process|cannot access the file|MSB3021|MSB3026|MSB3027|lock' <<<"$log"; then
    echo "$log" >&2; exit 1
  fi
  sleep $((attempt * 2))
done

work=$(mktemp -d /tmp/gpu-dev-api-bench.XXXXXX)
server_pid="" writer_pid=""
cleanup() {
  if [ -n "$writer_pid" ]; then kill "$writer_pid" 2>/dev/null || true; wait "$writer_pid" 2>/dev/null || true; fi
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ "$keep" = 0 ]; then rm -rf "$work"; else echo "kept: $work" >&2; fi
}
trap cleanup EXIT

# The server's own options; with --store postgres the connection string goes in --postgres (Storage:Postgres), for
# `user add` (which creates the schema) as for `run`.
store_args=(--store "$store")
if [ "$store" = postgres ]; then store_args+=(--postgres "$postgres"); fi
server_args=(--data-dir "$work/data" --local-gpus h100:8 "${store_args[@]}")
export Logging__LogLevel__Default=Warning

echo "seeding $count reservations ($store) ..." >&2
token=$(bin/gpu-dev-server user add bench --data-dir "$work/data" "${store_args[@]}")
now_ms=$(date +%s%3N)
sql() {
  if [ "$store" = sqlite ]; then sqlite3 -batch "$work/data/gpu-dev.db" "$@"; else psql -q -X -v ON_ERROR_STOP=1 -At "$(pg_url)" -c "$@"; fi
}
pg_url() { # Npgsql "Key=Value;..." to a libpq keyword string
  tr ';' '\n' <<<"$postgres" | sed -E 's/^ *Host *=/host=/I; s/^ *Port *=/port=/I; s/^ *(Username|User Id|User) *=/user=/I; s/^ *Password *=/password=/I; s/^ *Database *=/dbname=/I' | grep -E '^(host|port|user|password|dbname)=' | tr '\n' ' '
}
bench_user=$(sql "SELECT id FROM users WHERE name = 'bench';")
seed_started=$(date +%s.%N)
sed -e "s/{{BENCH_USER}}/$bench_user/g" -e "s/{{NOW_MS}}/$now_ms/g" -e "s/{{COUNT}}/$count/g" "bench/api-seed.$store.sql" > "$work/seed.sql"
if [ "$store" = sqlite ]; then sqlite3 -batch "$work/data/gpu-dev.db" < "$work/seed.sql"; else psql -q -X -v ON_ERROR_STOP=1 "$(pg_url)" -f "$work/seed.sql"; fi
echo "seeded in $(awk -v a="$seed_started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s: $(sql 'SELECT COUNT(*) FROM reservations;') reservations, $(sql 'SELECT COUNT(*) FROM reservation_history;') history rows" >&2
sql "SELECT '/api/v1/reservations/' || id FROM reservations WHERE user_id = '$bench_user' ORDER BY id;" > "$work/show-paths.txt"

url="http://127.0.0.1:$port"
bin/gpu-dev-server run "${server_args[@]}" --urls "$url" > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 150); do
  if curl -fsS "$url/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/server.log" >&2; echo "error: the server exited" >&2; exit 1; fi
  sleep 0.2
done
curl -fsS "$url/readyz" >/dev/null || { cat "$work/server.log" >&2; echo "error: the server did not become ready" >&2; exit 1; }

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//') × $(nproc)"
echo "machine: $cpu; $(. /etc/os-release && echo "$PRETTY_NAME"); .NET $(dotnet --version); store: $store; $count reservations" >&2
echo "load: $rate req/s open-loop for ${duration}s per endpoint after ${warmup}s warm-up; load generator on the same machine" >&2
# Warm the server up first (JIT, tiered compilation, SQLite page cache) at a rate it surely sustains, then measure each
# endpoint at each rate; every measured run starts with its own warm-up at its rate (not counted).
warm=(dotnet "$dll" --url "$url" --token "$token" --rate 200 --duration 10 --warmup 0)
"${warm[@]}" --name warm-list --path /api/v1/reservations >/dev/null
"${warm[@]}" --name warm-show --paths-file "$work/show-paths.txt" >/dev/null
revision_at_start=""
if [ "$store" = sqlite ]; then revision_at_start=$(sql "SELECT value FROM store_revision;"); fi
if [ "$writes" != 0 ]; then
  [ "$store" = sqlite ] || { echo "error: --writes-per-s needs --store sqlite (the PostgreSQL store caches nothing)" >&2; exit 1; }
  # One sqlite3 process, fed a revision bump every 1/N s: what the triggers do for any write to a reservation.
  pause=$(awk -v n="$writes" 'BEGIN { printf "%.4f", 1 / n }')
  (while :; do echo "UPDATE store_revision SET value = value + 1 WHERE id = 1;"; sleep "$pause"; done) | sqlite3 -batch "$work/data/gpu-dev.db" &
  writer_pid=$!
  echo "writes: the revision moves ~$writes times a second (sqlite3 beside the server)" >&2
fi
header=--header
for r in ${rate//,/ }; do
  gen=(dotnet "$dll" --url "$url" --token "$token" --rate "$r" --duration "$duration" --warmup "$warmup" --server-pid "$server_pid")
  for e in ${endpoints//,/ }; do
    case "$e" in
      list) "${gen[@]}" $header --name "list (20 live of 1,020 own)" --path /api/v1/reservations ;;
      show) "${gen[@]}" $header --name "show (1,020 ids, round robin)" --paths-file "$work/show-paths.txt" ;;
      me) "${gen[@]}" $header --name "me (pipeline + auth)" --path /api/v1/me ;;
      healthz) "${gen[@]}" $header --name "healthz (pipeline, no auth)" --path /healthz ;;
      *) echo "error: unknown endpoint '$e' (valid: list, show, me, healthz)" >&2; exit 1 ;;
    esac
    header=""
  done
done
if [ -n "$revision_at_start" ]; then
  echo "the read cache's revision moved $(( $(sql "SELECT value FROM store_revision;") - revision_at_start )) times during the runs" >&2
fi
echo "server RSS after the runs: $(( $(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status") / 1024 )) MiB" >&2
