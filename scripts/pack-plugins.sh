#!/usr/bin/env bash
# Builds and packs Ferry's installable packages into tarballs an app outside this repository can
# install, and packages the Helm chart beside them:
#
#   npm run pack:plugins                 # → .ferry/packs/*.tgz (git-ignored), then checks them
#   PACK_DIR=/some/dir npm run pack:plugins
#
# Steps (Backstage's own publishing flow, with npm instead of yarn):
#   1. tsc → dist-types/ for the packed packages only (scripts/pack/tsconfig.json), which
#      `backstage-cli package build` bundles into dist/*.d.ts;
#   2. `backstage-cli package build` per package (role decides cjs/esm/types);
#   3. `npm pack`, whose prepack/postpack scripts (`backstage-cli package prepack|postpack`) point
#      main/types/exports at dist/, compile config.d.ts into config.schema.json and record the
#      plugin's feature types; postpack puts package.json back;
#   4. scripts/pack/check-packs.cjs checks every tarball as an outside app would see it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/node-env.sh"
export PATH="$root/node_modules/.bin:$PATH"
cd "$root"

out="${PACK_DIR:-$root/.ferry/packs}"
# Dependency order: each package's local dependencies are built before it.
packages=(
  packages/qcow2
  packages/repository
  packages/datamover
  plugins/backup-common
  plugins/backup
  plugins/backup-backend
)

started=$EPOCHREALTIME
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", b - a }'; }

# A pack that stopped between prepack and postpack leaves the rewritten package.json and a
# package.json-prepack backup: put the original back before anything else (and on any exit).
restore_prepacked() {
  for pkg in "${packages[@]}"; do
    if [ -f "$root/$pkg/package.json-prepack" ]; then
      echo "[pack] Restoring $pkg/package.json from package.json-prepack" >&2
      mv -f "$root/$pkg/package.json-prepack" "$root/$pkg/package.json"
      rm -f "$root/$pkg/config.schema.json"
    fi
  done
}
restore_prepacked
trap restore_prepacked EXIT

step=$EPOCHREALTIME
echo "[pack] Declarations (tsc -p scripts/pack/tsconfig.json)"
tsc -p scripts/pack/tsconfig.json
echo "[pack] Declarations done in $(elapsed "$step")"

rm -rf "$out"
mkdir -p "$out"
for pkg in "${packages[@]}"; do
  step=$EPOCHREALTIME
  (cd "$pkg" && backstage-cli package build)
  if [ "$pkg" = packages/datamover ]; then
    # The build empties dist/, which also holds the CLI bundle that bin/ferry-datamover runs
    # (and the sandbox's datamover image is made of): bundle it again at once.
    bash packages/datamover/scripts/bundle.sh
  fi
  (cd "$pkg" && npm pack --silent --pack-destination "$out" >/dev/null)
  echo "[pack] $pkg built and packed in $(elapsed "$step")"
done

helm="$(ls -d "${FERRY_CACHE:-$HOME/.cache/ferry}"/sandbox/helm-*/bin/helm 2>/dev/null | tail -n 1 || true)"
[ -x "$helm" ] || helm="$(command -v helm || true)"
if [ -n "$helm" ]; then
  bash scripts/sync-chart-crds.sh --check
  "$helm" package charts/ferry --destination "$out" >/dev/null
  echo "[pack] Helm chart packaged (charts/ferry)"
else
  echo "[pack] No helm binary (sandbox cache or PATH): the chart was not packaged" >&2
fi

node scripts/pack/check-packs.cjs "$out"
echo "[pack] Done in $(elapsed "$started"): $out"
