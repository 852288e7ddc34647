#!/usr/bin/env bash
# npm run bench:datamover — volume backup/restore with the datamover CLI to a folder and to the
# sandbox's S3 server, beside qemu-img and a plain @aws-sdk/lib-storage upload of the same bytes.
# Needs qemu-img (qemu-utils), /usr/bin/time (time) and the versitygw binary
# (packages/sandbox/scripts/build-binaries.sh). FERRY_BENCH_SIZE_MIB (default 1024) sets the volume.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/../scripts/bundle.sh"
out="$(mktemp -d "${TMPDIR:-/tmp}/ferry-dm-bench-build-XXXXXX")"
trap 'rm -rf "$out"' EXIT
# The sandbox locates versions.env from its own source folder (__dirname): keep that true
# inside the bundle. Nothing else bundled here reads __dirname.
sandbox_src="$(cd "$here/../../sandbox/src" && pwd)"
esbuild --bundle --platform=node --target=node22 --log-level=warning \
  --define:__dirname="\"$sandbox_src\"" --outdir="$out" "$here/run.ts" "$here/plainS3.ts"
if grep -q "__dirname" "$out/run.js"; then echo "bench bundle still reads __dirname" >&2; exit 1; fi
BENCH_PLAIN_S3="$out/plainS3.js" BENCH_CLI="$here/../dist/ferry-datamover.cjs" node "$out/run.js"
