#!/usr/bin/env bash
# npm run soak:datamover -- [options] — the datamover's differential soak (bench/soak.ts).
# Needs qemu-img (qemu-utils) and, for --target s3, the versitygw binary
# (packages/sandbox/scripts/build-binaries.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Built inside the package (dist/ is git-ignored) so the bundle resolves workspace packages.
out="$here/../dist/soak"
mkdir -p "$out"
esbuild --bundle --platform=node --target=node22 --log-level=error \
  --external:@ferry/sandbox/package.json --outdir="$out" "$here/soak.ts"
node "$out/soak.js" "$@"
