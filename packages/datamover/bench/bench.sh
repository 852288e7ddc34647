#!/usr/bin/env bash
# npm run bench:datamover — volume backup/restore with the datamover CLI to a folder and to the
# sandbox's S3 server, beside qemu-img and a plain @aws-sdk/lib-storage upload of the same bytes.
# Needs qemu-img (qemu-utils), /usr/bin/time (time) and the versitygw binary
# (packages/sandbox/scripts/build-binaries.sh). FERRY_BENCH_SIZE_MIB (default 1024) sets the volume.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/../scripts/bundle.sh"
# Built inside the package (dist/ is git-ignored) so the bundle resolves workspace packages
# (the sandbox finds its versions.env through require.resolve('@ferry/sandbox/package.json')).
out="$here/../dist/bench"
mkdir -p "$out"
esbuild --bundle --platform=node --target=node22 --log-level=error \
  --external:@ferry/sandbox/package.json --outdir="$out" "$here/run.ts" "$here/plainS3.ts"
BENCH_PLAIN_S3="$out/plainS3.js" BENCH_CLI="$here/../dist/ferry-datamover.cjs" node "$out/run.js"
