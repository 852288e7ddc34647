#!/usr/bin/env bash
# Bundles the datamover CLI (with @ferry/repository, @ferry/qcow2 and the AWS SDK) into one
# file, dist/ferry-datamover.cjs, for Node 22. Written to a temp name and renamed, so several
# pods starting at once never run a half-written bundle.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$here/../.." && pwd)"
esbuild="$root/node_modules/.bin/esbuild"
mkdir -p "$here/dist"
tmp="$here/dist/.ferry-datamover.cjs.$$"
"$esbuild" "$here/src/cli/run.ts" --bundle --platform=node --target=node22 --format=cjs \
  --log-level=warning --legal-comments=none --outfile="$tmp"
mv -f "$tmp" "$here/dist/ferry-datamover.cjs"
