//go:build integration

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/internal/servicetest"
)

// chaosAction is one scheduled fault.
type chaosAction struct {
	at   time.Duration
	kind string // kill, broker, redis, poison
}

// TestBrokerRestartChaos runs a live feed through `run` (drift on, so Redis
// is on the path) while a random, printed schedule kills the scorer with
// SIGKILL, restarts the broker, restarts Redis in place and injects poison
// records, for STREAMSCORE_CHAOS_DURATION (default 2m; `make chaos` runs a
// longer one). Then it accounts for every input: each id exactly once in
// scored ∪ dead letters, duplicates only within the in-flight bound per
// fault, and every poison record in the dead-letter topic.
func TestBrokerRestartChaos(t *testing.T) {
	script := os.Getenv("STREAMSCORE_KAFKA_SCRIPT")
	if os.Getenv("STREAMSCORE_ALLOW_BROKER_RESTART") != "1" || script == "" {
		t.Skip("restarts the shared broker: runs alone, from make test's last step (STREAMSCORE_ALLOW_BROKER_RESTART=1)")
	}
	servicetest.Env(t, "STREAMSCORE_REDIS")
	duration := 2 * time.Minute
	if v := os.Getenv("STREAMSCORE_CHAOS_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("STREAMSCORE_CHAOS_DURATION: %v", err)
		}
		duration = d
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 5))
	var schedule []chaosAction
	kinds := []string{"kill", "broker", "redis", "poison"}
	for at := 8 * time.Second; at < duration-15*time.Second; at += time.Duration(8+rng.IntN(12)) * time.Second {
		schedule = append(schedule, chaosAction{at: at, kind: kinds[rng.IntN(len(kinds))]})
	}
	var plan strings.Builder
	fmt.Fprintf(&plan, "chaos schedule (seed %d, %s):", seed, duration)
	for _, a := range schedule {
		fmt.Fprintf(&plan, " %s@%s", a.kind, a.at)
	}
	fmt.Println(plan.String())

	brokers := strings.Split(servicetest.Env(t, "STREAMSCORE_BROKERS"), ",")
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	in, out, dlq, group := uniqueTopics("it-chaos")
	// driftConfig's consumer.max_wait (100 ms) is also kafka-go's fetch
	// deadline: on a loaded machine fetches then time out over and over
	// after a broker restart, so the chaos run keeps the default (1 s).
	cfg := driftConfig(t, in, out, dlq, group, driftBaseline(t), "chaos"+strings.TrimPrefix(in, "it-chaos"), "", "")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fixed := strings.Replace(string(b), "consumer: {max_wait: 100ms, ", "consumer: {", 1)
	if fixed == string(b) {
		t.Fatal("driftConfig has changed: update the chaos test's consumer settings")
	}
	if err := os.WriteFile(cfg, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(binPath, "topics", "create", "--config", cfg).CombinedOutput(); err != nil {
		t.Fatalf("topics create: %v\n%s", err, b)
	}
	col := newCollector(t, brokers, out, dlq)

	const rate = 1500.0
	evs := makeEvents(int(rate*duration.Seconds()), 2000, seed)
	prodDone := make(chan struct{})
	go func() {
		defer close(prodDone)
		produceThrough(t, brokers, in, evs, rate, duration+5*time.Minute)
	}()

	cmd, _ := startRun(t, cfg)
	start := time.Now()
	var poisonIDs []string
	faults := 0
	redisScript := filepath.Join(repoRoot(t), "deployments/local/redis.sh")
	for _, a := range schedule {
		if d := time.Until(start.Add(a.at)); d > 0 {
			time.Sleep(d)
		}
		t0 := time.Now()
		switch a.kind {
		case "kill":
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			cmd, _ = startRun(t, cfg)
			faults++
		case "broker":
			if b, err := exec.Command(script, "restart-broker").CombinedOutput(); err != nil {
				t.Fatalf("restarting the broker: %v\n%s", err, b)
			}
			faults++
		case "redis":
			if b, err := exec.Command(redisScript, "restart").CombinedOutput(); err != nil {
				t.Fatalf("restarting Redis: %v\n%s", err, b)
			}
		case "poison":
			// A Kafka key too large for any scored event or whole dead
			// letter: it must end as a truncated too_large dead letter.
			w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: in, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond, MaxAttempts: 20}
			var msgs []kafka.Message
			for i := range 3 {
				id := fmt.Sprintf("poison-%d-%d", len(poisonIDs), i)
				poisonIDs = append(poisonIDs, id)
				v := fmt.Appendf(nil, `{"event_id":%q,"user_id":"p","ts":%d`, id, time.Now().UnixMilli())
				for f := range 24 {
					v = fmt.Appendf(v, `,"f%02d":0`, f)
				}
				msgs = append(msgs, kafka.Message{Key: []byte(strings.Repeat("k", 1000050)), Value: append(v, '}')})
			}
			if err := w.WriteMessages(t.Context(), msgs...); err != nil {
				t.Errorf("writing poison records: %v", err)
			}
			w.Close()
		}
		fmt.Printf("chaos: %s at %s took %s; %d outcomes so far\n", a.kind, time.Since(start).Round(time.Second), time.Since(t0).Round(100*time.Millisecond), col.distinct())
	}
	<-prodDone
	want := len(evs) + len(poisonIDs)
	col.waitDistinct(t, want, 5*time.Minute, 3*time.Second)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("run did not exit 0 after the chaos: %v", err)
	}

	miss := col.missing(evs)
	dups := col.duplicates(t)
	col.mu.Lock()
	scored, dead := 0, 0
	for _, n := range col.scored {
		scored += n
	}
	for _, n := range col.dead {
		dead += n
	}
	poisonOK := 0
	for _, id := range poisonIDs {
		if col.dead[id] > 0 && col.reasons[id] == "too_large" && col.scored[id] == 0 {
			poisonOK++
		}
	}
	col.mu.Unlock()
	bound := (faults + 1) * inFlightWindow
	fmt.Printf("chaos accounting: %d inputs (%d events, %d poison); %d scored records, %d dead letters; %d lost; %d duplicates (bound %d for %d faults); %d of %d poison records dead-lettered as too_large\n",
		want, len(evs), len(poisonIDs), scored, dead, len(miss), dups, bound, faults, poisonOK, len(poisonIDs))
	if len(miss) > 0 {
		t.Errorf("%d inputs have no outcome, e.g. %v", len(miss), miss[:min(5, len(miss))])
	}
	if dups > bound {
		t.Errorf("%d duplicates, over the bound %d", dups, bound)
	}
	if poisonOK != len(poisonIDs) {
		t.Errorf("%d of %d poison records dead-lettered as too_large", poisonOK, len(poisonIDs))
	}
}

// produceThrough writes evs at rate events/s like produceAt, but retries
// through broker restarts of any length, up to limit in all.
func produceThrough(t *testing.T, brokers []string, topic string, evs []inputEvent, rate float64, limit time.Duration) {
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll, BatchTimeout: 2 * time.Millisecond, BatchSize: 1000, MaxAttempts: 3}
	defer w.Close()
	start := time.Now()
	const chunk = 500
	for i := 0; i < len(evs); i += chunk {
		msgs := make([]kafka.Message, 0, chunk)
		for _, e := range evs[i:min(i+chunk, len(evs))] {
			msgs = append(msgs, kafka.Message{Key: []byte(e.key), Value: e.value})
		}
		for {
			err := w.WriteMessages(ctx, msgs...)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				t.Errorf("producing: gave up after %s: %v", limit, err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		if d := time.Until(start.Add(time.Duration(float64(i+chunk) / rate * float64(time.Second)))); d > 0 {
			time.Sleep(d)
		}
	}
}
