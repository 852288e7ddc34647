#!/usr/bin/env bash
# The whole test suite, on a fresh machine too: installs what is missing (scripts/setup.sh), then
# lint, type check and every jest test of every workspace (unit, integration on the sandbox,
# browser). Ends with one line `N passed, N failed` taken from jest's results.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
started=$(date +%s)
bash scripts/setup.sh || { echo "[ferry test] set-up failed"; echo "0 passed, 1 failed"; exit 1; }
source scripts/node-env.sh
export PATH="$root/node_modules/.bin:$PATH"
export CI=1
failures=()
phase() { printf '\n[ferry test] %s (%ss since start)\n' "$*" "$(( $(date +%s) - started ))"; }

phase "lint"
backstage-cli repo lint || failures+=(lint)

phase "type check"
tsc --noEmit -p tsconfig.json || failures+=(tsc)

phase "jest: every workspace"
mkdir -p test-results
rm -f test-results/jest.json
backstage-cli repo test --silent --json --outputFile=test-results/jest.json "$@" || failures+=(jest)

phase "done"
[ ${#failures[@]} -eq 0 ] || echo "[ferry test] failed steps: ${failures[*]}"
node -e '
  const fs = require("fs");
  const file = "test-results/jest.json";
  if (!fs.existsSync(file)) { console.log("0 passed, 1 failed"); process.exit(0); }
  const r = JSON.parse(fs.readFileSync(file, "utf8"));
  // A suite that failed to run (syntax error, failing beforeAll) counts as a failure too.
  const broken = r.testResults.filter(s => s.status === "failed" && s.assertionResults.length === 0).length;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests + broken} failed`);
'
[ ${#failures[@]} -eq 0 ]
