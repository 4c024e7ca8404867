#!/usr/bin/env bash
# Runs every test: builds ./bin (the end-to-end tests drive the real binaries), then the whole solution.
# Tests that need root (podman containers with per-owner uid ranges) say so; CI runs as root (.ci/run installs podman).
set -uo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
./build.sh || exit 1
# The local provider's environment image (cached; built from Debian packages on first use).
if command -v podman >/dev/null && command -v mmdebstrap >/dev/null; then images/devbox/build.sh >/dev/null || exit 1; fi
log=$(mktemp)
dotnet test --solution gpu-dev.slnx -c Release --no-progress --output Detailed 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
passed=$(grep -E '^\s+succeeded: [0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -E '^\s+failed: [0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -E '^\s+skipped: [0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$rc"
