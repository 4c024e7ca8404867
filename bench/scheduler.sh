#!/usr/bin/env bash
# Scheduler benchmark: BackfillPlanner planning-pass time on a large simulated fleet, and a trace replay comparing
# strict FIFO with the backfill planner. Builds Release and prints markdown tables (see bench/README.md).
#   bench/scheduler.sh [--quick]                         everything (--quick: small sizes, a smoke run for CI)
#   bench/scheduler.sh plan [--quick]                    planning-pass benchmark only
#   bench/scheduler.sh replay [TRACE.csv] [--nodes N] [--gpus-per-node G] [--quick] [--ends-removed]
#                                                        strict FIFO vs planner on a trace (default: the synthetic month)
#   bench/scheduler.sh generate [--seed S] [--days D] [--nodes N] [--load L] > trace.csv
#                                                        the synthetic trace (defaults = bench/traces/synthetic-month.csv)
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
project=bench/GpuDev.Bench.Scheduler/GpuDev.Bench.Scheduler.csproj
dll=artifacts/bin/GpuDev.Bench.Scheduler/release/GpuDev.Bench.Scheduler.dll
# Build only this project (and GpuDev.Core); retry when a parallel build holds a file lock.
for attempt in 1 2 3 4 5; do
  if log=$(dotnet build "$project" -c Release --nologo -v quiet 2>&1); then break; fi
  if [ "$attempt" = 5 ] || ! grep -qiE 'being used by another process|cannot access the file|MSB3021|MSB3026|MSB3027|lock' <<<"$log"; then
    echo "$log" >&2; exit 1
  fi
  sleep $((attempt * 2))
done
exec dotnet "$dll" "$@"
