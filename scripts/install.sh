#!/usr/bin/env bash
# Installs everything fleetnet's build and tests need on a fresh Debian machine of this kind (run as root):
# the Debian packages for the eBPF datapath and the native addon, then the locked npm dependencies.
# Idempotent. Used by the README's commands and by .ci/run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(
  clang llvm               # eBPF programs (clang -target bpf, llvm-strip)
  libbpf-dev libelf-dev zlib1g-dev linux-libc-dev  # libbpf headers/library for the programs and the N-API addon
  gcc g++ make python3     # node-gyp build of the addon, the benchmark's packet blaster
  bpftool                  # BTF layout checks in the datapath tests
  iproute2                 # network namespaces, veths, tc
  iptables                 # the datapath benchmark's iptables baseline; host-routing test: FORWARD counters, DNAT
  socat                    # TCP/UDP peers inside test namespaces
  chromium                 # the console's browser tests (headless, driven by playwright-core)
  openssl                  # self-signed TLS certificate for the fake ARM endpoint (test/helpers/fake-arm.ts)
)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
npm ci --no-audit --no-fund
