#!/usr/bin/env bash
# Builds the sandbox's binaries from Go modules, once per pinned version, into
#   ${FERRY_CACHE:-$HOME/.cache/ferry}/sandbox/<component>-<version>/bin/
# Idempotent: a component whose binaries are already there is skipped.
# Binaries found in $KUBEBUILDER_ASSETS (envtest's convention) are not built.
#
# Usage: build-binaries.sh [component ...]   components: s3 etcd kubernetes kubectl helm node csi
#   (default: all but csi)
#   node = kubelet crictl (the real node, src/node/)
#   csi = csi-protos external-provisioner external-snapshotter csi-sanity
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../versions.env
source "$here/../versions.env"
cache="${FERRY_CACHE:-$HOME/.cache/ferry}/sandbox"
mkdir -p "$cache"
export GOFLAGS="${GOFLAGS:--buildvcs=false} -trimpath"
export CGO_ENABLED=0

log() { echo "[sandbox-build] $(date -u +%H:%M:%S) $*" >&2; }

command -v go >/dev/null || { echo "[sandbox-build] go is not on PATH (Go >= 1.25 is needed)" >&2; exit 1; }

from_assets() { # name -> 0 when $KUBEBUILDER_ASSETS provides it
  [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/$1" ]
}

all_present() { # dir binary...
  local dir="$1"; shift
  for b in "$@"; do [ -x "$dir/bin/$b" ] || return 1; done
}

record() { # dir start-seconds binary...
  local dir="$1" start="$2"; shift 2
  local secs=$(( $(date +%s) - start ))
  for b in "$@"; do
    local size; size=$(du -m "$dir/bin/$b" | cut -f1)
    echo "$b cold-build-seconds=$secs size-mib=$size go=$(go env GOVERSION)" >> "$dir/build-info.txt"
    log "Built $b in ${secs}s (${size} MiB)"
  done
}

# A throw-away module that requires <module>@<version>, so that the module's own relative
# `replace` lines (which make `go install pkg@version` fail) are not needed.
# Args: workdir module version replace-lines
make_wrapper() {
  local work="$1" module="$2" version="$3" replaces="$4"
  rm -rf "$work"; mkdir -p "$work"
  {
    echo "module ferry.local/sandbox-wrapper"
    echo
    echo "go $(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')"
    echo
    echo "require $module $version"
    if [ -n "$replaces" ]; then printf 'replace (\n%s)\n' "$replaces"; fi
  } > "$work/go.mod"
}

build_s3() {
  local dir="$cache/versitygw-$VERSITYGW_VERSION"
  all_present "$dir" versitygw && { log "versitygw $VERSITYGW_VERSION is cached in $dir"; return; }
  log "Building versitygw $VERSITYGW_VERSION (S3 server, posix backend)..."
  local start; start=$(date +%s); mkdir -p "$dir/bin"
  GOBIN="$dir/bin" nice go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
  record "$dir" "$start" versitygw
}

build_etcd() {
  local dir="$cache/etcd-$ETCD_VERSION"
  if from_assets etcd; then log "etcd from KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"; return; fi
  all_present "$dir" etcd && { log "etcd $ETCD_VERSION is cached in $dir"; return; }
  log "Building etcd $ETCD_VERSION (go.etcd.io/etcd/server/v3)..."
  local start; start=$(date +%s); mkdir -p "$dir/bin"
  local work="$dir/wrapper"
  make_wrapper "$work" go.etcd.io/etcd/server/v3 "$ETCD_VERSION" ""
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$work/tools.go"
  (cd "$work" && go mod tidy >&2 && nice go build -o "$dir/bin/etcd" go.etcd.io/etcd/server/v3)
  record "$dir" "$start" etcd
}

# Kubernetes: the wrapper's replace lines point each staging module (k8s.io/api, ...) that
# kubernetes' own go.mod replaces with ./staging/src/... at the published v0.N.M version.
k8s_commands="kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet"
k8s_wrapper() {
  local dir="$1" work="$1/wrapper"
  # .ready names the commands tools.go imports: a wrapper made for fewer commands is made again.
  [ -f "$work/go.sum" ] && [ "$(cat "$work/.ready" 2>/dev/null)" = "$k8s_commands" ] && return
  log "Preparing the kubernetes $KUBERNETES_VERSION wrapper module..."
  local gomod; gomod="$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
  local staging_version="v0.${KUBERNETES_VERSION#v1.}"
  local replaces
  replaces="$(sed -nE 's#^[[:space:]]*(k8s\.io/[A-Za-z0-9._-]+) => \./staging/src/.*#\t\1 => \1 '"$staging_version"'#p' "$gomod")
"
  [ "$(echo "$replaces" | grep -c '=>')" -gt 20 ] || { echo "[sandbox-build] could not read the staging replace lines of $gomod" >&2; exit 1; }
  make_wrapper "$work" k8s.io/kubernetes "$KUBERNETES_VERSION" "$replaces"
  # kubernetes' go.mod sets `godebug default=go1.NN`; keep the same defaults.
  grep -E '^godebug ' "$gomod" >> "$work/go.mod" || true
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for c in $k8s_commands; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done
    printf ')\n'
  } > "$work/tools.go"
  (cd "$work" && go mod tidy >&2)
  echo "$k8s_commands" > "$work/.ready"
}

