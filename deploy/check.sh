#!/usr/bin/env bash
# Offline checks of everything under deploy/ and images/ (no cluster, no Docker engine needed):
#   1. tests of the checkers themselves (tools/k8s-validate/test, tools/test);
#   2. renders deploy/kubernetes/{base,overlays/eks,overlays/dev,test-rbac} with `kubectl kustomize`
#      (or a `kustomize` binary) and validates every object against its Kubernetes schema
#      (including unknown fields);
#   3. asserts the RBAC of each render is exactly what the compute provider needs, that gpu-dev's pods
#      are closed by a default-deny NetworkPolicy (tools/k8s-validate/check-network.mjs), and that the
#      server Deployment keeps its contract (tools/k8s-validate/check-server.mjs);
#   4. lints the Dockerfiles' pinning rules (tools/check-dockerfile.mjs).
# Needs node and `npm ci` done in tools/k8s-validate (.ci/run does both).
# Rendered output is kept in ${RENDER_DIR:-artifacts/deploy} for inspection.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=tools/k8s-validate
out=${RENDER_DIR:-artifacts/deploy}
kustomizations=(base overlays/eks overlays/dev test-rbac)

if [[ ! -d $tools/node_modules ]]; then
  echo "error: run 'npm ci' in $tools first" >&2
  exit 1
fi

echo "== tool tests"
# Files, not directories: `node --test DIR` is read differently across Node.js 18-22.
if ! log=$(node --test "$tools"/test/*.test.mjs tools/test/*.test.mjs 2>&1); then
  echo "$log" >&2
  echo "error: tool tests failed (node --test $tools/test/*.test.mjs tools/test/*.test.mjs)" >&2
  exit 1
fi
grep -E '^# (pass|fail) ' <<<"$log" | tr '\n' ' '; echo

render=()
if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
  render=(kubectl kustomize)
elif command -v kustomize >/dev/null 2>&1; then
  render=(kustomize build)
fi

mkdir -p "$out"
if ((${#render[@]})); then
  echo "== render (${render[*]}) and validate"
  for k in "${kustomizations[@]}"; do
    file="$out/${k//\//-}.yaml"
    "${render[@]}" "deploy/kubernetes/$k" >"$file"
    printf '%-18s ' "$k:"
    node "$tools/validate.mjs" "$file"
  done
  echo "== rbac"
  files=()
  for k in "${kustomizations[@]}"; do files+=("$out/${k//\//-}.yaml"); done
  node "$tools/check-rbac.mjs" "${files[@]}"
  echo "== network (default-deny NetworkPolicy for gpu-dev's pods)"
  node "$tools/check-network.mjs" "$out/base.yaml" "$out/overlays-eks.yaml" "$out/overlays-dev.yaml"
  echo "== server contract (ConfigMap keys, env, Secret, probes, security, Service, shared claims)"
  node "$tools/check-server.mjs" "$out/base.yaml" "$out/overlays-eks.yaml" "$out/overlays-dev.yaml"
else
  # A machine without kubectl/kustomize still checks the complete objects the kustomizations list
  # (patches cannot be applied without a renderer, so overlays are not checked).
  echo "warning: neither 'kubectl kustomize' nor 'kustomize' found: rendering, overlays and RBAC checks SKIPPED;" \
    "validating the plain resource files only" >&2
  mapfile -t files < <(find deploy/kubernetes/base deploy/kubernetes/rbac deploy/kubernetes/test-rbac \
    -name '*.yaml' ! -name kustomization.yaml | sort)
  node "$tools/validate.mjs" "${files[@]}"
fi

echo "== dockerfiles"
node tools/check-dockerfile.mjs images/devserver/Dockerfile deploy/server/Dockerfile
echo "deploy/check.sh: all checks passed"
