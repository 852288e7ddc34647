#!/usr/bin/env bash
# Source this file: makes sure Node >= 22 is first on PATH.
# The machine's Node may be older (Node 20 is end-of-life, and @kubernetes/client-node 2.x and
# better-sqlite3 13 need 22): then node@22 from the npm registry is installed into .tools/node.
ferry_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ferry_tools="$ferry_root/.tools/node"
ferry_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ -x "$ferry_tools/node_modules/.bin/node" ]; then
  export PATH="$ferry_tools/node_modules/.bin:$PATH"
fi
if [ "$(ferry_node_major)" -lt 22 ]; then
  echo "[ferry] Node $(node --version 2>/dev/null || echo none) is older than 22: installing node@22 into .tools/node" >&2
  mkdir -p "$ferry_tools"
  (cd "$ferry_tools" && npm install --no-save --no-audit --no-fund --prefix "$ferry_tools" node@22 >&2) || {
    echo "[ferry] could not install node@22 from the npm registry" >&2; return 1 2>/dev/null || exit 1; }
  export PATH="$ferry_tools/node_modules/.bin:$PATH"
fi
export FERRY_ROOT="$ferry_root"
# Native addons (better-sqlite3) must compile against the headers of the Node that runs them, not
# against a machine-wide `nodedir` that may point at an older Node's headers.
ferry_node_prefix="$(node -p 'require("path").resolve(require("fs").realpathSync(process.execPath), "../..")')"
for ferry_dir in "$ferry_node_prefix" "$ferry_node_prefix"/node_modules/node-*; do
  if [ -f "$ferry_dir/include/node/node.h" ]; then export npm_config_nodedir="$ferry_dir"; break; fi
done