k8s_ldflags() {
  local minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
  local flags="-s -w" key val
  for kv in "gitVersion=$KUBERNETES_VERSION" "gitMajor=1" "gitMinor=$minor" "gitTreeState=clean" \
            "gitCommit=$KUBERNETES_VERSION" "buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"; do
    key="${kv%%=*}"; val="${kv#*=}"
    flags+=" -X k8s.io/client-go/pkg/version.$key=$val -X k8s.io/component-base/version.$key=$val"
  done
  echo "$flags"
}

build_k8s_binary() { # name
  local name="$1" dir="$cache/kubernetes-$KUBERNETES_VERSION"
  if from_assets "$name"; then log "$name from KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"; return; fi
  all_present "$dir" "$name" && { log "$name $KUBERNETES_VERSION is cached in $dir"; return; }
  mkdir -p "$dir/bin"
  k8s_wrapper "$dir"
  log "Building $name $KUBERNETES_VERSION (this is the slow part: several minutes on 2 cores)..."
  local start; start=$(date +%s)
  (cd "$dir/wrapper" && nice go build -ldflags "$(k8s_ldflags)" -o "$dir/bin/$name.tmp" "k8s.io/kubernetes/cmd/$name")
  mv "$dir/bin/$name.tmp" "$dir/bin/$name"
  record "$dir" "$start" "$name"
}

build_helm() {
  local dir="$cache/helm-$HELM_VERSION"
  all_present "$dir" helm && { log "helm $HELM_VERSION is cached in $dir"; return; }
  log "Building helm $HELM_VERSION..."
  local start; start=$(date +%s); mkdir -p "$dir/bin"
  GOBIN="$dir/bin" nice go install -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  record "$dir" "$start" helm
}

