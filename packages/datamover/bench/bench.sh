#!/usr/bin/env bash
# npm run bench:datamover -- [--size-gib 1] [--rounds 3] [--only folder,sparse,s3] [--big-gib 0] …
# The datamover CLI bundle (as the Job runs it) beside qemu-img and plain lib-storage/GetObject on
# the same loop devices; see bench/run.ts and the README's "Benchmark". Needs root (losetup),
# qemu-img (qemu-utils), /usr/bin/time (time), cmp, and the versitygw binary
# (packages/sandbox/scripts/build-binaries.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/../scripts/bundle.sh"
# Built inside the package (dist/ is git-ignored) so the bundle resolves workspace packages
# (the sandbox finds its versions.env through require.resolve('@ferry/sandbox/package.json')).
out="$here/../dist/bench"
mkdir -p "$out"
esbuild --bundle --platform=node --target=node22 --log-level=error \
  --external:@ferry/sandbox/package.json --outdir="$out" "$here/run.ts" "$here/plainS3.ts"
BENCH_PLAIN_S3="$out/plainS3.js" BENCH_CLI="$here/../dist/ferry-datamover.cjs" node "$out/run.js" "$@"
