#!/usr/bin/env bash
# Builds native/build/file_mapping.node, the optional memory mapping used by @ferry/qcow2's
# passes over local files (see the package README, "Mapped reads"). Compiled with the C
# compiler against the N-API headers of the Node running this script; N-API is stable across
# Node versions, so the build is redone only when the source changes (its hash names the cache).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source_file="$here/file_mapping.c"
out="$here/build/file_mapping.node"
stamp="$here/build/file_mapping.sha256"
hash="$(sha256sum "$source_file" | cut -d' ' -f1)"
if [ -f "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$hash" ]; then
  echo "file_mapping.node is up to date"
  exit 0
fi
# Headers of the Node running this script: its own tarball's (include/node next to bin/), the
# npm "node" package's (node_modules/node-<platform>-<arch>/include/node), or the system's.
bin="$(dirname "$(node -p 'require("fs").realpathSync(process.execPath)')")"
include=""
for candidate in "$bin/../include/node" "$bin"/../node_modules/node-*/include/node \
  /usr/local/include/node /usr/include/node; do
  if [ -f "$candidate/node_api.h" ]; then include="$candidate"; break; fi
done
[ -n "$include" ] || { echo "no N-API headers (node_api.h) for the Node in $bin" >&2; exit 1; }
cc="${CC:-cc}"
command -v "$cc" >/dev/null || { echo "no C compiler ($cc): install gcc (scripts/apt-packages.txt)" >&2; exit 1; }
mkdir -p "$here/build"
tmp="$here/build/.file_mapping.node.$$"
"$cc" -O2 -std=c11 -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden \
  -I "$include" -o "$tmp" "$source_file"
mv -f "$tmp" "$out"
echo "$hash" > "$stamp"
echo "built $out"
