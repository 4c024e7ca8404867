#!/usr/bin/env bash
# Disk crash cycles: N times reserve with a named disk -> append a line -> cancel, killing the server (SIGKILL) at
# random points in two cycles out of three, and check the file's checksum in the next reservation.
#   bench/disk-cycles.sh [CYCLES=100]     (./build.sh first; as root)
set -euo pipefail
cd "$(dirname "$0")/.."
export GPU_DEV_DISK_CYCLES=${1:-100}
start=$(date +%s)
dotnet test tests/GpuDev.EndToEnd.Tests/GpuDev.EndToEnd.Tests.csproj -c Release --filter-class "*DiskTests" 2>&1 | tail -n 8
echo "cycles: $GPU_DEV_DISK_CYCLES, wall time: $(( $(date +%s) - start )) s, machine: $(nproc) cores, $(. /etc/os-release; echo "$PRETTY_NAME")"
