#!/usr/bin/env bash
# integration.sh runs the unit and integration tests of every package, with the
# race detector, in three processes at once: all packages but cmd/streamscore,
# and cmd/streamscore's tests in two shards. The cmd tests drive the built
# binary against the broker and spend most of their time waiting on it, so two
# shards finish in a little over half the time of one. Each test uses its own
# topics, groups and (where it stops one) its own Redis, so the shards do not
# see each other. Tests that restart the shared broker skip here; make test runs
# them alone afterwards (test-broker-restart).
#
# Each process writes .run/test-output/integration/<name>.log; a line is printed
# as each one finishes, then the logs of those that failed. The exit status is
# non-zero if any failed.
#
# Needs the variables of .run/env (make test sources them).
set -u
cd "$(dirname "$0")/../.."

GO=${GO:-go}
TIMEOUT=${INTEGRATION_TIMEOUT:-20m}
# Shard A: the delivery, exactly-once, drift, readiness and deployment tests
# (about half of cmd/streamscore's test time). Shard B: the rest. The shards
# run with -v, so each test's time is in its log for rebalancing them.
SHARD_A='^(TestCrash.*|TestRebalance.*|TestSIGTERM.*|TestBadInput.*|TestExactlyOnce.*|TestDrift.*|Test.*MatchesTheBinary.*|TestConsoleInBrowser|TestReadinessTellsTheTruth)$'

if [ -z "${STREAMSCORE_BROKERS:-}" ]; then
	echo "integration.sh: STREAMSCORE_BROKERS is not set; run 'make test', or 'make up && source .run/env' first" >&2
	exit 1
fi

out=.run/test-output/integration
mkdir -p "$out"
rm -f "$out"/*.log

pkgs=$($GO list ./... | grep -v '/cmd/streamscore$')
start=$(date +%s)
declare -A names
# shellcheck disable=SC2086
$GO test -race -count=1 -tags integration -timeout "$TIMEOUT" $pkgs >"$out/packages.log" 2>&1 &
names[$!]=packages
$GO test -race -count=1 -v -tags integration -timeout "$TIMEOUT" -run "$SHARD_A" ./cmd/streamscore >"$out/cmd-a.log" 2>&1 &
names[$!]=cmd-a
$GO test -race -count=1 -v -tags integration -timeout "$TIMEOUT" -skip "$SHARD_A" ./cmd/streamscore >"$out/cmd-b.log" 2>&1 &
names[$!]=cmd-b
echo "integration: running packages, cmd-a and cmd-b at once (logs in $out)"

failed=()
for _ in 1 2 3; do
	pid=
	wait -n -p pid
	rc=$?
	name=${names[$pid]}
	if [ "$rc" -eq 0 ]; then
		echo "integration: $name passed after $(($(date +%s) - start)) s"
	else
		echo "integration: $name FAILED (exit $rc) after $(($(date +%s) - start)) s"
		failed+=("$name")
	fi
done

grep -hE '^(ok|FAIL|---|panic)' "$out"/packages.log "$out"/cmd-a.log "$out"/cmd-b.log | grep -vE '^--- (PASS|SKIP)' || true
for name in "${failed[@]}"; do
	echo "===== $name: $out/$name.log"
	cat "$out/$name.log"
done
[ "${#failed[@]}" -eq 0 ]
