#!/usr/bin/env bash
# gpu-dev on this machine, on its embedded defaults (SQLite + local-host provider):
#   ./quickstart.sh        install what is missing (podman, ...), build, start the server in the background,
#                          register you with your SSH key, and reserve 1 GPU for 1 hour
#   ./quickstart.sh stop   cancel your reservations and stop the server
set -euo pipefail
cd "$(dirname "$0")"
root=$PWD
run=$root/.gpu-dev-run
url=${GPU_DEV_QUICKSTART_URL:-http://127.0.0.1:8484}
mkdir -p "$run"
export GPU_DEV_SERVER=$url

server_pid() { [[ -f $run/server.pid ]] && kill -0 "$(cat "$run/server.pid")" 2>/dev/null && cat "$run/server.pid"; }

if [[ ${1:-} == stop ]]; then
  if [[ -f $run/token ]] && server_pid >/dev/null; then
    GPU_DEV_TOKEN=$(cat "$run/token") "$root/bin/gpu-dev" cancel --all --yes || true
    sleep 2
  fi
  if pid=$(server_pid); then kill "$pid"; echo "gpu-dev-server (pid $pid) stopped"; else echo "gpu-dev-server is not running"; fi
  rm -f "$run/server.pid"
  exit 0
fi

# 1. What the product needs from the OS (Debian packages), as root or via sudo.
SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v iptables >/dev/null || need+=(iptables)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v newuidmap >/dev/null || need+=(uidmap)
command -v ssh >/dev/null || need+=(openssh-client)
command -v curl >/dev/null || need+=(curl)
if ((${#need[@]})); then
  echo "installing: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v dotnet >/dev/null || { echo "error: the .NET 10 SDK (dotnet) is needed to build gpu-dev; install it and run again" >&2; exit 1; }

# 2. Build ./bin/gpu-dev and ./bin/gpu-dev-server, and the environment image (cached: built once from Debian packages).
./build.sh
images/devbox/build.sh >/dev/null

# 3. The server, in the background, data in .gpu-dev-run/data, log in .gpu-dev-run/server.log. What it and this script
#    write from here on (the database, the admin token) is readable by you only.
umask 077
chmod 700 "$run"
if ! server_pid >/dev/null; then
  nohup "$root/bin/gpu-dev-server" run --data-dir "$run/data" --urls "$url" >"$run/server.log" 2>&1 &
  echo $! >"$run/server.pid"
  for _ in $(seq 1 100); do curl -fsS "$url/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
  curl -fsS "$url/healthz" >/dev/null || { echo "error: the server did not start; see $run/server.log" >&2; tail -n 20 "$run/server.log" >&2; exit 1; }
fi
echo "gpu-dev-server is running at $url (pid $(server_pid), log $run/server.log)"

# 4. You, with your SSH key (one is made if you have none), as a gpu-dev user.
key=$HOME/.ssh/id_ed25519
if [[ ! -f $key.pub ]]; then
  mkdir -p "$HOME/.ssh" && chmod 700 "$HOME/.ssh"
  ssh-keygen -q -t ed25519 -N '' -f "$key"
  echo "made an SSH key: $key"
fi
name=$(id -un | tr 'A-Z' 'a-z' | tr -c 'a-z0-9_\n-' '-' | cut -c1-32)
if [[ ! -f $run/token ]]; then
  "$root/bin/gpu-dev-server" user add "$name" --ssh-key "$key.pub" --admin --data-dir "$run/data" >"$run/token"
fi
"$root/bin/gpu-dev" config set server "$url" >/dev/null
"$root/bin/gpu-dev" config set token "$(cat "$run/token")" >/dev/null

# 5. A real reservation: 1 GPU of the first type this machine offers, for 1 hour.
type=$(sed -n 's/.*Node [^:]*: [0-9]* x \([a-z0-9-]*\).*/\1/p' "$run/server.log" | head -n 1)
"$root/bin/gpu-dev" reserve --gpu-type "${type:-h100}" --gpus 1 --hours 1 --no-interactive
cat <<MSG

Next:
  export PATH="$root/bin:\$PATH"
  gpu-dev connect            # ssh into the reservation
  gpu-dev list               # your reservations
  ./quickstart.sh stop       # cancel your reservations and stop the server
MSG
