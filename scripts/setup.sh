#!/usr/bin/env bash
# Installs everything berth needs on Debian 12 (as root), builds it and puts
# berthd and berth on PATH. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  containerd runc tini busybox-static iptables netavark aardvark-dns
  docker-registry apache2-utils skopeo openssl tmux ca-certificates
  qemu-user-static binfmt-support docker-compose
  bzip2 xz-utils zstd
)

# The multi-platform build tests run an arm64 busybox under qemu; its package
# comes from the arm64 package lists.
need_update=false
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  need_update=true
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ] || [ "$need_update" = true ]; then
  apt-get update -qq
fi
if [ "${#missing[@]}" -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian starts the packaged services; berthd supervises its own containerd
# and tests start their own registries, so keep the system copies stopped.
for service in containerd docker-registry; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$service" 2>/dev/null; then
    systemctl disable --now "$service" >/dev/null 2>&1 || true
  fi
done

npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
ln -sf "$PWD/bin/berthd" /usr/local/bin/berthd
ln -sf "$PWD/bin/berth" /usr/local/bin/berth
