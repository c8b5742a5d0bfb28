#!/usr/bin/env bash
# Build the real Prometheus server from its Go module, once, into its own
# folder of the user's cache directory, and print the path of the binary.
#
# The folder is keyed by the version below, so a second run finds the
# binary in place and builds nothing.  The web UI's assets are left out
# (no "builtinassets" build tag): the tests only use the HTTP API, which
# the server serves all the same.  The module's go.mod replaces nothing,
# so `go install pkg@version` builds it as it stands.
set -euo pipefail

PROMETHEUS_VERSION=${PROMETHEUS_VERSION:-v0.316.0}

cache=${FAULTLINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/faultline}
dir="$cache/prometheus-$PROMETHEUS_VERSION"
bin="$dir/bin"

if [ ! -x "$bin/prometheus" ]; then
	printf 'build-prometheus: building prometheus %s (takes minutes)\n' \
		"$PROMETHEUS_VERSION" >&2
	mkdir -p "$bin"
	export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
	# The module is github.com/prometheus/prometheus v0.3xx.y, which
	# stands for the server release 3.xx.y: stamp that into the binary.
	minor=${PROMETHEUS_VERSION#v0.}
	release="3.$((${minor%%.*} - 300)).${minor#*.}"
	pkg=github.com/prometheus/common/version
	ld="-s -w -X $pkg.Version=$release -X $pkg.Branch=release"
	ld="$ld -X $pkg.Revision=module-$PROMETHEUS_VERSION"
	w=$(mktemp -d)
	trap 'rm -rf "$w"' EXIT
	GOBIN="$w" go install -trimpath -ldflags "$ld" \
		"github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_VERSION"
	mv "$w/prometheus" "$bin/prometheus"
fi
echo "$bin/prometheus"
