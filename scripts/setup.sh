#!/usr/bin/env bash
# Installs everything Ferry needs on a fresh machine; each step is skipped when already done.
#   Node 22 (scripts/node-env.sh), Debian packages (scripts/apt-packages.txt), npm packages,
#   the sandbox's binaries (built from Go modules, cached by version outside the repository),
#   the datamover bundle.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/node-env.sh
step() { printf '\n[ferry setup] %s\n' "$*"; }

step "Debian packages"
missing=()
while read -r pkg; do
  [ -n "$pkg" ] || continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < scripts/apt-packages.txt
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "all present"
fi

step "npm packages"
# Reinstall when package-lock.json changed since the last install (npm keeps a copy of it).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  mkdir -p .tools && touch .tools/npm.lock
  if [ -d node_modules ]; then
    flock .tools/npm.lock npm install --no-audit --no-fund
  else
    flock .tools/npm.lock npm ci --no-audit --no-fund
  fi
else
  echo "up to date"
fi

if [ -x packages/sandbox/scripts/build-binaries.sh ]; then
  step "sandbox binaries (cached in ${FERRY_CACHE:-$HOME/.cache/ferry})"
  bash packages/sandbox/scripts/build-binaries.sh
fi

if [ -f packages/datamover/scripts/bundle.sh ]; then
  step "datamover bundle"
  (cd packages/datamover && PATH="$root/node_modules/.bin:$PATH" bash scripts/bundle.sh)
fi
