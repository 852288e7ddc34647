#!/usr/bin/env bash
# Product-path benchmark of issue 20 (compressed and encrypted volume backups through the
# datamover CLI into a folder repository): bash scripts/run.sh bash packages/repository/bench/bench.sh
# BENCH_RUNS (default 1), BENCH_GIB (default 4). Needs /usr/bin/time. See packages/repository/README.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$(mktemp -d "${TMPDIR:-/tmp}/ferry-protection-bench-build-XXXXXX")"
trap 'rm -rf "$out"' EXIT
esbuild --bundle --platform=node --target=node22 --log-level=warning --outdir="$out" "$here/protection.ts"
node "$out/protection.js"
