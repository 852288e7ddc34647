#!/usr/bin/env bash
# npm run bench:qcow2 — bundles the benchmark with esbuild into a temporary directory and runs it.
# npm run bench:qcow2 -- flush — the flush-behind benchmark (bench/flushBehind.ts) instead.
# npm run soak:qcow2 -- [options] — the differential soak against qemu-img (bench/soak.ts).
# Needs qemu-img (Debian qemu-utils) and /usr/bin/time. See packages/qcow2/README.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$(mktemp -d "${TMPDIR:-/tmp}/ferry-qcow2-bench-build-XXXXXX")"
trap 'rm -rf "$out"' EXIT
esbuild --bundle --platform=node --target=node22 --log-level=warning \
  --outdir="$out" "$here/run.ts" "$here/cli.ts" "$here/flushBehind.ts" "$here/soak.ts"
if [ "${1:-}" = flush ]; then
  node "$out/flushBehind.js"
elif [ "${1:-}" = soak ]; then
  shift
  node "$out/soak.js" "$@"
else
  BENCH_CLI="$out/cli.js" node "$out/run.js"
fi
