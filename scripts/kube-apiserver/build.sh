#!/usr/bin/env bash
# Builds kube-apiserver from Debian's `kubernetes` source package (upstream v1.20.2 with vendor/) into a
# cache folder outside the repository, once; prints the binary's path on stdout (and nothing else).
# Idempotent: a second run with the binary in place checks the installed tools and exits in well under
# a second. Installs golang-go, dpkg-dev (to build), etcd-server, etcd-client and openssl with apt when missing
# (needs root then). The source is fetched with a private apt configuration inside the cache: nothing
# under /etc/apt is changed.
#
#   KUBE_APISERVER_CACHE   cache folder (default ${XDG_CACHE_HOME:-$HOME/.cache}/ingress-gateway/kubernetes-1.20.2)
#   KUBE_APISERVER_REBUILD=1  rebuild even when the binary is in place (the Go build cache keeps it quick)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

cache="${KUBE_APISERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ingress-gateway/kubernetes-1.20.2}"
want_version="v1.20.2"
bin="$cache/bin/kube-apiserver"
stamp="$cache/bin/kube-apiserver.stamp"
log() { echo "kube-apiserver/build: $*" >&2; }

# One build at a time (parallel test files, say): the others wait, then find the binary in place.
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

# --- tools from Debian ------------------------------------------------------------------------------
built() {
  [ "${KUBE_APISERVER_REBUILD:-0}" != 1 ] && [ -x "$bin" ] && [ -f "$stamp" ] &&
    [ "$("$bin" --version 2>/dev/null)" = "Kubernetes $want_version" ] &&
    [ "$(cat "$stamp")" = "$(sed -nE 's/^Version: //p' "$cache"/src/kubernetes_*.dsc 2>/dev/null | tail -n1)" ]
}
is_installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]; }
packages=(etcd-server etcd-client openssl)
built || packages+=(golang-go dpkg-dev)
missing=()
for p in "${packages[@]}"; do is_installed "$p" || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
  log "installing ${missing[*]} with apt-get"
  "${sudo[@]}" apt-get update -qq >&2
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
# kubectl: Debian's kubernetes-client (the same v1.20.2), unpacked into the cache rather than installed,
# so it neither clashes with another kubectl package (say Google's) nor shadows one on PATH.
if [ ! -x "$cache/bin/kubectl" ]; then
  mkdir -p "$cache/bin" "$cache/debs"
  log "fetching Debian's kubernetes-client for kubectl"
  (cd "$cache/debs" && rm -f kubernetes-client_*.deb && apt-get download -qq kubernetes-client >&2 ||
    { apt-get update -qq >&2 && apt-get download -qq kubernetes-client >&2; })
  rm -rf "$cache/debs/x" && dpkg-deb -x "$cache"/debs/kubernetes-client_*.deb "$cache/debs/x"
  mv "$cache/debs/x/usr/bin/kubectl" "$cache/bin/kubectl"
  rm -rf "$cache/debs"
fi

# --- already built? ---------------------------------------------------------------------------------
if built; then
  echo "$bin"
  exit 0
fi
[ -x "$bin" ] && log "cached binary does not match the source, or a rebuild was asked for; building"

start=$(date +%s)
mkdir -p "$cache/src" "$cache/bin"

# --- the source package -----------------------------------------------------------------------------
# A private apt configuration: every `deb` entry of the machine's sources, as `deb-src`.
apt_dir="$cache/apt"
if ! ls "$cache"/src/kubernetes_*.dsc >/dev/null 2>&1; then
  rm -rf "$apt_dir"
  mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  : >"$apt_dir/sources.list"
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    sed -E 's/^Types:.*\bdeb\b.*$/Types: deb-src/' "$f" >"$apt_dir/sources.list.d/$(basename "$f")"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -nE 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" >>"$apt_dir/sources.list"
  done
  apt_opts=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir/cache"
    -o "Debug::NoLocking=1"
    -o "APT::Sandbox::User=root"
  )
  log "fetching the kubernetes source package (about 34 MB)"
  apt-get "${apt_opts[@]}" update -qq >&2
  (cd "$cache/src" && apt-get "${apt_opts[@]}" source --download-only -qq kubernetes >&2)
  rm -rf "$apt_dir"
