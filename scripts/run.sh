#!/usr/bin/env bash
# Runs a command with the project's Node (>= 22) and node_modules/.bin first on PATH.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/node-env.sh"
export PATH="$FERRY_ROOT/node_modules/.bin:$PATH"
exec "$@"
