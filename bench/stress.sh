#!/usr/bin/env bash
# Stress: REQUESTS concurrent `reserve` calls from REQUESTS/10 users on a 64-GPU simulated fleet (8 nodes x 8 h100,
# in-process server on SQLite with the fake provider), half of them cancelled at random times, 5-minute ones expiring,
# for SECONDS; the GPU invariants are read from the store every 50 ms. Prints one markdown table row.
#   bench/stress.sh [REQUESTS=500] [SECONDS=180]          (CI runs the same test at 100 requests, 15 s)
set -euo pipefail
cd "$(dirname "$0")/.."
export GPU_DEV_STRESS_REQUESTS=${1:-500} GPU_DEV_STRESS_SECONDS=${2:-180}
report=$(mktemp)
export GPU_DEV_STRESS_REPORT=$report
start=$(date +%s)
dotnet test --project tests/GpuDev.Server.Tests -c Release --filter-class GpuDev.Server.Tests.Stress.StressTests --no-progress 2>&1 | tail -n 7
cat "$report"
echo "wall time: $(( $(date +%s) - start )) s (incl. build), machine: $(nproc) cores, $(. /etc/os-release; echo "$PRETTY_NAME")"
rm -f "$report"
