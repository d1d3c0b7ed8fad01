//go:build integration

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/internal/servicetest"
)

// eosSetup creates topics and a config in exactly_once mode with the
// delivery tests' short group timeouts.
// The transactional id is "<group>-replica-1" unless delivery names one.
func eosSetup(t *testing.T, prefix, delivery string) (brokers []string, in, out, dlq, group, cfg string) {
	t.Helper()
	brokers, in, out, dlq, group, cfg = setupTopics(t, prefix)
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(delivery, "transactional_id") {
		delivery += ", transactional_id: " + group + "-replica-1"
	}
	b = append(b, "delivery: {mode: exactly_once, "+delivery+"}\n"...)
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return
}

// envInt reads a positive integer from the environment, or def.
func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// consumeIDs runs `streamscore consume --isolation iso` over topic until it
// is idle for idle, and counts the event ids it prints.
func consumeIDs(t *testing.T, topic string, iso consumers.Isolation, idle time.Duration) map[string]int {
	t.Helper()
	cmd := exec.Command(binPath, "consume", "--topic", topic, "--from-beginning", "--timeout", idle.String(), "--isolation", string(iso))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("consume --topic %s: %v\n%s", topic, err, errb.String())
	}
	ids := map[string]int{}
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if m := idInValue.FindSubmatch(sc.Bytes()); m != nil {
			ids[string(m[1])]++
		}
	}
	return ids
}