fi
dsc="$(ls "$cache"/src/kubernetes_*.dsc | tail -n1)"
debian_version="$(sed -nE 's/^Version: //p' "$dsc")"
tree="$cache/src/kubernetes"
if [ ! -f "$tree/.extracted" ] || [ "$(cat "$tree/.extracted")" != "$debian_version" ]; then
  log "unpacking $(basename "$dsc")"
  rm -rf "$tree"
  dpkg-source --no-check -x "$dsc" "$tree" >&2
  echo "$debian_version" >"$tree/.extracted"
fi

# --- GOPATH build -----------------------------------------------------------------------------------
export GOPATH="$cache/gopath" GOCACHE="$cache/gocache" GO111MODULE=off GOFLAGS= CGO_ENABLED=0
export GOTOOLCHAIN=local GOPROXY=off
mkdir -p "$GOPATH/src/k8s.io"
ln -sfn "$tree" "$GOPATH/src/k8s.io/kubernetes"
cd "$GOPATH/src/k8s.io/kubernetes"
log "$(go version)"

# pkg/generated/openapi/zz_generated.openapi.go is not in the tarball: generate it as upstream's
# build/root/Makefile.generated_files does, for every package tagged +k8s:openapi-gen=
# (code-generator's examples and sample-apiserver excluded, as there: 80 packages).
openapi="pkg/generated/openapi/zz_generated.openapi.go"
if [ ! -s "$openapi" ]; then
  log "building openapi-gen"
  go build -o "$cache/bin/openapi-gen" k8s.io/kubernetes/vendor/k8s.io/kube-openapi/cmd/openapi-gen
  inputs="$(grep -rl --include='*.go' -E '^// *\+k8s:openapi-gen=' cmd pkg staging vendor/k8s.io 2>/dev/null |
    xargs -n1 dirname | sort -u |
    sed -E 's#^staging/src/##; s#^vendor/##; t; s#^#k8s.io/kubernetes/#' |
    grep -vE '^k8s.io/(code-generator|sample-apiserver)/' | sort -u | paste -sd, -)"
  log "generating $openapi for $(tr ',' '\n' <<<"$inputs" | wc -l) packages"
  "$cache/bin/openapi-gen" --logtostderr=false \
    --input-dirs "$inputs" \
    --output-package k8s.io/kubernetes/pkg/generated/openapi \
    --output-base "$GOPATH/src" \
    --output-file-base zz_generated.openapi \
    --go-header-file hack/boilerplate/boilerplate.generatego.txt \
    --report-filename "$cache/openapi-violations.report" >&2
fi

# Version ldflags, as hack/lib/version.sh sets them for a release archive (in both packages, or /version
# says v0.0.0-master): the upstream commit the tarball records, tree state "archive", and the date of
# Debian's changelog entry as the build date (reproducible).
git_commit="$(sed -nE "s/^ *KUBE_GIT_COMMIT='([0-9a-f]{40})'.*/\1/p" hack/lib/version.sh | head -n1)"
build_date="$(date -u -d "@$(dpkg-parsechangelog -l debian/changelog -STimestamp)" +%Y-%m-%dT%H:%M:%SZ)"
ldflags="-s -w"
for pkg in k8s.io/kubernetes/vendor/k8s.io/component-base/version k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$want_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=20"
  ldflags+=" -X $pkg.gitCommit=$git_commit -X $pkg.gitTreeState=archive -X $pkg.buildDate=$build_date"
done
log "building cmd/kube-apiserver (cold: a few minutes and about 1.3 GB of memory)"
go build -trimpath -ldflags "$ldflags" -o "$bin.tmp" k8s.io/kubernetes/cmd/kube-apiserver
mv "$bin.tmp" "$bin"
echo "$debian_version" >"$stamp"
log "built $("$bin" --version) from Debian source $debian_version in $(($(date +%s) - start)) s"
echo "$bin"
