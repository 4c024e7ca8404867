#!/usr/bin/env bash
# Builds gpu-dev's default environment image for the local provider from Debian packages (no registry needed):
# mmdebstrap makes a Debian 12 root file system with what the environment contract needs, `podman import` turns
# it into localhost/gpu-dev/devbox:<hash of this script>, also tagged :latest. Cached: nothing is done when the image
# of this script's hash exists. Run as the user who runs gpu-dev-server (root, or that user for rootless podman).
#   images/devbox/build.sh            build if missing, print the image name
#   images/devbox/build.sh --force    build again
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
packages=(
  openssh-server openssh-client sudo bash zsh tmux git curl ca-certificates ccache python3 python3-pip python3-venv
  jupyter-notebook procps iproute2 iputils-ping less vim-tiny locales-all util-linux
)
hash=$( { cat "$0"; printf '%s\n' "${packages[@]}"; } | sha256sum | cut -c1-12)
image=localhost/gpu-dev/devbox:$hash
if [[ ${1:-} != --force ]] && podman image exists "$image"; then
  podman tag "$image" localhost/gpu-dev/devbox:latest
  echo "$image"
  exit 0
fi
for tool in podman mmdebstrap; do
  command -v "$tool" >/dev/null || { echo "error: $tool is needed to build the image (apt-get install podman mmdebstrap)" >&2; exit 1; }
done
work=$(mktemp -d /var/tmp/gpu-dev-devbox.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "building $image (Debian 12 + ${#packages[@]} packages; about a minute)..." >&2
mmdebstrap --quiet --variant=apt --include="$(IFS=,; echo "${packages[*]}")" \
  --aptopt='Acquire::Check-Valid-Until "false"' \
  --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
  bookworm "$work/rootfs.tar" >&2
podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV GPU_DEV_IMAGE=devbox' \
  --change 'CMD ["/bin/bash"]' \
  --message "gpu-dev devbox ($hash)" \
  "$work/rootfs.tar" "$image" >/dev/null
podman tag "$image" localhost/gpu-dev/devbox:latest
echo "$image"
