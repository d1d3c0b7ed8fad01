#!/usr/bin/env bash
# chromium.sh: install Debian's chromium (for the console's browser test) when it is
# missing, and print the path of the binary.
#
#   chromium.sh          install if missing; prints e.g. /usr/bin/chromium
#
# The console test (cmd/streamscore, TestConsoleInBrowser) finds the browser through
# $STREAMSCORE_CHROMIUM, which up.sh writes into .run/env from this script's output.
set -euo pipefail

LOG_NAME=chromium
# shellcheck source=deployments/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

find_chromium() {
	local c
	for c in chromium chromium-browser google-chrome; do
		if command -v "$c" >/dev/null; then
			command -v "$c"
			return 0
		fi
	done
	return 1
}

if ! bin="$(find_chromium)"; then
	lock chromium
	if ! bin="$(find_chromium)"; then
		apt_install chromium fonts-dejavu-core
		bin="$(find_chromium)" || die "chromium is still missing after apt-get install"
	fi
fi
echo "$bin"
