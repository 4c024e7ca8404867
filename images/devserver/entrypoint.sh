#!/usr/bin/env bash
# gpu-dev-entrypoint: starts the reservation's sshd in the foreground (under tini, PID 1).
#
# Contract with the pod's init step (the compute provider): a directory, ${GPUDEV_SSH_DIR:-/etc/gpu-dev/ssh}
# (usually an emptyDir or Secret volume), holding
#   ssh_host_ed25519_key (required), ssh_host_ecdsa_key, ssh_host_rsa_key   private host keys
#   authorized_keys                                                        keys that may log in as dev
# They are copied with the modes sshd insists on (Secret volumes are read-only symlinks).
# GPUDEV_SSH_GENERATE_HOST_KEYS=1 generates throwaway host keys instead (local `docker run` only).
set -euo pipefail

src=${GPUDEV_SSH_DIR:-/etc/gpu-dev/ssh}

for type in ed25519 ecdsa rsa; do
  key="$src/ssh_host_${type}_key"
  if [[ -f $key ]]; then
    install -m 0600 -o root -g root "$key" "/etc/ssh/ssh_host_${type}_key"
    if [[ -f $key.pub ]]; then
      install -m 0644 -o root -g root "$key.pub" "/etc/ssh/ssh_host_${type}_key.pub"
    fi
  fi
done
if [[ ! -f /etc/ssh/ssh_host_ed25519_key ]]; then
  if [[ ${GPUDEV_SSH_GENERATE_HOST_KEYS:-0} == 1 ]]; then
    ssh-keygen -A >/dev/null
  else
    echo "gpu-dev-entrypoint: no host key in $src (ssh_host_ed25519_key); set GPUDEV_SSH_GENERATE_HOST_KEYS=1 for throwaway keys" >&2
    exit 1
  fi
fi

if [[ -f $src/authorized_keys ]]; then
  install -m 0644 -o root -g root "$src/authorized_keys" /etc/ssh/authorized_keys/dev
fi

# /home/dev is the reservation's disk (or temporary storage): a new one starts empty.
# Only the top directory is chowned: a large disk must not be walked on every start.
mkdir -p /home/dev
chown dev:dev /home/dev
if [[ ! -e /home/dev/.zshrc ]]; then
  runuser -u dev -- cp -r --no-clobber /etc/skel/. /home/dev/
fi

# sshd ignores keys whose file or directory is group/world-writable; keep a persistent ~/.ssh sane.
if [[ -d /home/dev/.ssh ]]; then
  chmod go-w /home/dev /home/dev/.ssh
fi

mkdir -p /run/sshd
exec /usr/sbin/sshd -D -e
