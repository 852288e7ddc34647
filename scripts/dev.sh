#!/usr/bin/env bash
# Starts Ferry locally: installs what is missing, starts the sandbox cluster (control plane, the
# real node: kubelet, containerd, the CSI driver) with the demo app (PostgreSQL with rows, real
# containers), then the Backstage backend and app configured for it. Ctrl-C stops all.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
started=$(date +%s)
elapsed() { echo "$(( $(date +%s) - started )) s"; }
bash scripts/setup.sh
echo "[ferry dev] Set-up checked in $(elapsed)"
source scripts/node-env.sh
export PATH="$root/node_modules/.bin:$PATH"
mkdir -p .sandbox .ferry
pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

configs=(--config "$root/app-config.yaml")
if [ -f packages/sandbox/bin/sandbox.cjs ]; then
  echo "[ferry dev] Starting the sandbox cluster with the demo app (log: .sandbox/sandbox.log)"
  rm -f .sandbox/app-config.sandbox.yaml
  setsid node packages/sandbox/bin/sandbox.cjs start --demo \
    --app-config .sandbox/app-config.sandbox.yaml \
    > .sandbox/sandbox.log 2>&1 &
  sandbox_pid=$!
  pids+=("$sandbox_pid")
  # Until the config fragment is written (the demo app is then ready) or the sandbox gave up.
  for _ in $(seq 1 900); do
    [ -f .sandbox/app-config.sandbox.yaml ] && break
    kill -0 "$sandbox_pid" 2>/dev/null || break
    sleep 1
  done
  if [ -f .sandbox/app-config.sandbox.yaml ]; then
    configs+=(--config "$root/.sandbox/app-config.sandbox.yaml")
    grep -E '^\[sandbox\] (Sandbox ready|Demo app ready|Containers:)' .sandbox/sandbox.log | sed 's/^\[sandbox\]/[ferry dev]/' || true
    echo "[ferry dev] Sandbox and demo app up after $(elapsed)"
  else
    echo "[ferry dev] The sandbox did not come up; Backstage starts without a cluster. Last lines of .sandbox/sandbox.log:"
    tail -n 5 .sandbox/sandbox.log | sed 's/^/  /'
  fi
fi

echo "[ferry dev] Starting the Backstage backend (log: .ferry/backend.log) and app (log: .ferry/app.log)"
(cd packages/backend && exec setsid backstage-cli package start "${configs[@]}") > .ferry/backend.log 2>&1 &
pids+=($!)
(cd packages/app && BROWSER=none exec setsid backstage-cli package start "${configs[@]}") > .ferry/app.log 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do
  curl -sf http://localhost:7007/api/backup/health >/dev/null 2>&1 && curl -sf http://localhost:3000 >/dev/null 2>&1 && break
  sleep 1
done
if curl -sf http://localhost:3000 >/dev/null 2>&1; then
  echo
  echo "  Ferry is running: http://localhost:3000/catalog/default/component/shop/backups"
  echo "  (sign in as Service owner or as Platform administrator: README, \"Two commands\"; Ctrl-C stops everything)"
  echo "  Started in $(elapsed)."
  echo
else
  echo "[ferry dev] Backstage did not answer within 5 minutes; see .ferry/backend.log and .ferry/app.log"
fi
wait
