#!/usr/bin/env bash
# integration.sh runs the unit and integration tests of every package, with the
# race detector, in four processes at once: all packages but cmd/streamscore,
# and cmd/streamscore's tests in three shards. The cmd tests drive the built
# binary against the broker and spend most of their time waiting on it, so
# the shards overlap their waits. Each test uses its own
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
# The shards, about a third of cmd/streamscore's test time each: A the
# delivery, exactly-once and drift tests; C the deployment, browser, shared
# HTTP batching, poison and typed-model tests; B the rest.
SHARD_A='^(TestCrash.*|TestRebalance.*|TestSIGTERM.*|TestBadInput.*|TestExactlyOnce.*|TestDrift.*)$'
SHARD_C='^(Test.*MatchTheBinary.*|Test.*MatchesTheBinary.*|TestConsoleInBrowser|TestHTTPScoringSharesBatches|TestPoisonOutputNeverStalls|TestTyped.*)$'

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
$GO test -race -count=1 -tags integration -timeout "$TIMEOUT" -run "$SHARD_A" ./cmd/streamscore >"$out/cmd-a.log" 2>&1 &
names[$!]=cmd-a
$GO test -race -count=1 -tags integration -timeout "$TIMEOUT" -skip "$SHARD_A|$SHARD_C" ./cmd/streamscore >"$out/cmd-b.log" 2>&1 &
names[$!]=cmd-b
$GO test -race -count=1 -tags integration -timeout "$TIMEOUT" -run "$SHARD_C" ./cmd/streamscore >"$out/cmd-c.log" 2>&1 &
names[$!]=cmd-c
echo "integration: running packages, cmd-a, cmd-b and cmd-c at once (logs in $out)"

failed=()
for _ in 1 2 3 4; do
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

grep -hE '^(ok|FAIL|---|panic)' "$out"/packages.log "$out"/cmd-a.log "$out"/cmd-b.log "$out"/cmd-c.log | grep -v '^--- PASS' || true
for name in "${failed[@]}"; do
	echo "===== $name: $out/$name.log"
	cat "$out/$name.log"
done
[ "${#failed[@]}" -eq 0 ]
