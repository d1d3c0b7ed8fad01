//go:build integration

package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/internal/service"
	"github.com/streamscore/streamscore/internal/servicetest"
)

// These tests run the binary against a second broker whose only client
// listener is SASL_SSL (deployments/local/kafka-secure.sh): a CA and broker
// certificate made with openssl, SCRAM-SHA-512 and SCRAM-SHA-256 users
// created at format time, and a PLAIN user.

// secureBroker holds what kafka-secure.sh exports.
type secureBroker struct {
	addr    string
	ca      string
	secrets string
	users   map[string]secureUser // by mechanism
}

type secureUser struct{ name, password string }

// startSecureBroker starts the SASL_SSL broker unless one runs already (its
// env file exists and it answers), and stops it when the test ends if it
// started it.
func startSecureBroker(t *testing.T) secureBroker {
	t.Helper()
	script := filepath.Join(repoRoot(t), "deployments/local/kafka-secure.sh")
	started := exec.Command(script, "status").Run() != nil
	if started {
		out, err := exec.Command(script, "start").CombinedOutput()
		if err != nil {
			t.Fatalf("kafka-secure.sh start: %v\n%s", err, out)
		}
		t.Cleanup(func() {
			if out, err := exec.Command(script, "stop").CombinedOutput(); err != nil {
				t.Errorf("kafka-secure.sh stop: %v\n%s", err, out)
			}
		})
	}
	path, err := exec.Command(script, "env").Output()
	if err != nil {
		t.Fatalf("kafka-secure.sh env: %v", err)
	}
	f, err := os.Open(strings.TrimSpace(string(path)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		if ok && !strings.HasPrefix(k, "#") {
			vars[k] = v
		}
	}
	b := secureBroker{
		addr: vars["STREAMSCORE_SECURE_BROKERS"], ca: vars["STREAMSCORE_SECURE_CA"], secrets: vars["STREAMSCORE_SECURE_SECRETS"],
		users: map[string]secureUser{
			"SCRAM-SHA-512": {vars["STREAMSCORE_SECURE_SCRAM512_USER"], vars["STREAMSCORE_SECURE_SCRAM512_PASSWORD"]},
			"SCRAM-SHA-256": {vars["STREAMSCORE_SECURE_SCRAM256_USER"], vars["STREAMSCORE_SECURE_SCRAM256_PASSWORD"]},
			"PLAIN":         {vars["STREAMSCORE_SECURE_PLAIN_USER"], vars["STREAMSCORE_SECURE_PLAIN_PASSWORD"]},
		},
	}
	if b.addr == "" || b.ca == "" || b.users["SCRAM-SHA-512"].password == "" {
		t.Fatalf("kafka-secure.sh env file lacks the broker address, CA or passwords: %v", vars)
	}
	return b
}

// clientTLS is the test's own TLS configuration: trust the broker's CA.
func (b secureBroker) clientTLS(t *testing.T) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(b.ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", b.ca)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

func (b secureBroker) scram512(t *testing.T) sasl.Mechanism {
	t.Helper()
	u := b.users["SCRAM-SHA-512"]
	m, err := scram.Mechanism(scram.SHA512, u.name, u.password)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// logBook keeps every output of every command a test ran, to search it for
// secrets at the end.
type logBook struct {
	mu   sync.Mutex
	logs []*servicetest.Logs
}

func (l *logBook) add() *servicetest.Logs {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := &servicetest.Logs{}
	l.logs = append(l.logs, b)
	return b
}

func (l *logBook) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s strings.Builder
	for _, b := range l.logs {
		s.WriteString(b.String())
		s.WriteByte('\n')
	}
	return s.String()
}

// secureEnv is the environment of the commands: STREAMSCORE_BROKERS points
// at the secure broker (make test sets it to the plaintext one, and it wins
// over the file), plus extra.
func secureEnv(b secureBroker, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STREAMSCORE_BROKERS=") {
			env = append(env, kv)
		}
	}
	return append(append(env, "STREAMSCORE_BROKERS="+b.addr), extra...)
}

// runBin runs the binary to completion with env and returns its exit error
// and output, which it also records in book.
func runBin(t *testing.T, book *logBook, env []string, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = env
	out := book.add()
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	return out.String(), err
}

func randomSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "wrong" + hex.EncodeToString(b)
}

// secureConfig writes a run config for the secure broker. sasl is the
// kafka.sasl block (flow style); tlsBlock the kafka.tls block.
func secureConfig(t *testing.T, b secureBroker, in, out, dlq, group, tlsBlock, saslBlock string) string {
	root := repoRoot(t)
	return writeConfig(t, fmt.Sprintf(`
brokers: ["%s"]
group: %s
kafka:
  tls: %s
  sasl: %s
topics: {input: %s, output: %s, dlq: %s, partitions: 4}
schema: %s/testdata/linear.schema.yaml
model: {path: %s/testdata/models/linear.onnx, name: linear, version: "1"}
batch: {max_rows: 256, max_wait: 10ms}
http: {addr: "127.0.0.1:0"}
log: {level: debug, format: json}
`, b.addr, group, tlsBlock, saslBlock, in, out, dlq, root, root))
}

