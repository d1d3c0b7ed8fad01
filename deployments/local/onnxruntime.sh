#!/usr/bin/env bash
# onnxruntime.sh: make sure the ONNX Runtime shared library is in the cache and print its path.
#
# The library is the official Linux x64 build shipped inside the npm package
# onnxruntime-node (bin/napi-v6/linux/x64/libonnxruntime.so.1). `npm pack` only downloads
# the package tarball; it runs none of the package's install scripts.
#
# Result: $STREAMSCORE_CACHE/onnxruntime-<version>/libonnxruntime.so.1 (the path is
# printed on stdout; point ONNXRUNTIME_LIB at it).
set -euo pipefail

LOG_NAME=onnxruntime
# shellcheck source=deployments/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ORT_VERSION=1.30.0
# ONNXRUNTIME_VERSION picks another onnxruntime-node release (1.24.1 or newer:
# onnxruntime_go v1.27 asks for the C API of 1.24).
ORT_VERSION="${ONNXRUNTIME_VERSION:-$ORT_VERSION}"
DIR="$STREAMSCORE_CACHE/onnxruntime-$ORT_VERSION"
LIB="$DIR/libonnxruntime.so.1"
MEMBER="package/bin/napi-v6/linux/x64/libonnxruntime.so.1"

is_elf() { [[ -s "$1" && "$(head -c 4 "$1" | od -An -c | tr -d ' ')" == '177ELF' ]]; }

if is_elf "$LIB"; then
	echo "$LIB"
	exit 0
fi

case "$(uname -m)" in
x86_64 | amd64) ;;
*) die "only linux x64 is wired up; on $(uname -m) change the path $MEMBER to your platform's" ;;
esac

command -v npm >/dev/null || apt_install npm
command -v npm >/dev/null || die "npm is missing and could not be installed"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/onnxruntime.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

say "fetching onnxruntime-node@$ORT_VERSION with npm pack (no install scripts run)"
start=$SECONDS
if ! (cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >"$tmp/pack.out" 2>"$tmp/pack.err"); then
	show_log "$tmp/pack.err" 20
	die "npm pack onnxruntime-node@$ORT_VERSION failed (npm's output above)"
fi
tarball="$(find "$tmp" -maxdepth 1 -name "onnxruntime-node-*.tgz" | head -n 1)"
[[ -n "$tarball" ]] || die "npm pack finished but left no onnxruntime-node-*.tgz in $tmp"

if ! tar -xzf "$tarball" -C "$tmp" "$MEMBER"; then
	die "$MEMBER is not in $(basename "$tarball"); the package layout changed"
fi
is_elf "$tmp/$MEMBER" || die "$MEMBER from $(basename "$tarball") is not an ELF library"

mkdir -p "$DIR"
# Copy then rename, so a reader never sees a half-written library.
cp "$tmp/$MEMBER" "$LIB.tmp.$$"
chmod 0755 "$LIB.tmp.$$"
mv -f "$LIB.tmp.$$" "$LIB"
say "installed $LIB ($(du -h "$LIB" | cut -f1)) in $((SECONDS - start))s"
echo "$LIB"