# crictl (the CRI command-line client, to look into a real node's containerd); its go.mod has no
# replace lines, so `go install` works; version ldflags as its Makefile sets them.
build_crictl() {
  local dir="$cache/cri-tools-$CRI_TOOLS_VERSION"
  all_present "$dir" crictl && { log "crictl $CRI_TOOLS_VERSION is cached in $dir"; return; }
  log "Building crictl $CRI_TOOLS_VERSION (sigs.k8s.io/cri-tools)..."
  local start; start=$(date +%s); mkdir -p "$dir/bin"
  GOBIN="$dir/bin" nice go install -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=${CRI_TOOLS_VERSION#v}" "sigs.k8s.io/cri-tools/cmd/crictl@$CRI_TOOLS_VERSION"
  record "$dir" "$start" crictl
}

# --- CSI: the upstream sidecars, csi-sanity, the snapshot CRDs and the protos the driver loads ---

# A wrapper module for <module>@<version> whose go.mod has `replace` lines (`go install` refuses
# those): its replace lines are copied; a relative one (`X => ./client`, a nested module of the same
# repository) points at X published at the same version. Args: workdir module version
csi_wrapper() {
  local work="$1" module="$2" version="$3"
  [ -f "$work/go.sum" ] && [ -f "$work/.ready" ] && return
  local gomod; gomod="$(go mod download -json "$module@$version" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
  local replaces
  replaces="$(awk -v v="$version" '
    /^replace \($/ { block = 1; next }
    block && /^\)/ { block = 0; next }
    /^replace / { sub(/^replace /, ""); line = $0 }
    block { line = $0 }
    line != "" {
      split(line, f, /[[:space:]]*=>[[:space:]]*/); gsub(/^[[:space:]]+/, "", f[1])
      split(f[1], left, /[[:space:]]+/)
      if (f[2] ~ /^\.\.?\//) print "\t" left[1] " => " left[1] " " v; else print "\t" f[1] " => " f[2]
      line = ""
    }' "$gomod")
"
  make_wrapper "$work" "$module" "$version" "$replaces"
  grep -E '^godebug ' "$gomod" >> "$work/go.mod" || true
}

csi_build() { # dir module version package...: builds each package's main into dir/bin
  local dir="$1" module="$2" version="$3"; shift 3
  local work="$dir/wrapper"
  csi_wrapper "$work" "$module" "$version"
  { printf '//go:build tools\n\npackage tools\n\nimport (\n'; for p in "$@"; do printf '\t_ "%s/%s"\n' "$module" "$p"; done; printf ')\n'; } > "$work/tools.go"
  (cd "$work" && go mod tidy >&2 && touch .ready)
  local start p name
  for p in "$@"; do
    name="${p##*/}"
    [ -x "$dir/bin/$name" ] && continue
    log "Building $name $version ($module)..."
    start=$(date +%s)
    (cd "$work" && nice go build -ldflags "-s -w -X main.version=$version" -o "$dir/bin/$name.tmp" "$module/$p")
    mv "$dir/bin/$name.tmp" "$dir/bin/$name"
    record "$dir" "$start" "$name"
  done
}

build_external_provisioner() {
  local dir="$cache/external-provisioner-$EXTERNAL_PROVISIONER_VERSION"
  all_present "$dir" csi-provisioner && { log "csi-provisioner $EXTERNAL_PROVISIONER_VERSION is cached in $dir"; return; }
  mkdir -p "$dir/bin"
  csi_build "$dir" github.com/kubernetes-csi/external-provisioner/v6 "$EXTERNAL_PROVISIONER_VERSION" cmd/csi-provisioner
}

# csi-snapshotter, snapshot-controller and the snapshot CRDs (config/crd of the module's nested
# client module github.com/kubernetes-csi/external-snapshotter/client/v8, same version).
build_external_snapshotter() {
  local dir="$cache/external-snapshotter-$EXTERNAL_SNAPSHOTTER_VERSION"
  if ! all_present "$dir" csi-snapshotter snapshot-controller; then
    mkdir -p "$dir/bin"
    csi_build "$dir" github.com/kubernetes-csi/external-snapshotter/v8 "$EXTERNAL_SNAPSHOTTER_VERSION" cmd/csi-snapshotter cmd/snapshot-controller
  else
    log "csi-snapshotter and snapshot-controller $EXTERNAL_SNAPSHOTTER_VERSION are cached in $dir"
  fi
  if [ ! -f "$dir/crd/.ready" ]; then
    local client; client="$(go mod download -json "github.com/kubernetes-csi/external-snapshotter/client/v8@$EXTERNAL_SNAPSHOTTER_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
    mkdir -p "$dir/crd"
    cp "$client"/config/crd/snapshot.storage.k8s.io_*.yaml "$client"/config/crd/groupsnapshot.storage.k8s.io_*.yaml "$dir/crd/"
    chmod 644 "$dir"/crd/*.yaml
    touch "$dir/crd/.ready"
    log "Snapshot CRDs $EXTERNAL_SNAPSHOTTER_VERSION copied to $dir/crd"
  fi
}

build_csi_sanity() {
  local dir="$cache/csi-test-$CSI_TEST_VERSION"
  all_present "$dir" csi-sanity && { log "csi-sanity $CSI_TEST_VERSION is cached in $dir"; return; }
  log "Building csi-sanity $CSI_TEST_VERSION..."
  local start; start=$(date +%s); mkdir -p "$dir/bin"
  GOBIN="$dir/bin" nice go install -ldflags "-s -w -X main.VERSION=$CSI_TEST_VERSION" "github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity@$CSI_TEST_VERSION"
  record "$dir" "$start" csi-sanity
}

# csi.proto of the CSI spec and the kubelet's plugin-registration API (both loaded by the driver).
fetch_csi_protos() {
  local dir="$cache/csi-protos-$CSI_SPEC_VERSION-$KUBERNETES_VERSION"
  [ -f "$dir/.ready" ] && { log "CSI protos are cached in $dir"; return; }
  mkdir -p "$dir/pluginregistration"
  local spec kubelet
  spec="$(go mod download -json "github.com/container-storage-interface/spec@$CSI_SPEC_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
  kubelet="$(go mod download -json "k8s.io/kubelet@v0.${KUBERNETES_VERSION#v1.}" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
  cp "$spec/csi.proto" "$dir/csi.proto"
  cp "$kubelet/pkg/apis/pluginregistration/v1/api.proto" "$dir/pluginregistration/api.proto"
  chmod 644 "$dir/csi.proto" "$dir/pluginregistration/api.proto"
  touch "$dir/.ready"
  log "CSI protos copied to $dir"
}

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(s3 etcd kubernetes helm kubectl node csi)
for c in "${components[@]}"; do
  case "$c" in
    s3) build_s3 ;;
    etcd) build_etcd ;;
    kubernetes) for b in kube-apiserver kube-controller-manager kube-scheduler; do build_k8s_binary "$b"; done ;;
    kube-apiserver|kube-controller-manager|kube-scheduler|kubectl) build_k8s_binary "$c" ;;
    helm) build_helm ;;
    kubelet) build_k8s_binary kubelet ;;
    crictl) build_crictl ;;
    node) build_k8s_binary kubelet; build_crictl ;;
    csi) fetch_csi_protos; build_external_provisioner; build_external_snapshotter; build_csi_sanity ;;
    csi-protos) fetch_csi_protos ;;
    external-provisioner) build_external_provisioner ;;
    external-snapshotter) build_external_snapshotter ;;
    csi-sanity) build_csi_sanity ;;
    *) echo "[sandbox-build] unknown component '$c' (expected s3, etcd, kubernetes, kubectl, helm, kubelet, crictl, node, csi, csi-protos, external-provisioner, external-snapshotter, csi-sanity)" >&2; exit 2 ;;
  esac
done
log "Done: binaries under $cache"