func TestSecureKafka(t *testing.T) {
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	b := startSecureBroker(t)
	book := &logBook{}
	tlsOK := fmt.Sprintf("{enabled: true, ca_file: %q}", b.ca)
	in, out, dlq, group := uniqueTopics("it-secure")
	alice := b.users["SCRAM-SHA-512"]
	// alice's password comes from the environment, carol's from a file, bob's
	// from the environment under another name.
	cfg512 := secureConfig(t, b, in, out, dlq, group, tlsOK,
		fmt.Sprintf(`{mechanism: SCRAM-SHA-512, username: %s, password: "${IT_KAFKA_PASSWORD}"}`, alice.name))
	env512 := secureEnv(b, "IT_KAFKA_PASSWORD="+alice.password)
	wrong := randomSecret(t)

	t.Run("scores over TLS and SCRAM-SHA-512", func(t *testing.T) {
		if o, err := runBin(t, book, env512, time.Minute, "topics", "create", "--config", cfg512); err != nil {
			t.Fatalf("topics create: %v\n%s", err, o)
		}
		const n, viaCLI = 3000, 500
		evs := makeEvents(n, 200, 7)
		// Most events through kafka-go with TLS and SCRAM, the rest through
		// `streamscore produce --config`.
		w := &kafka.Writer{
			Addr: kafka.TCP(b.addr), Topic: in, Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll,
			BatchTimeout: 5 * time.Millisecond, Transport: &kafka.Transport{TLS: b.clientTLS(t), SASL: b.scram512(t)},
		}
		msgs := make([]kafka.Message, 0, n-viaCLI)
		for _, e := range evs[:n-viaCLI] {
			msgs = append(msgs, kafka.Message{Key: []byte(e.key), Value: e.value})
		}
		if err := w.WriteMessages(t.Context(), msgs...); err != nil {
			t.Fatalf("producing over SASL_SSL: %v", err)
		}
		w.Close()
		file := filepath.Join(t.TempDir(), "events.jsonl")
		var lines []byte
		for _, e := range evs[n-viaCLI:] {
			lines = append(append(lines, e.value...), '\n')
		}
		if err := os.WriteFile(file, lines, 0o644); err != nil {
			t.Fatal(err)
		}
		if o, err := runBin(t, book, env512, time.Minute, "produce", "--config", cfg512, "--topic", in, "--file", file, "--key", "user_id", "--quiet"); err != nil {
			t.Fatalf("produce --config: %v\n%s", err, o)
		}

		cmd := exec.Command(binPath, "run", "--config", cfg512)
		cmd.Env = env512
		logs := book.add()
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if cmd.ProcessState == nil {
				cmd.Process.Kill()
				cmd.Wait()
			}
			if t.Failed() {
				t.Logf("run logs:\n%s", servicetest.Tail(logs.String(), 4000))
			}
		}()
		got := readAllSecure(t, b, out, n, 2*time.Minute)
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("run did not exit 0 after SIGTERM: %v", err)
		}
		checkLinearScores(t, evs, got)

		// The other two mechanisms, through `consume --config`: carol
		// (SCRAM-SHA-256) with a password file, bob (PLAIN) from the env.
		carol, bob := b.users["SCRAM-SHA-256"], b.users["PLAIN"]
		for _, tc := range []struct{ mech, sasl string }{
			{"SCRAM-SHA-256", fmt.Sprintf("{mechanism: SCRAM-SHA-256, username: %s, password_file: %q}", carol.name, filepath.Join(b.secrets, carol.name+".password"))},
			{"PLAIN", fmt.Sprintf(`{mechanism: PLAIN, username: %s, password: "${IT_PLAIN_PASSWORD}"}`, bob.name)},
		} {
			c := secureConfig(t, b, in, out, dlq, group, tlsOK, tc.sasl)
			o, err := runBin(t, book, secureEnv(b, "IT_PLAIN_PASSWORD="+bob.password), time.Minute,
				"consume", "--config", c, "--topic", out, "--from-beginning", "--max", "20", "--timeout", "20s")
			if err != nil {
				t.Fatalf("consume with %s: %v\n%s", tc.mech, err, o)
			}
			if nl := strings.Count(o, "\n"); nl != 20 {
				t.Fatalf("consume with %s printed %d lines, want 20:\n%s", tc.mech, nl, servicetest.Tail(o, 2000))
			}
		}
	})

	t.Run("wrong password fails fast and says why", func(t *testing.T) {
		c := secureConfig(t, b, in, out, dlq, group+"-wrong", tlsOK,
			fmt.Sprintf(`{mechanism: SCRAM-SHA-512, username: %s, password: "${IT_KAFKA_PASSWORD}"}`, alice.name))
		for _, args := range [][]string{
			{"run", "--config", c},
			{"topics", "create", "--config", c},
			{"consume", "--config", c, "--topic", out, "--from-beginning", "--max", "1"},
		} {
			start := time.Now()
			o, err := runBin(t, book, secureEnv(b, "IT_KAFKA_PASSWORD="+wrong), time.Minute, args...)
			el := time.Since(start)
			if err == nil {
				t.Fatalf("%s with a wrong password exited 0:\n%s", args[0], o)
			}
			if el > 20*time.Second {
				t.Errorf("%s with a wrong password took %s to fail", args[0], el.Round(time.Millisecond))
			}
			if !strings.Contains(o, "SASL Authentication failed") {
				t.Errorf("%s with a wrong password: the message does not say authentication failed:\n%s", args[0], o)
			}
		}
		o, _ := runBin(t, book, secureEnv(b, "IT_KAFKA_PASSWORD="+wrong), time.Minute, "run", "--config", c)
		if !strings.Contains(o, "kafka.sasl") || !strings.Contains(o, b.addr) {
			t.Errorf("run's message names neither the setting to check nor the broker:\n%s", o)
		}
	})

	t.Run("untrusted certificate fails fast and says why", func(t *testing.T) {
		c := secureConfig(t, b, in, out, dlq, group+"-noca", "{enabled: true}",
			fmt.Sprintf(`{mechanism: SCRAM-SHA-512, username: %s, password: "${IT_KAFKA_PASSWORD}"}`, alice.name))
		o, err := runBin(t, book, env512, time.Minute, "run", "--config", c)
		if err == nil || !strings.Contains(o, "certificate signed by unknown authority") {
			t.Fatalf("run without the CA: err %v, output:\n%s", err, o)
		}
	})

	t.Run("no password in any log", func(t *testing.T) {
		logs := book.all()
		if len(logs) < 1000 {
			t.Fatalf("only %d bytes of logs recorded; the search would prove nothing", len(logs))
		}
		for what, secret := range map[string]string{
			"SCRAM-SHA-512 password": alice.password, "SCRAM-SHA-256 password": b.users["SCRAM-SHA-256"].password,
			"PLAIN password": b.users["PLAIN"].password, "wrong password": wrong,
		} {
			if strings.Contains(logs, secret) {
				i := strings.Index(logs, secret)
				t.Errorf("the %s appears in the logs: ...%s...", what, strings.ReplaceAll(logs[max(0, i-200):i], "\n", " | "))
			}
		}
	})
}

