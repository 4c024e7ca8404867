#!/usr/bin/env bash
# Runs every test: builds ./bin (the end-to-end tests drive the real binaries), then the whole solution.
# Tests that need root (podman containers with per-owner uid ranges) say so; CI runs as root (.ci/run installs podman).
set -uo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
./build.sh || exit 1
# The local provider's environment image (cached; built from Debian packages on first use).
if command -v podman >/dev/null && command -v mmdebstrap >/dev/null; then images/devbox/build.sh >/dev/null || exit 1; fi
# The real OpenID provider the sign-in tests run against (tests/oidc-provider); without it they fail with what to do.
if command -v npm >/dev/null && [[ ! -d tests/oidc-provider/node_modules/oidc-provider ]]; then
  (cd tests/oidc-provider && npm ci --no-audit --no-fund --loglevel=error) || exit 1
fi
# axe-core for the browser tests' accessibility check (tests/browser-a11y).
if command -v npm >/dev/null && [[ ! -f tests/browser-a11y/node_modules/axe-core/axe.min.js ]]; then
  (cd tests/browser-a11y && npm ci --no-audit --no-fund --loglevel=error) || exit 1
fi
# Debian's chromium, which the browser tests drive headless (tests/GpuDev.Browser.Tests); without it they fail saying so.
if [[ ! -x /usr/bin/chromium ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) || exit 1
  else
    echo "note: /usr/bin/chromium is missing, so the browser tests will fail: sudo apt-get install chromium (.ci/run does)"
  fi
fi
log=$(mktemp)
dotnet build gpu-dev.slnx -c Release -nologo -v quiet || exit 1
# Every test assembly at once, then the browser tests on their own: their waits are not taken under the others' load.
dotnet test --solution gpu-dev.slnx -c Release --no-build -p:GpuDevBrowserTestsApart=true --no-progress --output Detailed 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
dotnet test --project tests/GpuDev.Browser.Tests -c Release --no-build --no-progress --output Detailed 2>&1 | tee -a "$log"
browser_rc=${PIPESTATUS[0]}
((rc != 0)) || rc=$browser_rc
passed=$(grep -E '^\s+succeeded: [0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -E '^\s+failed: [0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -E '^\s+skipped: [0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
# Under CI's require-all switch a skip is allowed only with an allow-listed reason ("(allowed: NoKubeconfig|NoGpu)",
# written by TestSkips): any other skip, however it was made, fails the run with its name and reason.
unallowed=$(awk '/^skipped /{name=$2; getline; if ($0 !~ /\(allowed: (NoKubeconfig|NoGpu)\)/) print "  " name ":" $0}' "$log")
# Each failed test again, with the start of its error: a CI log that keeps only its tail still says what failed.
failures=$(awk '/^failed /{n=30} /^(passed|skipped) /{n=0} n>0{print "  " $0; n--}' "$log")
rm -f "$log"
[[ -z $failures ]] || printf 'failed tests:\n%s\n' "$failures"
echo "tests: $passed passed, $failed failed, $skipped skipped"
if [[ ${GPU_DEV_REQUIRE_ALL_TESTS:-} == 1 && -n $unallowed ]]; then
  echo "error: GPU_DEV_REQUIRE_ALL_TESTS=1 and these tests skipped without an allow-listed reason (NoKubeconfig, NoGpu):"
  echo "$unallowed"
  exit 1
fi
exit "$rc"
