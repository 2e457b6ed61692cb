#!/usr/bin/env bash
# Builds the N-API addon agent/native → agent/native/build/Release/fleetnet_bpf.node.
# Needs Debian packages: libbpf-dev libelf-dev zlib1g-dev make g++ python3 and Node's headers in
# /usr/include/node (Debian's nodejs / NodeSource packages ship them). Works offline: node-gyp is
# the copy bundled with npm, pointed at the local headers with --nodedir.
# Idempotent; fails loudly.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ -f /usr/include/bpf/libbpf.h ] || { echo "build-native: libbpf headers missing (apt-get install libbpf-dev)" >&2; exit 1; }
node_exe="$(command -v node)" || { echo "build-native: node not found" >&2; exit 1; }
nodedir="${FLEETNET_NODEDIR:-$(dirname "$(dirname "$node_exe")")}"
[ -f "$nodedir/include/node/node_api.h" ] || nodedir=/usr
[ -f "$nodedir/include/node/node_api.h" ] || { echo "build-native: no node_api.h under $nodedir/include/node" >&2; exit 1; }
gyp="$(dirname "$(readlink -f "$node_exe")")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$gyp" ] || gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$gyp" ] || { echo "build-native: npm's bundled node-gyp not found" >&2; exit 1; }
cd "$root/agent/native"
node "$gyp" rebuild --nodedir="$nodedir" --loglevel=warn
test -f build/Release/fleetnet_bpf.node
echo "build-native: $root/agent/native/build/Release/fleetnet_bpf.node"
