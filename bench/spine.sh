#!/usr/bin/env bash
# Spine benchmark: time from `gpu-dev reserve` to SSH-ready (local provider), and `gpu-dev list` wall time,
# against a real gpu-dev-server on a throwaway data dir. Prints a table of medians.
#   bench/spine.sh [RESERVES=10] [LISTS=20]      (run ./build.sh and images/devbox/build.sh first; as root)
set -euo pipefail
cd "$(dirname "$0")/.."
reserves=${1:-10}
lists=${2:-20}
work=$(mktemp -d /var/tmp/gpu-dev-bench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
bin/gpu-dev-server run --data-dir "$work/data" --urls "$url" --local-gpus h100:8 >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fsS "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
ssh-keygen -q -t ed25519 -N '' -f "$work/key"
export GPU_DEV_SERVER=$url GPU_DEV_CONFIG_DIR=$work/config NO_COLOR=1
GPU_DEV_TOKEN=$(bin/gpu-dev-server user add bench --ssh-key "$work/key.pub" --data-dir "$work/data")
export GPU_DEV_TOKEN

ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
p90() { sort -n | awk '{a[NR]=$1} END {i=int(NR*0.9+0.999); if (i<1) i=1; print a[i]}'; }

: >"$work/reserve.txt"
for _ in $(seq 1 "$reserves"); do
  start=$(ms)
  json=$(bin/gpu-dev reserve -t h100 -g 1 -h 1 --no-interactive --json)
  end=$(ms)
  echo $((end - start)) >>"$work/reserve.txt"
  id=$(sed -n 's/^  "id": "\([0-9a-f]*\)".*/\1/p' <<<"$json" | head -n 1)
  bin/gpu-dev cancel "$id" --yes >/dev/null 2>&1
  # Measure each reserve on a quiet host: wait until the cancelled one's container is gone.
  for _ in $(seq 1 100); do [[ -z $(podman ps -aq --filter "label=gpu-dev.io/reservation=$id") ]] && break; sleep 0.1; done
done
sleep 1
: >"$work/list.txt"
for _ in $(seq 1 "$lists"); do
  start=$(ms); bin/gpu-dev list --all >/dev/null; end=$(ms)
  echo $((end - start)) >>"$work/list.txt"
done

printf '%-52s %8s %8s %6s\n' "measure" "median" "p90" "runs"
printf '%-52s %6sms %6sms %6s\n' "reserve -> active (container + ssh handshake), 1 GPU" "$(median <"$work/reserve.txt")" "$(p90 <"$work/reserve.txt")" "$reserves"
printf '%-52s %6sms %6sms %6s\n' "gpu-dev list --all ($reserves reservations)" "$(median <"$work/list.txt")" "$(p90 <"$work/list.txt")" "$lists"
printf 'server: environment ready after (ms, provider only): %s\n' "$(sed -n 's/.*is ready on port(s) [0-9,]* after \([0-9]*\) ms.*/\1/p' "$work/server.log" | tr '\n' ' ')"
echo "machine: $(nproc) cores, $(uname -m), $(. /etc/os-release; echo "$PRETTY_NAME")"
