//go:build integration

package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/internal/servicetest"
)

// healthConfig is a scorer config with a short stall window.
func healthConfig(t *testing.T, brokers, in, out, dlq, group, extra string) string {
	root := repoRoot(t)
	return writeConfig(t, fmt.Sprintf(`
brokers: [%q]
group: %s
topics: {input: %s, output: %s, dlq: %s, partitions: 2}
schema: %s/testdata/linear.schema.yaml
model: {path: %s/testdata/models/linear.onnx, name: linear, version: "1"}
batch: {max_rows: 512, max_wait: 10ms}
consumer: {session_timeout: 6s, heartbeat_interval: 1s, rebalance_timeout: 10s, revoke_timeout: 5s}
health: {stall_after: 3s, fail_after: 6s, interval: 500ms}
http: {addr: "127.0.0.1:0"}
log: {format: json}
%s`, brokers, group, in, out, dlq, root, root, extra))
}

// probe returns the status code and body of GET http://addr/path.
func httpGet(addr, path string) (int, string) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitProbe waits until GET path answers code with a body containing want.
func waitProbe(t *testing.T, addr, path string, code int, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var got int
	var body string
	for time.Now().Before(deadline) {
		if got, body = httpGet(addr, path); got == code && strings.Contains(body, want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s answered %d %q for %s, want %d with %q", path, got, body, timeout, code, want)
}

func setTopicConfig(t *testing.T, brokers []string, topic, key, value string) {
	t.Helper()
	if err := consumers.SetTopicConfig(t.Context(), &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}, topic, [][2]string{{key, value}}); err != nil {
		t.Fatal(err)
	}
}

func TestReadinessTellsTheTruth(t *testing.T) {
	brokersEnv := servicetest.Env(t, "STREAMSCORE_BROKERS")
	brokers := strings.Split(brokersEnv, ",")
	servicetest.Env(t, "ONNXRUNTIME_LIB")

	t.Run("missing output topic fails at start", func(t *testing.T) {
		in, out, dlq, group := uniqueTopics("it-ready-out")
		createTopicsWith(t, brokers, nil, in, dlq)
		cmd := exec.Command(binPath, "run", "--config", healthConfig(t, brokers[0], in, out, dlq, group, ""))
		b, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(b), "topic "+out+" does not exist") || !strings.Contains(string(b), "streamscore topics create") {
			t.Fatalf("run = %v, want exit 1 naming %s and `streamscore topics create`:\n%s", err, out, servicetest.Tail(string(b), 2000))
		}
	})

	t.Run("missing input topic, then created", func(t *testing.T) {
		in, out, dlq, group := uniqueTopics("it-ready-in")
		createTopicsWith(t, brokers, nil, out, dlq)
		cmd, logs := startRun(t, healthConfig(t, brokers[0], in, out, dlq, group, ""))
		addr := servicetest.WaitAddr(t, logs, "http_addr", 30*time.Second)
		waitProbe(t, addr, "/readyz", 503, "topic "+in+" does not exist", 30*time.Second)
		if !strings.Contains(logs.String(), `"level":"ERROR","msg":"the input topic does not exist; waiting for it"`) {
			t.Errorf("missing input topic not logged at ERROR:\n%s", servicetest.Tail(logs.String(), 2000))
		}
		createTopicsWith(t, brokers, nil, in)
		waitProbe(t, addr, "/readyz", 200, "ready", 60*time.Second)
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("run did not exit 0: %v", err)
		}
	})

	t.Run("stall, then fixed", func(t *testing.T) {
		in, out, dlq, group := uniqueTopics("it-ready-stall")
		createTopicsWith(t, brokers, nil, in, out)
		// A dead-letter topic that takes no dead letter at all: the one bad
		// event pauses its batch, and commits stop.
		createTopicsWith(t, brokers, map[string]string{"max.message.bytes": "200"}, dlq)
		cmd, logs := startRun(t, healthConfig(t, brokers[0], in, out, dlq, group, ""))
		addr := servicetest.WaitAddr(t, logs, "http_addr", 30*time.Second)
		waitProbe(t, addr, "/readyz", 200, "ready", 60*time.Second)
		evs := makeEvents(200, 20, 31)
		evs[100].value = []byte(`{"event_id":"bad"`)
		produce(t, brokers, in, evs)
		waitProbe(t, addr, "/readyz", 503, "stalled: committed offsets have not advanced", 30*time.Second)
		waitProbe(t, addr, "/healthz", 503, "stalled for", 30*time.Second)
		_, metrics := httpGet(addr, "/metrics")
		if !strings.Contains(metrics, "streamscore_stalled 1") || !strings.Contains(metrics, "streamscore_producer_paused 1") {
			t.Errorf("metrics while stalled lack streamscore_stalled 1 or streamscore_producer_paused 1")
		}
		lag := 0.0
		for _, line := range strings.Split(metrics, "\n") {
			var v float64
			if strings.HasPrefix(line, "streamscore_consumer_lag_records{") {
				fmt.Sscanf(line[strings.LastIndex(line, " ")+1:], "%g", &v)
				lag += v
			}
		}
		if lag == 0 {
			t.Errorf("streamscore_consumer_lag_records reads 0 while stalled")
		}
		setTopicConfig(t, brokers, dlq, "max.message.bytes", "1048588")
		waitProbe(t, addr, "/readyz", 200, "ready", 30*time.Second)
		waitProbe(t, addr, "/healthz", 200, "ok", 5*time.Second)
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("run did not exit 0: %v", err)
		}
	})
}

