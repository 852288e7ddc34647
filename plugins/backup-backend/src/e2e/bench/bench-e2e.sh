#!/usr/bin/env bash
# npm run bench:e2e — backup and restore of the demo app on the sandbox's real node, timed by
# phase (src/e2e/bench/e2eTimings.test.bench.ts). Needs root and the sandbox binaries and images
# (scripts/setup.sh). Prints the tables and writes them to test-results/bench-e2e-<time>.md
# (with the raw statuses in .json).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
CI=1 backstage-cli package test --testMatch '**/src/e2e/bench/*.bench.ts' "$@"
