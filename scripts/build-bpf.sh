#!/usr/bin/env bash
# Builds the fleetnet eBPF object from agent/bpf/*.c → agent/bpf/build/fleetnet.bpf.o (BTF included).
# Needs Debian packages: clang llvm libbpf-dev linux-libc-dev (gcc for the multiarch include dir).
# Idempotent; fails loudly (non-zero exit with a message) when a tool is missing or clang fails.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/agent/bpf"
out="$src/build"
for tool in clang llvm-strip; do
  command -v "$tool" >/dev/null || { echo "build-bpf: '$tool' not found (apt-get install clang llvm)" >&2; exit 1; }
done
[ -f /usr/include/bpf/bpf_helpers.h ] || { echo "build-bpf: libbpf headers missing (apt-get install libbpf-dev)" >&2; exit 1; }
multiarch="$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)"
mkdir -p "$out"
tmp="$out/fleetnet.bpf.o.tmp"
clang -O2 -g -target bpf -std=gnu11 -Wall -Werror \
  -I"$src" -I"/usr/include/$multiarch" \
  -c "$src/policy.c" -o "$tmp"
mv -f "$tmp" "$out/fleetnet.bpf.o"
echo "build-bpf: $out/fleetnet.bpf.o"
