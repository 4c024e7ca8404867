#!/usr/bin/env bash
# gpu-dev on this machine, on its embedded defaults (SQLite + local-host provider). Safe to run again: it builds only
# what changed, keeps the server that runs, and reserves only when you have no live reservation.
#   ./quickstart.sh [--local-gpus SPEC] [-- SERVER-OPTION...]
#                          install what is missing (podman, ...), build bin/ when a source is newer than it, start the
#                          server in the background unless it runs, register you with your SSH key, and reserve 1 GPU
#                          for 1 hour unless you have a live (pending, queued, preparing or active) reservation, whose
#                          `gpu-dev connect` it prints instead. --local-gpus (e.g. h100:8,t4:4) and the options after --
#                          go to `gpu-dev-server run`; they stay the server's until `stop`, so a later run without options
#                          keeps them, and a run with other options than the running server's says to restart.
#   ./quickstart.sh restart [--local-gpus SPEC] [-- SERVER-OPTION...]
#                          stop the server and start it again (with these options, else the ones it ran with), then as
#                          above; reservations keep running: the server finds their containers again when it starts
#   ./quickstart.sh stop   cancel your reservations and stop the server
# Environment: GPU_DEV_QUICKSTART_URL (default http://127.0.0.1:8484), GPU_DEV_QUICKSTART_DIR (server data, log and token;
# default .gpu-dev-run).
set -euo pipefail
cd "$(dirname "$0")"
root=$PWD
run=${GPU_DEV_QUICKSTART_DIR:-$root/.gpu-dev-run}
url=${GPU_DEV_QUICKSTART_URL:-http://127.0.0.1:8484}
gpu_dev=$root/bin/gpu-dev
server_bin=$root/bin/gpu-dev-server
mkdir -p "$run"
export GPU_DEV_SERVER=$url

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

command=start
case ${1:-} in
  stop | restart) command=$1; shift ;;
  -h | --help | help) usage; exit 0 ;;
esac
asked=$(printf ' %q' "$@")
given=()
options_given=false
while (($#)); do
  case $1 in
    --local-gpus) (($# >= 2)) || { echo "error: --local-gpus needs a value, e.g. --local-gpus h100:8,t4:4" >&2; exit 1; }
      given+=(--local-gpus "$2"); options_given=true; shift 2 ;;
    --local-gpus=*) given+=(--local-gpus "${1#*=}"); options_given=true; shift ;;
    --) shift; given+=("$@"); options_given=true; break ;;
    *) echo "error: unknown argument '$1'; usage:" >&2; usage >&2; exit 1 ;;
  esac
done
[[ $command != stop ]] || ! $options_given || { echo "error: ./quickstart.sh stop takes no options" >&2; exit 1; }
for option in "${given[@]}"; do
  case $option in --data-dir* | --urls*)
    echo "error: quickstart sets $option itself (data in $run, the URL from GPU_DEV_QUICKSTART_URL)" >&2; exit 1 ;;
  esac
done

server_pid() { [[ -f $run/server.pid ]] && kill -0 "$(cat "$run/server.pid")" 2>/dev/null && cat "$run/server.pid"; }

# The options the running (or last) server was started with, one a line; the URL is part of them.
saved_options() { [[ -f $run/server.options ]] && cat "$run/server.options" || true; }

# Stops the server and waits until it is gone (its reservations' containers keep running: they outlive it).
stop_server() {
  local pid
  if pid=$(server_pid); then
    kill "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
    echo "gpu-dev-server (pid $pid) stopped"
  else
    echo "gpu-dev-server is not running"
  fi
  rm -f "$run/server.pid"
}

if [[ $command == stop ]]; then
  if [[ -f $run/token ]] && server_pid >/dev/null; then
    GPU_DEV_TOKEN=$(cat "$run/token") "$gpu_dev" cancel --all --yes || true
    sleep 2
  fi
  stop_server
  rm -f "$run/server.options"
  exit 0
fi

# The server's options: the given ones, else the ones it was started with. A running server with other ones is left alone.
if $options_given; then wanted=("${given[@]}"); else mapfile -t wanted < <(saved_options | tail -n +2); fi
wanted_text=$(printf '%s\n' "$url" "${wanted[@]}")
if [[ $command == start ]] && server_pid >/dev/null && $options_given && [[ $wanted_text != "$(saved_options)" ]]; then
  running=$(saved_options | tail -n +2 | tr '\n' ' ')
  [[ -f $run/server.options ]] || running="unknown options "
  echo "error: gpu-dev-server already runs with other options (${running:-no options }at $(saved_options | head -n 1)); to start it with these:" >&2
  echo "  ./quickstart.sh restart$asked    # your reservations keep running" >&2
  exit 1
elif [[ $command == start ]] && server_pid >/dev/null && [[ $url != "$(saved_options | head -n 1)" && -f $run/server.options ]]; then
  echo "error: gpu-dev-server already runs at $(saved_options | head -n 1), not $url; ./quickstart.sh restart starts it at $url" >&2
  exit 1
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

