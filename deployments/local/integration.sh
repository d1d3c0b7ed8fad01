#!/usr/bin/env bash
# integration.sh runs the unit and integration tests of every package, with the
# race detector, in three processes at once: all packages but cmd/streamscore,
# and cmd/streamscore's tests in two shards. The cmd tests drive the built
# binary against the broker and spend most of their time waiting on it, so two
# shards finish in a little over half the time of one. Each test uses its own
# topics, groups and (where it stops one) its own Redis, so the shards do not
# see each other. cmd/streamscore's test binary and the streamscore binary its
# tests drive are built once, before the shards start. Tests that restart the
# shared broker skip here; make test runs them alone afterwards
# (test-broker-restart).
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
failed=()
# shellcheck disable=SC2086
$GO test -race -count=1 -tags integration -timeout "$TIMEOUT" $pkgs >"$out/packages.log" 2>&1 &
names[$!]=packages
# The cmd tests' binary and the streamscore binary they drive are built once
# for both shards (two `go test` runs would each compile and link them, and
# on a cold build cache every dependency too, beside the packages' build).
if $GO test -race -c -tags integration -o "$out/cmd.test" ./cmd/streamscore >"$out/cmd-build.log" 2>&1 &&
	$GO build -o "$out/streamscore" ./cmd/streamscore >>"$out/cmd-build.log" 2>&1; then
	echo "integration: cmd/streamscore's tests built after $(($(date +%s) - start)) s"
	for shard in a b; do
		sel=-test.run="$SHARD_A"
		[ "$shard" = b ] && sel=-test.skip="$SHARD_A"
		(cd cmd/streamscore && STREAMSCORE_TEST_BINARY="$PWD/../../$out/streamscore" \
			"../../$out/cmd.test" -test.v=true -test.timeout="$TIMEOUT" "$sel") >"$out/cmd-$shard.log" 2>&1 &
		names[$!]=cmd-$shard
	done
	echo "integration: running packages, cmd-a and cmd-b at once (logs in $out)"
else
	echo "integration: building cmd/streamscore's tests FAILED after $(($(date +%s) - start)) s"
	failed+=(cmd-build)
fi

for _ in "${!names[@]}"; do
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

rm -f "$out/cmd.test" "$out/streamscore"
grep -hE '^(ok|FAIL|---|panic)' "$out"/packages.log "$out"/cmd-a.log "$out"/cmd-b.log 2>/dev/null | grep -vE '^--- (PASS|SKIP)' || true
for name in "${failed[@]}"; do
	echo "===== $name: $out/$name.log"
	cat "$out/$name.log"
done
[ "${#failed[@]}" -eq 0 ]
