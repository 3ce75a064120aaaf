#!/bin/bash
# Installs what tandem and its tests need on Debian 12 (as root), then the npm dependencies
# (which also builds the native addon and compiles the TypeScript).
set -euo pipefail
cd "$(dirname "$0")/.."

need_node="20.19.0"
if ! command -v node >/dev/null || ! node -e "
  const [a,b]=process.versions.node.split('.').map(Number); const [x,y]='$need_node'.split('.').map(Number);
  process.exit(a>x||(a===x&&b>=y)?0:1)"; then
  echo "tandem needs Node.js >= $need_node with npm (Debian 12's nodejs package is 18): install Node 20 first." >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# iproute2: ip/bridge for namespaces; keepalived: interop peer and benchmark baseline;
# tcpdump: wire timestamps; iputils-arping/ping: the client side of failover tests;
# python3: crafting malformed VRRP packets; make/g++/python3: node-gyp for the addon;
# python3-aiosmtpd: a real SMTP server for SMTP_CHECK; openssl: test certificates for SSL_GET;
# haproxy: the baseline of bench:checks (its own service is disabled below); systemd: its
# systemd-analyze checks the unit file (verify, security); chromium: the headless browser that
# playwright-core drives in the status page test (test/integration/status-page.test.ts);
# nftables: nft, the load-balancing backend where the kernel has no IPVS (docs/nft-backend.md).
# apt runs only when a package is missing (as in scripts/vm-deps.sh): on a machine that has them
# all, apt-get update + install took ~4 s here (more on a slow mirror) to install nothing.
packages=(iproute2 keepalived tcpdump iputils-arping iputils-ping python3 make g++ procps
  python3-aiosmtpd openssl haproxy systemd chromium nftables)
missing=()
for p in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# keepalived is only a test peer here: never let the package's service grab the machine.
systemctl disable --now keepalived haproxy >/dev/null 2>&1 || true

# The kernel test tier boots Debian's kernel (which has IPVS) under QEMU.
bash scripts/vm-deps.sh

npm ci --no-audit --no-fund