# 2. ./bin/gpu-dev and ./bin/gpu-dev-server, built only when missing or older than a source file; the environment image
#    (cached by images/devbox/build.sh itself: built once from Debian packages, a fraction of a second after that).
stale_source() {
  local oldest sources=() s
  [[ -x $gpu_dev && -x $server_bin ]] || { echo "bin/ (missing)"; return 0; }
  oldest=$gpu_dev; [[ $server_bin -ot $gpu_dev ]] && oldest=$server_bin
  for s in src Directory.Build.props Directory.Packages.props build.sh global.json *.slnx; do [[ -e $s ]] && sources+=("$s"); done
  s=$(find "${sources[@]}" -type f -newer "$oldest" -print -quit)
  [[ -n $s ]] && echo "$s"
}
rebuilt=false
if changed=$(stale_source); then
  command -v dotnet >/dev/null || { echo "error: the .NET 10 SDK (dotnet) is needed to build gpu-dev; install it and run again" >&2; exit 1; }
  echo "building bin/ ($changed is newer than it)..."
  ./build.sh
  rebuilt=true
else
  echo "bin/gpu-dev and bin/gpu-dev-server are up to date"
fi
images/devbox/build.sh >/dev/null

# 3. The server, in the background, data in .gpu-dev-run/data, log in .gpu-dev-run/server.log (the previous one is kept
#    as server.log.1). What it and this script write from here on (the database, the admin token) is readable by you only.
umask 077
chmod 700 "$run"
[[ $command != restart ]] || stop_server
if ! server_pid >/dev/null; then
  [[ ! -f $run/server.log ]] || mv -f "$run/server.log" "$run/server.log.1"
  ((${#wanted[@]})) && echo "starting gpu-dev-server with: ${wanted[*]}"
  nohup "$server_bin" run --data-dir "$run/data" --urls "$url" "${wanted[@]}" >"$run/server.log" 2>&1 &
  echo $! >"$run/server.pid"
  printf '%s\n' "$wanted_text" >"$run/server.options"
  for _ in $(seq 1 100); do curl -fsS "$url/healthz" >/dev/null 2>&1 && break; server_pid >/dev/null || break; sleep 0.2; done
  curl -fsS "$url/healthz" >/dev/null 2>&1 || { echo "error: the server did not start; see $run/server.log" >&2; tail -n 20 "$run/server.log" >&2; rm -f "$run/server.options"; exit 1; }
elif $rebuilt; then
  echo "note: bin/gpu-dev-server was rebuilt, but the server still runs the one it started with; ./quickstart.sh restart runs the new one"
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
if [[ ! -s $run/token ]]; then
  "$server_bin" user add "$name" --ssh-key "$key.pub" --admin --data-dir "$run/data" >"$run/token"
fi
for setting in "server $url" "token $(cat "$run/token")"; do
  out=$("$gpu_dev" config set $setting 2>&1) || { echo "$out" >&2; exit 1; }
done

# The CLI's JSON (`list --json`, `avail --json`) as one line per object that starts with the key "$1": "$1"'s value, then
# the object's other top-level "key":"value"/number pairs up to its first nested object (whitespace removed; values are
# ids, statuses, types and numbers here, and JSON strings carry no bare quotes).
json_records() {
  { tr -d ' \t\r\n'; echo; } | sed "s/{\"$1\":\"/\n/g" | sed -n '2,$p' | sed 's/[{[].*//'
}
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",]*\).*/\1/p" <<<"$2"; }

next() {
  printf '\nNext:\n  export PATH="%s/bin:$PATH"\n' "$root"
  printf '  %-26s # %s\n' "$1" "$2" "gpu-dev list" "your reservations" "./quickstart.sh stop" "cancel your reservations and stop the server"
  printf '  web dashboard: %s/ui (sign in with the token in %s)\n' "$url" "$run/token"
}

# 5. A real reservation: 1 GPU of the first type this machine offers with one free, for 1 hour; unless you have one.
listed=$("$gpu_dev" list --json 2>/dev/null) || { echo "error: gpu-dev list failed:" >&2; "$gpu_dev" list >/dev/null; exit 1; }
live=()
while IFS= read -r record; do
  id=${record%%\"*}
  status=$(field status "$record")
  case $status in pending | queued | preparing | active) live+=("${id:0:8} $status") ;; esac
done < <(json_records id <<<"$listed")
if ((${#live[@]})); then
  first=${live[0]%% *}
  for r in "${live[@]}"; do [[ $r != *" active" ]] || { first=${r%% *}; break; }; done
  for r in "${live[@]}"; do echo "you already have reservation ${r% *} (${r#* }): not reserving another"; done
  next "gpu-dev connect $first" "ssh into it (gpu-dev show $first: its details)"
  exit 0
fi
type=""
while IFS= read -r record; do
  [[ $(field free "$record") -gt 0 ]] && { type=${record%%\"*}; break; }
  [[ -n $type || $(field total "$record") -eq 0 ]] || type=${record%%\"*}
done < <("$gpu_dev" avail --json 2>/dev/null | json_records gpuType)
"$gpu_dev" reserve --gpu-type "${type:-h100}" --gpus 1 --hours 1 --no-interactive
next "gpu-dev connect" "ssh into the reservation"