// silentAddr listens on 127.0.0.1, accepts connections and never answers;
// accepted receives a value per connection (dropped when nobody waits).
func silentAddr(t *testing.T) (addr string, accepted <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String(), ch
}

func TestSilentBrokerAndSignalsDuringStartup(t *testing.T) {
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	silent, accepted := silentAddr(t)
	in, out, dlq, group := uniqueTopics("it-silent")
	want := silent + " accepted the connection but sent no Kafka response within 2s"

	t.Run("run", func(t *testing.T) {
		cfg := healthConfig(t, silent, in, out, dlq, group, "kafka: {dial_timeout: 2s}\n")
		start := time.Now()
		cmd := exec.Command(binPath, "run", "--config", cfg)
		cmd.Env = append(os.Environ(), "STREAMSCORE_BROKERS="+silent)
		b, err := cmd.CombinedOutput()
		el := time.Since(start)
		if err == nil || !strings.Contains(string(b), want) {
			t.Fatalf("run = %v after %s, want exit 1 with %q:\n%s", err, el, want, servicetest.Tail(string(b), 2000))
		}
		if el > 10*time.Second {
			t.Fatalf("run took %s to fail", el)
		}
		t.Logf("run failed in %s: %s", el.Round(time.Millisecond), want)
	})
	t.Run("consume", func(t *testing.T) {
		cfg := writeConfig(t, "kafka: {dial_timeout: 2s}\n")
		start := time.Now()
		b, err := exec.Command(binPath, "consume", "--config", cfg, "--brokers", silent, "--topic", "x", "--timeout", "5s").CombinedOutput()
		el := time.Since(start)
		if err == nil || !strings.Contains(string(b), want) || el > 10*time.Second {
			t.Fatalf("consume = %v after %s, want exit 1 with %q within 10 s:\n%s", err, el, want, servicetest.Tail(string(b), 2000))
		}
	})

	// SIGTERM while start-up waits for a broker (nothing listens on the
	// address: run retries) or for a silent one: each command exits within
	// 2 s.
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}()
	runCfg := healthConfig(t, closed, in, out, dlq, group, "kafka: {dial_timeout: 30s, startup_timeout: 5m}\n")
	replayCfg := healthConfig(t, silent, in, out, dlq, group, "kafka: {dial_timeout: 30s}\n")
	silentCfg := writeConfig(t, "kafka: {dial_timeout: 30s}\n")
	for _, tc := range []struct {
		name    string
		brokers string // STREAMSCORE_BROKERS
		args    []string
	}{
		{"run", closed, []string{"run", "--config", runCfg}},
		{"consume", silent, []string{"consume", "--config", silentCfg, "--brokers", silent, "--topic", "x"}},
		{"produce", silent, []string{"produce", "--config", silentCfg, "--brokers", silent, "--topic", "x", "--file", repoRoot(t) + "/testdata/linear.schema.yaml"}},
		{"dlq", silent, []string{"dlq", "redrive", "--config", silentCfg, "--brokers", silent, "--dlq-topic", "x"}},
		{"replay", silent, []string{"replay", "--config", replayCfg, "--topic", "x", "--from", "2026-01-01", "--to", "2026-01-02", "--out", t.TempDir() + "/r.jsonl"}},
	} {
		t.Run("SIGTERM during start-up/"+tc.name, func(t *testing.T) {
			cmd := exec.Command(binPath, tc.args...)
			cmd.Env = append(os.Environ(), "STREAMSCORE_BROKERS="+tc.brokers)
			logs := &servicetest.Logs{}
			cmd.Stdout, cmd.Stderr = logs, logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait until it is in the middle of reaching the broker.
			deadline := time.After(30 * time.Second)
			for waiting := false; !waiting; {
				if tc.name == "run" {
					waiting = strings.Contains(logs.String(), "no Kafka broker answers yet; waiting")
					if !waiting {
						select {
						case <-deadline:
							t.Fatalf("run never logged that it waits for a broker:\n%s", logs.String())
						case <-time.After(50 * time.Millisecond):
						}
					}
					continue
				}
				select {
				case <-accepted:
					waiting = true
				case <-deadline:
					t.Fatalf("%s never connected:\n%s", tc.name, logs.String())
				}
			}
			start := time.Now()
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
				t.Logf("%s exited %s after SIGTERM", tc.name, time.Since(start).Round(time.Millisecond))
			case <-time.After(2 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("%s still running 2 s after SIGTERM:\n%s", tc.name, servicetest.Tail(logs.String(), 2000))
			}
		})
	}
}
