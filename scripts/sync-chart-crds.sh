#!/usr/bin/env bash
# The chart's CRDs (charts/ferry/crds/) are copies of the backend plugin's, which stay the one
# source (the sandbox applies them and the plugin's tarball ships them):
#   bash scripts/sync-chart-crds.sh           # copy them into the chart
#   bash scripts/sync-chart-crds.sh --check   # exit 1 naming each file that differs or is missing
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source_dir="$root/plugins/backup-backend/crds"
chart_dir="$root/charts/ferry/crds"
header='# Copied from plugins/backup-backend/crds by scripts/sync-chart-crds.sh: edit the source, not this file.'

expected() { printf '%s\n' "$header"; cat "$1"; }

if [ "${1:-}" = --check ]; then
  status=0
  for file in "$source_dir"/*.yaml; do
    name="$(basename "$file")"
    if ! cmp -s <(expected "$file") "$chart_dir/$name"; then
      echo "charts/ferry/crds/$name differs from plugins/backup-backend/crds/$name: run bash scripts/sync-chart-crds.sh" >&2
      status=1
    fi
  done
  for file in "$chart_dir"/*.yaml; do
    [ -e "$file" ] || continue
    if [ ! -e "$source_dir/$(basename "$file")" ]; then
      echo "charts/ferry/crds/$(basename "$file") has no source in plugins/backup-backend/crds: remove it" >&2
      status=1
    fi
  done
  exit $status
fi

mkdir -p "$chart_dir"
rm -f "$chart_dir"/*.yaml
for file in "$source_dir"/*.yaml; do
  expected "$file" > "$chart_dir/$(basename "$file")"
done
echo "Copied $(ls "$source_dir"/*.yaml | wc -l) CRDs into charts/ferry/crds"
