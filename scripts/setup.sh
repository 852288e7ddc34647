#!/usr/bin/env bash
# Installs everything Ferry needs on a fresh machine; each step is skipped when already done.
#   Node 22 (scripts/node-env.sh), Debian packages (scripts/apt-packages.txt), npm packages,
#   the sandbox's binaries (built from Go modules, cached by version outside the repository),
#   the datamover bundle, the sandbox node's images (pause, datamover, demo app; cached by the
#   digest of their inputs outside the repository). Each step prints how long it took.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/node-env.sh
step_started=$(date +%s)
step() {
  [ -z "${step_name:-}" ] || printf '[ferry setup] %s: %s s\n' "$step_name" "$(( $(date +%s) - step_started ))"
  step_name="$*"; step_started=$(date +%s)
  printf '\n[ferry setup] %s\n' "$*"
}

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

if [ -f packages/sandbox/src/images/sandboxImages.ts ]; then
  # Built here rather than by the first sandbox start (cold: debootstrap of two Debian roots).
  step "sandbox node images (cached in ${FERRY_CACHE:-$HOME/.cache/ferry}/images)"
  if [ "$(id -u)" -eq 0 ]; then
    PATH="$root/node_modules/.bin:$PATH" nice -n 10 node packages/sandbox/bin/sandbox.cjs build-images
  else
    echo "skipped: building them (debootstrap) and running the sandbox's node need root"
  fi
fi
step "done"