// readAllSecure reads every partition of topic over TLS and SCRAM until want
// records arrived or timeout passed.
func readAllSecure(t *testing.T, b secureBroker, topic string, want int, timeout time.Duration) []kafka.Message {
	t.Helper()
	d := &kafka.Dialer{Timeout: 10 * time.Second, TLS: b.clientTLS(t), SASLMechanism: b.scram512(t)}
	return readAllWith(t, d, []string{b.addr}, topic, want, timeout)
}

// checkLinearScores checks that got holds one scored event per input event
// with the score the linear model's weights give.
func checkLinearScores(t *testing.T, evs []inputEvent, got []kafka.Message) {
	t.Helper()
	if len(got) != len(evs) {
		t.Fatalf("got %d scored events, want %d", len(got), len(evs))
	}
	w := loadWeights(t)
	byID := make(map[string]*inputEvent, len(evs))
	for i := range evs {
		byID[evs[i].id] = &evs[i]
	}
	seen := map[string]bool{}
	for _, m := range got {
		var ev scoredEvent
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatalf("scored event is not JSON: %v: %s", err, m.Value)
		}
		src, ok := byID[ev.ID]
		if !ok || seen[ev.ID] {
			t.Fatalf("scored event for unknown or repeated id %q", ev.ID)
		}
		seen[ev.ID] = true
		want := w.Intercept
		for f, c := range w.Coef {
			want += c * float64(src.feats[f])
		}
		if s := ev.Scores["score"]; math.Abs(s-want) > 1e-5*math.Max(1, math.Abs(want)) {
			t.Fatalf("event %s: score %.9g, want %.9g", ev.ID, s, want)
		}
	}
}

func TestSASLPasswordIsRedacted(t *testing.T) {
	const secret = "hunter2-redaction-check"
	cfg := config.Default()
	cfg.Kafka.SASL = config.SASLConfig{Mechanism: "SCRAM-SHA-512", Username: "alice", Password: secret}
	var logs servicetest.Logs
	log, err := service.NewLogger(&logs, "debug", "json")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("config", "kafka", cfg.Kafka, "sasl", cfg.Kafka.SASL, "config", cfg)
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	printed := fmt.Sprintf("%v %+v %s %s", cfg, cfg, logs.String(), js)
	if strings.Contains(printed, secret) {
		t.Fatalf("the password is printed: %s", printed)
	}
	if !strings.Contains(printed, config.Redacted) || !strings.Contains(printed, "alice") {
		t.Fatalf("the SASL settings are not printed with the password redacted: %s", printed)
	}
}
