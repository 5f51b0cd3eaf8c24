#!/usr/bin/env bash
# Installs what the stack needs on a fresh Debian machine with Node 20:
# libpcap headers for the `cap` addon, iproute2/ethtool/nftables for the test
# namespaces, a kernel HTTP peer (python3, curl), Chromium for the trace page's
# browser test, and pnpm.
set -euo pipefail
need=()
for pkg in libpcap-dev iproute2 ethtool nftables python3 curl tcpdump build-essential chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version | cut -d. -f1)" != "12" ]; then
  npm install -g pnpm@12 >/dev/null
fi
# node-gyp cannot download Node's headers here: build native addons against the system's.
export npm_config_nodedir="${npm_config_nodedir:-/usr}"
cd "$(dirname "$0")/.."
pnpm install --frozen-lockfile
pnpm build
