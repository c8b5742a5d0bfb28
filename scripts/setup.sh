#!/usr/bin/env bash
# Install what faultline needs to build and test on a Debian 12 machine,
# and build the real test components into the user's cache directory.
# Idempotent and quiet when everything is already in place: a second run
# installs nothing and builds nothing.
#
# Prints the path of the cache's environment file, which the Makefile and
# the tests read (FAULTLINE_BIN, FAULTLINE_VENV, FAULTLINE_PROMETHEUS).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${FAULTLINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/faultline}
mkdir -p "$cache"

log() { printf 'setup: %s\n' "$*" >&2; }

# Debian packages: C libraries as -dev packages, the tools the build and
# the tests call.
DEBS="build-essential pkg-config clang clang-format llvm
libyaml-dev libjson-c-dev libcurl4-openssl-dev libssl-dev libxml2-dev
libwebsockets-dev libcmocka-dev libmnl-dev libnftnl-dev libnetfilter-queue-dev
iproute2 nftables iptables openssl xxd libxml2-utils libclang-rt-14-dev
chromium lua5.1 lua-cjson"

missing=()
for p in $DEBS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || { log "need root to install: ${missing[*]}"; exit 1; }
	log "installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python test environment, keyed by the requirements file's content.
req="$here/../tests/requirements.txt"
key=$(sha256sum "$req" | cut -c1-12)
venv="$cache/venv-$key"
if [ ! -x "$venv/bin/pytest" ] || [ ! -f "$venv/.complete" ]; then
	log "creating Python environment $venv"
	rm -rf "$venv"
	python3 -m venv "$venv"
	"$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
	touch "$venv/.complete"
fi

bin=$("$here/build-go-tools.sh")
# Prometheus has its own cache folder (keyed by its version), so that a
# new Prometheus never rebuilds the Kubernetes tools.
prometheus=$("$here/build-prometheus.sh")

envfile="$cache/env.sh"
tmp="$envfile.$$"
{
	echo "export FAULTLINE_BIN=$bin"
	echo "export FAULTLINE_VENV=$venv"
	echo "export FAULTLINE_PROMETHEUS=$prometheus"
} > "$tmp"
mv "$tmp" "$envfile"
echo "$envfile"
