#!/usr/bin/env bash
# Build the real test components from the Go module proxy, once, into the
# user's cache directory: kube-apiserver and kubectl (k8s.io/kubernetes),
# etcd (go.etcd.io/etcd/server/v3) and helm (helm.sh/helm/v3).
#
# The cache is keyed by the versions below, so a second run finds every
# binary in place and builds nothing.  Each binary is built in a throwaway
# wrapper module: k8s.io/kubernetes and etcd replace their own submodules
# with local folders, which `go install pkg@version` refuses, so our
# wrapper requires them and pins every such submodule to a released one.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.34.4}
ETCD_VERSION=${ETCD_VERSION:-v3.6.17}
HELM_VERSION=${HELM_VERSION:-v3.19.5}

cache=${FAULTLINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/faultline}
bin="$cache/tools-k8s-$K8S_VERSION-etcd-$ETCD_VERSION-helm-$HELM_VERSION/bin"
mkdir -p "$bin"

export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local

log() { printf 'build-go-tools: %s\n' "$*" >&2; }

have() {
	local b
	for b in "$@"; do
		[ -x "$bin/$b" ] || return 1
	done
}

# Print "replace M => M V" lines for every module that the go.mod of
# module $1@$2 replaces with a local folder, each pinned to version $3
# (or to "same" to keep the version it requires).
replace_lines() {
	local mod=$1 ver=$2 pin=$3 gomod
	gomod=$(go mod download -json "$mod@$ver" | python3 -c \
		'import json,sys; print(json.load(sys.stdin)["GoMod"])')
	python3 - "$gomod" "$pin" <<'PY'
import re, sys
gomod, pin = sys.argv[1], sys.argv[2]
text = open(gomod).read()
req = dict(re.findall(r'^\s*(\S+)\s+(v\S+)', text, re.M))
for m in re.finditer(r'^\s*(?:replace\s+)?(\S+)(?:\s+v\S+)?\s+=>\s+(\./\S+|\.\./\S+)',
                     text, re.M):
    name = m.group(1)
    if name not in req:
        continue    # a guard such as "=> ./FORBIDDEN_DEPENDENCY"
    version = req[name] if pin == "same" else pin
    if version.startswith("v0.0.0"):
        continue
    print(f"replace {name} => {name} {version}")
PY
}

build_kubernetes() {
	have kube-apiserver kubectl && return 0
	log "building kube-apiserver and kubectl $K8S_VERSION (takes minutes)"
	local w minor staging
	w=$(mktemp -d)
	minor=${K8S_VERSION#v1.}
	staging="v0.$minor"
	{
		echo "module faultline.dev/k8s-tools"
		echo "go 1.24"
		echo "require k8s.io/kubernetes $K8S_VERSION"
		replace_lines k8s.io/kubernetes "$K8S_VERSION" "$staging"
	} > "$w/go.mod"
	local pkg=k8s.io/component-base/version
	local ld="-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1"
	ld="$ld -X $pkg.gitMinor=${minor%%.*} -X $pkg.gitTreeState=clean"
	ld="$ld -X $pkg.buildDate=1970-01-01T00:00:00Z"
	(
		cd "$w"
		# A package path without @version would mean @upgrade: pin it.
		go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" \
			"k8s.io/kubernetes/cmd/kubectl@$K8S_VERSION"
		go build -trimpath -ldflags "$ld" -o "$bin/kube-apiserver.tmp" \
			k8s.io/kubernetes/cmd/kube-apiserver
		go build -trimpath -ldflags "$ld" -o "$bin/kubectl.tmp" \
			k8s.io/kubernetes/cmd/kubectl
	)
	mv "$bin/kube-apiserver.tmp" "$bin/kube-apiserver"
	mv "$bin/kubectl.tmp" "$bin/kubectl"
	rm -rf "$w"
}

build_etcd() {
	have etcd && return 0
	log "building etcd $ETCD_VERSION"
	local w
	w=$(mktemp -d)
	{
		echo "module faultline.dev/etcd-tools"
		echo "go 1.24"
		echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
		replace_lines go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "$ETCD_VERSION"
	} > "$w/go.mod"
	(
		cd "$w"
		go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
		go build -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" \
			go.etcd.io/etcd/server/v3
	)
	mv "$bin/etcd.tmp" "$bin/etcd"
	rm -rf "$w"
}

build_helm() {
	have helm && return 0
	log "building helm $HELM_VERSION"
	GOBIN="$bin" go install -trimpath -ldflags "-s -w" \
		"helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
}

build_etcd
build_helm
build_kubernetes
echo "$bin"
