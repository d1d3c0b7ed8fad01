# shellcheck shell=bash
# Shared helpers for the scripts in deployments/local/. Source it; do not run it.
#
# It sets:
#   REPO_ROOT          absolute path of the repository
#   STREAMSCORE_CACHE  downloads kept across runs (default ~/.cache/streamscore)
#   STREAMSCORE_RUN    per-checkout run state: pid files, data, logs, env (default <repo>/.run)

LOCAL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$LOCAL_DIR/../.." && pwd)"

STREAMSCORE_CACHE="${STREAMSCORE_CACHE:-$HOME/.cache/streamscore}"
STREAMSCORE_RUN="${STREAMSCORE_RUN:-$REPO_ROOT/.run}"
mkdir -p "$STREAMSCORE_CACHE" "$STREAMSCORE_RUN"
STREAMSCORE_CACHE="$(cd "$STREAMSCORE_CACHE" && pwd)"
STREAMSCORE_RUN="$(cd "$STREAMSCORE_RUN" && pwd)"
export STREAMSCORE_CACHE STREAMSCORE_RUN

# The name shown in front of every message, e.g. "kafka".
LOG_NAME="${LOG_NAME:-$(basename "$0" .sh)}"

# say prints a progress message on stderr, so stdout stays for results.
say() { printf '%s: %s\n' "$LOG_NAME" "$*" >&2; }

# die prints an error on stderr and exits 1.
die() { printf '%s: error: %s\n' "$LOG_NAME" "$*" >&2; exit 1; }

# show_log prints the last lines of a log file on stderr, framed, when it exists.
show_log() {
	local file="$1" lines="${2:-40}"
	if [[ -s "$file" ]]; then
		printf '%s: ---- last %s lines of %s ----\n' "$LOG_NAME" "$lines" "$file" >&2
		tail -n "$lines" "$file" >&2
		printf '%s: ---- end of %s ----\n' "$LOG_NAME" "$file" >&2
	fi
}

# apt_install installs Debian packages, running apt-get update first when the
# package lists are empty or the first attempt fails.
apt_install() {
	command -v apt-get >/dev/null || die "apt-get not found; install these packages by hand: $*"
	local sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null || die "need root (or sudo) to install: $*"
		sudo=(sudo)
	fi
	say "installing Debian packages: $*"
	export DEBIAN_FRONTEND=noninteractive
	if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
		"${sudo[@]}" apt-get update -qq || die "apt-get update failed"
	fi
	if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >&2; then
		"${sudo[@]}" apt-get update -qq || die "apt-get update failed"
		"${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >&2 || die "apt-get install $* failed"
	fi
}

# port_in_use reports whether something accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# free_port prints a TCP port on 127.0.0.1 that nothing listens on, outside the
# kernel's ephemeral range (so outgoing connections will not take it first) and
# different from the ports given as arguments.
free_port() {
	local port tries taken
	for ((tries = 0; tries < 200; tries++)); do
		port=$((20000 + RANDOM % 12000))
		taken=0
		for p in "$@"; do [[ "$p" == "$port" ]] && taken=1; done
		((taken)) && continue
		port_in_use "$port" && continue
		if command -v ss >/dev/null && ss -Htan "sport = :$port" 2>/dev/null | grep -q .; then
			continue
		fi
		echo "$port"
		return 0
	done
	die "no free TCP port found on 127.0.0.1"
}

# pid_alive reports whether the pid in file $1 is a live process whose command
# line contains $2 (so a recycled pid is never taken for ours). It prints the pid.
pid_alive() {
	local file="$1" want="$2" pid
	[[ -s "$file" ]] || return 1
	pid="$(<"$file")"
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	[[ -r "/proc/$pid/cmdline" ]] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$want" || return 1
	echo "$pid"
}

# stop_pid sends SIGTERM to pid $1, waits up to $2 seconds (default 20), then SIGKILLs it.
stop_pid() {
	local pid="$1" grace="${2:-20}" i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < grace * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		# A zombie child of this shell counts as gone.
		[[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]] && return 0
		sleep 0.1
	done
	say "pid $pid still running after ${grace}s; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	die "pid $pid did not exit after SIGKILL"
}

# lock takes an exclusive lock named $1 on file descriptor 9 for the rest of the
# script, so two invocations (say, parallel test packages) never start or stop a
# service at once. A server started while holding it must be started with 9>&-,
# or it would hold the lock for its whole life.
lock() {
	local file="$STREAMSCORE_RUN/$1.lock"
	exec 9>"$file"
	flock -w 180 9 || die "timed out after 180s waiting for lock $file (another $LOG_NAME command is running)"
}

# write_log4j writes, into the folder $1, the broker's log4j2 configuration
# (INFO to the file $2, noisy request logs at WARN) and the command-line
# tools' (warnings and errors on stderr).
write_log4j() {
	local dir="$1" log="$2"
	mkdir -p "$dir"
	cat >"$dir/log4j2.properties" <<EOF
# Broker logging: everything at INFO to server.log; noisy request logs at WARN.
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $log
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.request.name = kafka.request.logger
logger.request.level = warn
logger.network.name = kafka.network.RequestChannel\$
logger.network.level = warn
EOF
	cat >"$dir/tools-log4j2.properties" <<'EOF'
# Command-line tools: warnings and errors only, on stderr.
status = warn
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = stderr
EOF
}