// TestExactlyOnceSurvivesKill9 kills `run` (exactly_once) with SIGKILL at
// random moments while events arrive. A read_committed reader must see
// every input exactly once across the scored and dead-letter topics; a
// read_uncommitted reader sees what the aborted transactions wrote, for
// contrast. make chaos-eos runs it at 100,000 events and 10 kills
// (STREAMSCORE_EOS_EVENTS, STREAMSCORE_EOS_KILLS).
func TestExactlyOnceSurvivesKill9(t *testing.T) {
	n := envInt(t, "STREAMSCORE_EOS_EVENTS", 20000)
	kills := envInt(t, "STREAMSCORE_EOS_KILLS", 3)
	brokers, in, out, dlq, _, cfg := eosSetup(t, "it-eos-kill", "batches_per_transaction: 4, transaction_interval: 300ms")
	evs := makeEvents(n, 1000, 23)
	// Every 50th event cannot be decoded: dead letters are in the
	// transactions too.
	bad := 0
	for i := range evs {
		if i%50 == 7 {
			evs[i].value = bytes.Replace(evs[i].value, []byte(`"f03":`), []byte(`"f03":"x","g":`), 1)
			bad++
		}
	}
	committed := newCollectorWith(t, brokers, out, dlq, consumers.ReadCommitted)
	raw := newCollectorWith(t, brokers, out, dlq, consumers.ReadUncommitted)

	rate := float64(n) / 6 // the feed lasts about 6 s
	prodDone := make(chan struct{})
	go func() {
		defer close(prodDone)
		produceAt(t.Context(), t, brokers, in, evs, rate)
	}()
	start := time.Now()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
	cmd, _ := startRun(t, cfg)
	for k := range kills {
		// Kill at a random moment while the run scores: once it made
		// progress since it started, plus a random delay.
		base := raw.distinct()
		deadline := time.Now().Add(90 * time.Second)
		for raw.distinct() < min(base+n/(4*kills), n) && raw.distinct() < n {
			if time.Now().After(deadline) {
				t.Fatalf("run made no progress after restart %d", k)
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		t.Logf("kill -9 %d at %d committed outcomes (%d written)", k+1, committed.distinct(), raw.distinct())
		cmd, _ = startRun(t, cfg)
	}
	<-prodDone
	committed.waitDistinct(t, n, 3*time.Minute, 2*time.Second)
	elapsed := time.Since(start)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("last run did not exit 0 on SIGTERM: %v", err)
	}
	if miss := committed.missing(evs); len(miss) > 0 {
		t.Fatalf("%d events have no committed outcome, e.g. %v", len(miss), miss[:min(5, len(miss))])
	}
	dups := committed.duplicates(t)
	rawDups := raw.duplicates(t)
	committed.mu.Lock()
	deadN := 0
	for _, c := range committed.dead {
		deadN += c
	}
	committed.mu.Unlock()
	summary := fmt.Sprintf("exactly-once kill test: %d events (%d dead letters), %d kill -9 restarts in %s: read_committed saw %d duplicates and 0 lost; read_uncommitted saw %d duplicates",
		n, deadN, kills, elapsed.Round(time.Second), dups, rawDups)
	t.Log(summary)
	fmt.Fprintln(os.Stderr, summary)
	if dups != 0 {
		t.Fatalf("a read_committed reader saw %d duplicates", dups)
	}
	if deadN != bad {
		t.Fatalf("%d dead letters committed, want %d", deadN, bad)
	}

	// streamscore's own consume, read_committed, agrees.
	ids := consumeIDs(t, out, consumers.ReadCommitted, 3*time.Second)
	for id, c := range consumeIDs(t, dlq, consumers.ReadCommitted, 3*time.Second) {
		ids[id] += c
	}
	for _, e := range evs {
		if ids[e.id] != 1 {
			t.Fatalf("streamscore consume --isolation read_committed saw event %s %d times", e.id, ids[e.id])
		}
	}

	// And so does librdkafka, through confluent-kafka, when the
	// benchmark's virtualenv (make bench creates it) has it.
	py := filepath.Join(os.Getenv("STREAMSCORE_CACHE"), "bench-venv", "bin", "python")
	if os.Getenv("STREAMSCORE_CACHE") == "" || exec.Command(py, "-c", "import confluent_kafka").Run() != nil {
		t.Logf("confluent-kafka check skipped: no %s with confluent_kafka (make bench installs it)", py)
		return
	}
	for _, iso := range []string{"read_committed", "read_uncommitted"} {
		b, err := exec.Command(py, "-c", confluentCount, brokers[0], iso, out, dlq).CombinedOutput()
		if err != nil {
			t.Fatalf("confluent-kafka reader: %v\n%s", err, b)
		}
		var records, distinct int
		if _, err := fmt.Sscanf(string(b), "%d %d", &records, &distinct); err != nil {
			t.Fatalf("confluent-kafka reader printed %q", b)
		}
		t.Logf("confluent-kafka, isolation.level=%s: %d records, %d distinct events", iso, records, distinct)
		if iso == "read_committed" && (records != n || distinct != n) {
			t.Fatalf("confluent-kafka read_committed saw %d records of %d distinct events, want %d and %d", records, distinct, n, n)
		}
	}
}

// confluentCount reads topics (argv[3:]) from the start with
// isolation.level argv[2] until idle, and prints how many records and
// distinct event ids it saw.
const confluentCount = `
import re, sys, time
from confluent_kafka import Consumer
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "eos-check-%d" % time.time_ns(),
              "auto.offset.reset": "earliest", "enable.auto.commit": False, "isolation.level": sys.argv[2]})
c.subscribe(sys.argv[3:])
pat = re.compile(rb'"event_id":"([^"]+)"')
records, ids, last = 0, set(), time.time()
while time.time() - last < 5:
    m = c.poll(0.5)
    if m is None or m.error():
        continue
    last = time.time()
    records += 1
    g = pat.search(m.value() or b"")
    if g:
        ids.add(g.group(1))
c.close()
print(records, len(ids))
`

// TestExactlyOnceZombieIsFenced pauses a replica (SIGSTOP) and starts its
// successor with the same transactional id: the successor's
// InitProducerID aborts the paused one's open transaction and bumps the
// epoch, and the group moves the partitions once the paused member's
// session expires. Resumed, the zombie's next transactional request is
// refused (PRODUCER_FENCED or INVALID_PRODUCER_EPOCH): it exits 1 saying
// so, and nothing it wrote is visible to read_committed readers.
func TestExactlyOnceZombieIsFenced(t *testing.T) {
	const n = 30000
	brokers, in, out, dlq, _, cfg := eosSetup(t, "it-eos-zombie", "batches_per_transaction: 2, transaction_interval: 200ms")
	evs := makeEvents(n, 1000, 29)
	committed := newCollectorWith(t, brokers, out, dlq, consumers.ReadCommitted)
	prodDone := make(chan struct{})
	go func() {
		defer close(prodDone)
		produceAt(t.Context(), t, brokers, in, evs, 1500)
	}()
	zombie, zlogs := startRun(t, cfg)
	servicetest.WaitAssigned(t, 60*time.Second, zlogs)
	for committed.distinct() < 2000 {
		time.Sleep(10 * time.Millisecond)
	}
	if err := zombie.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Logf("replica paused at %d committed outcomes", committed.distinct())
	succ, slogs := startRun(t, cfg)
	servicetest.WaitAssigned(t, 60*time.Second, slogs)
	base := committed.distinct()
	for committed.distinct() < base+2000 {
		time.Sleep(10 * time.Millisecond)
	}
	if err := zombie.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- zombie.Wait() }()
	select {
	case err := <-exited:
		if err == nil || !strings.Contains(zlogs.String(), "fenced") {
			t.Fatalf("resumed zombie exited with %v; want exit 1 naming the fencing:\n%s", err, servicetest.Tail(zlogs.String(), 3000))
		}
		for _, l := range strings.Split(zlogs.String(), "\n") {
			if strings.Contains(l, "fenced") {
				t.Logf("resumed zombie exited (%v): %s", err, servicetest.Tail(l, 400))
				break
			}
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("resumed zombie still runs 90 s later:\n%s", servicetest.Tail(zlogs.String(), 3000))
	}
	<-prodDone
	committed.waitDistinct(t, n, 3*time.Minute, 2*time.Second)
	succ.Process.Signal(syscall.SIGTERM)
	if err := succ.Wait(); err != nil {
		t.Errorf("successor did not exit 0 on SIGTERM: %v", err)
	}
	if miss := committed.missing(evs); len(miss) > 0 {
		t.Fatalf("%d events lost", len(miss))
	}
	if d := committed.duplicates(t); d != 0 {
		t.Fatalf("read_committed saw %d duplicates after the zombie resumed", d)
	}
}

// TestExactlyOnceRebalanceAfterACrash runs two replicas with their own
// transactional ids and kills one with SIGKILL mid-stream. The survivor
// takes its partitions over once its session expires and scores again
// from the last committed offsets; the dead replica's open transaction
// holds read_committed readers back (the last stable offset) until the
// broker aborts it after delivery.transaction_timeout. Every input is then
// seen exactly once.
func TestExactlyOnceRebalanceAfterACrash(t *testing.T) {
	const n = 40000
	brokers, in, out, dlq, _, cfg := eosSetup(t, "it-eos-rebal", "batches_per_transaction: 4, transaction_interval: 300ms, transaction_timeout: 8s, transactional_id: ${STREAMSCORE_TEST_REPLICA}")
	evs := makeEvents(n, 1000, 31)
	committed := newCollectorWith(t, brokers, out, dlq, consumers.ReadCommitted)
	raw := newCollectorWith(t, brokers, out, dlq, consumers.ReadUncommitted)
	prodDone := make(chan struct{})
	go func() {
		defer close(prodDone)
		produceAt(t.Context(), t, brokers, in, evs, 4000)
	}()
	a, logsA := startRunEnv(t, cfg, "STREAMSCORE_TEST_REPLICA=replica-a")
	b, logsB := startRunEnv(t, cfg, "STREAMSCORE_TEST_REPLICA=replica-b")
	servicetest.WaitAssigned(t, 60*time.Second, logsA, logsB)
	for committed.distinct() < n/4 {
		time.Sleep(10 * time.Millisecond)
	}
	killed := time.Now()
	if err := a.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	a.Wait()
	t.Logf("replica a killed at %d committed outcomes (%d written)", committed.distinct(), raw.distinct())
	<-prodDone
	committed.waitDistinct(t, n, 3*time.Minute, 2*time.Second)
	t.Logf("all %d committed %s after the kill", n, time.Since(killed).Round(100*time.Millisecond))
	b.Process.Signal(syscall.SIGTERM)
	if err := b.Wait(); err != nil {
		t.Errorf("replica b did not exit 0 on SIGTERM: %v", err)
	}
	if miss := committed.missing(evs); len(miss) > 0 {
		t.Fatalf("%d events lost", len(miss))
	}
	if d := committed.duplicates(t); d != 0 {
		t.Fatalf("read_committed saw %d duplicates after the rebalance", d)
	}
	t.Logf("rebalance after a crash: read_committed 0 duplicates, 0 lost; read_uncommitted %d duplicates", raw.duplicates(t))
}

// TestExactlyOnceBrokerRestart restarts the broker while `run`
// (exactly_once) scores, and checks that a read_committed reader still
// sees every event exactly once. It does not pass yet: every event arrives
// (none lost), but a few hundred are seen twice (484 of 40,000 in the last
// run), with no transaction aborted; see the README. It restarts the
// shared broker and fails, so it runs only on request:
// STREAMSCORE_ALLOW_BROKER_RESTART=1 STREAMSCORE_EOS_BROKER_RESTART=1.
func TestExactlyOnceBrokerRestart(t *testing.T) {
	script := os.Getenv("STREAMSCORE_KAFKA_SCRIPT")
	if os.Getenv("STREAMSCORE_ALLOW_BROKER_RESTART") != "1" || os.Getenv("STREAMSCORE_EOS_BROKER_RESTART") != "1" || script == "" {
		t.Skip("restarts the shared broker and is known to fail (duplicates after a broker restart, see the README): set STREAMSCORE_ALLOW_BROKER_RESTART=1 STREAMSCORE_EOS_BROKER_RESTART=1 to run it")
	}
	const n = 40000
	brokers, in, out, dlq, _, cfg := eosSetup(t, "it-eos-restart", "batches_per_transaction: 2")
	evs := makeEvents(n, 1000, 37)
	committed := newCollectorWith(t, brokers, out, dlq, consumers.ReadCommitted)
	prodDone := make(chan struct{})
	go func() {
		defer close(prodDone)
		produceAt(t.Context(), t, brokers, in, evs, 4000)
	}()
	cmd, logs := startRun(t, cfg)
	t.Cleanup(func() {
		if t.Failed() {
			p := filepath.Join(os.TempDir(), "eos-restart-run.log")
			os.WriteFile(p, []byte(logs.String()), 0o644)
			t.Logf("run's logs: %s", p)
		}
	})
	for committed.distinct() < n/5 {
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	if b, err := exec.Command(script, "restart-broker").CombinedOutput(); err != nil {
		t.Fatalf("restarting the broker: %v\n%s", err, b)
	}
	t.Logf("broker restarted in %s at %d committed outcomes", time.Since(start).Round(time.Millisecond), committed.distinct())
	<-prodDone
	committed.waitDistinct(t, n, 2*time.Minute, 2*time.Second)
	t.Logf("all %d committed %s after the restart began; %d aborted transactions", n, time.Since(start).Round(100*time.Millisecond), strings.Count(logs.String(), "aborting transaction"))
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run did not exit 0 after the broker came back: %v", err)
	}
	if miss := committed.missing(evs); len(miss) > 0 {
		t.Fatalf("%d events lost", len(miss))
	}
	if d := committed.duplicates(t); d != 0 {
		for _, l := range duplicateCopies(t, brokers, out, 10) {
			t.Log(l)
		}
		t.Fatalf("read_committed saw %d duplicates after a broker restart", d)
	}
}

// inputAt finds the input partition and offset in a scored event.
var inputAt = regexp.MustCompile(`"partition":(\d+),"offset":(\d+)`)

// duplicateCopies reads topic from the start, read_committed, in a fresh
// pass (so a reader's own refetch cannot count twice), and describes up to
// max events found more than once: where each copy is in topic, and which
// input partition and offset it came from. It tells duplicates written by
// two committed transactions from duplicates a reader made up.
func duplicateCopies(t *testing.T, brokers []string, topic string, max int) []string {
	t.Helper()
	conn, err := kafka.Dial("tcp", brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	copies := map[string][]string{}
	var order []string
	for _, p := range parts {
		r, err := consumers.OpenPartition(consumers.PartitionReaderConfig{Brokers: brokers, Topic: topic, Partition: p.ID, Offset: kafka.FirstOffset, MaxWait: time.Second, Isolation: consumers.ReadCommitted})
		if err != nil {
			t.Fatal(err)
		}
		for {
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			m, err := r.FetchMessage(ctx)
			cancel()
			if err != nil {
				break
			}
			sm := idInValue.FindSubmatch(m.Value)
			if sm == nil {
				continue
			}
			id := string(sm[1])
			where := fmt.Sprintf("%s/%d@%d", topic, m.Partition, m.Offset)
			if in := inputAt.FindSubmatch(m.Value); in != nil {
				where += fmt.Sprintf(" from input %s@%s", in[1], in[2])
			}
			if len(copies[id]) == 0 {
				order = append(order, id)
			}
			copies[id] = append(copies[id], where)
		}
		r.Close()
	}
	var lines []string
	n := 0
	for _, id := range order {
		if len(copies[id]) > 1 {
			n++
			if len(lines) < max {
				lines = append(lines, fmt.Sprintf("event %s written %d times: %s", id, len(copies[id]), strings.Join(copies[id], "; ")))
			}
		}
	}
	return append(lines, fmt.Sprintf("a fresh read_committed pass over %s finds %d events more than once", topic, n))
}
