//go:build integration

package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/internal/scoring"
	"github.com/streamscore/streamscore/internal/servicetest"
	"github.com/streamscore/streamscore/schemas"
)

// The feature set of testdata/features/linear_fs.schema.yaml: f28..f31 from
// Redis by "user:{user_id}", after the event's f00..f27.
var fsDefaults = [4]float64{0.25, -0.5, 1, 0}

// userFeatures are the stored f28..f31 of the users the tests load; users
// absent from the map are not in Redis.
type userFeatures map[string][4]float32

// makeUserFeatures gives every user of makeEvents(_, keys, _) features,
// except every tenth (absent).
func makeUserFeatures(keys int) userFeatures {
	uf := userFeatures{}
	for k := range keys {
		if k%10 == 9 {
			continue
		}
		var v [4]float32
		for j := range v {
			v[j] = float32(math.Sin(float64(k*4+j))) * 2
		}
		uf[fmt.Sprintf("user-%d", k)] = v
	}
	return uf
}

// writeFile writes the users' features as JSONL for `features load`.
func (uf userFeatures) writeFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "user_stats.jsonl")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for u, v := range uf {
		fmt.Fprintf(w, `{"user_id":%q,"f28":%s,"f29":%s,"f30":%s,"f31":%s}`+"\n", u,
			strconv.FormatFloat(float64(v[0]), 'g', -1, 32), strconv.FormatFloat(float64(v[1]), 'g', -1, 32),
			strconv.FormatFloat(float64(v[2]), 'g', -1, 32), strconv.FormatFloat(float64(v[3]), 'g', -1, 32))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func fsSchema(t *testing.T) string {
	return filepath.Join(repoRoot(t), "testdata/features/linear_fs.schema.yaml")
}

// loadUserFeatures runs `streamscore features load` into the Redis at addr.
func loadUserFeatures(t *testing.T, addr string, uf userFeatures) {
	t.Helper()
	out, err := exec.Command(binPath, "features", "load", "--redis", addr, "--schema", fsSchema(t),
		"--set", "user_stats", "--file", uf.writeFile(t), "--ttl", "10m", "--quiet").CombinedOutput()
	if err != nil {
		t.Fatalf("features load: %v\n%s", err, out)
	}
	if want := fmt.Sprintf("loaded %d entities of feature set user_stats", len(uf)); !strings.Contains(string(out), want) {
		t.Fatalf("features load printed %q, want %q", out, want)
	}
}

// wantScore is the linear model computed here from its weights, on the
// event's f00..f27 and the stored (or default) f28..f31.
func wantScore(w linearWeights, ev *inputEvent, stored [4]float32, missing bool) float64 {
	s := w.Intercept
	for f := range 28 {
		s += w.Coef[f] * float64(ev.feats[f])
	}
	for j := range 4 {
		x := float64(stored[j])
		if missing {
			x = float64(float32(fsDefaults[j]))
		}
		s += w.Coef[28+j] * x
	}
	return s
}

type fsScored struct {
	ID      string             `json:"event_id"`
	Scores  map[string]float64 `json:"scores"`
	Missing bool               `json:"features_missing"`
}

// checkScores checks every scored event against the model; under
// fail_open a flagged event of a stored user must carry the defaults'
// score. It returns how many events were flagged.
func checkScores(t *testing.T, msgs []kafka.Message, evs []inputEvent, uf userFeatures, allowFlagged bool) (flagged int) {
	t.Helper()
	w := loadWeights(t)
	byID := make(map[string]*inputEvent, len(evs))
	for i := range evs {
		byID[evs[i].id] = &evs[i]
	}
	for _, m := range msgs {
		var ev fsScored
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatalf("scored event is not JSON: %v: %s", err, m.Value)
		}
		src := byID[ev.ID]
		if src == nil {
			t.Fatalf("scored event for unknown id %q", ev.ID)
		}
		stored, known := uf[src.key]
		if !known && !ev.Missing {
			t.Fatalf("event %s of user %s (not in Redis) is not flagged features_missing", ev.ID, src.key)
		}
		if known && ev.Missing {
			if !allowFlagged {
				t.Fatalf("event %s of user %s (in Redis) is flagged features_missing", ev.ID, src.key)
			}
			flagged++
		}
		want := wantScore(w, src, stored, ev.Missing)
		if got := ev.Scores["score"]; math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) {
			t.Fatalf("event %s (user %s, missing %v): score %.9g, want %.9g", ev.ID, src.key, ev.Missing, got, want)
		}
	}
	return flagged
}

func featuresConfig(t *testing.T, in, out, dlq, group, redisAddr, extra string) string {
	root := repoRoot(t)
	return writeConfig(t, fmt.Sprintf(`
brokers: ["${STREAMSCORE_BROKERS}"]
group: %s
topics: {input: %s, output: %s, dlq: %s, partitions: 4}
schema: %s/testdata/features/linear_fs.schema.yaml
model: {path: %s/testdata/models/linear.onnx, name: linear, version: "1"}
batch: {max_rows: 256, max_wait: 10ms}
pipeline: {in_flight: 2, drain_timeout: 20s}
redis: {addrs: [%q]}
%s
http: {addr: "127.0.0.1:0"}
log: {format: json}
`, group, in, out, dlq, root, root, redisAddr, extra))
}

func TestFeaturesEnrichedScoresMatchTheModel(t *testing.T) {
	brokers := servicetest.Brokers(t)
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	redisAddr := strings.Split(servicetest.Env(t, "STREAMSCORE_REDIS"), ",")[0]
	const n, keys = 6000, 300
	uf := makeUserFeatures(keys)
	rc := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rc.Close()
	for k := 9; k < keys; k += 10 { // absent users stay absent, whatever ran before
		rc.Del(t.Context(), fmt.Sprintf("user:user-%d", k))
	}
	loadUserFeatures(t, redisAddr, uf)

	// features get shows what was loaded.
	out, err := exec.Command(binPath, "features", "get", "--redis", redisAddr, "--schema", fsSchema(t), "--set", "user_stats", "--json", "user:user-3").CombinedOutput()
	if err != nil {
		t.Fatalf("features get: %v\n%s", err, out)
	}
	var got struct {
		Status   string `json:"status"`
		Features []struct {
			Value float32 `json:"value"`
		} `json:"features"`
	}
	if err := json.Unmarshal(out, &got); err != nil || got.Status != "ok" || len(got.Features) != 4 || got.Features[2].Value != uf["user-3"][2] {
		t.Fatalf("features get user:user-3 = %s (%v); want status ok and f30 %v", out, err, uf["user-3"][2])
	}
	if out, err := exec.Command(binPath, "features", "get", "--redis", redisAddr, "--schema", fsSchema(t), "--set", "user_stats", "user:user-9").CombinedOutput(); err == nil || !strings.Contains(string(out), "absent") {
		t.Fatalf("features get of an absent user: %v\n%s", err, out)
	}

	in, outTopic, dlq, group := uniqueTopics("it-features")
	cfg := featuresConfig(t, in, outTopic, dlq, group, redisAddr, "features: {policy: fail_closed}")
	if b, err := exec.Command(binPath, "topics", "create", "--config", cfg).CombinedOutput(); err != nil {
		t.Fatalf("topics create: %v\n%s", err, b)
	}
	evs := makeEvents(n, keys, 11)
	produce(t, brokers, in, evs)
	cmd, logs := startRun(t, cfg)
	msgs := readAll(t, brokers, outTopic, n, 90*time.Second)
	metrics := servicetest.Scrape(t, "http://"+servicetest.WaitAddr(t, logs, "http_addr", 30*time.Second)+"/metrics")
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run did not exit 0 after SIGTERM: %v", err)
	}
	if len(msgs) != n {
		t.Fatalf("got %d scored events, want %d", len(msgs), n)
	}
	if flagged := checkScores(t, msgs, evs, uf, false); flagged != 0 {
		t.Fatalf("%d events flagged", flagged)
	}

	// At most one Redis round trip per batch; the cache answers the rest.
	batches := metrics["streamscore_pipeline_batch_rows_count"]
	trips := metrics["streamscore_features_redis_round_trips_total"]
	lookups := metrics[`streamscore_features_lookups_total{set="user_stats"}`]
	hits := metrics[`streamscore_features_cache_hits_total{set="user_stats"}`]
	t.Logf("%v batches, %v Redis round trips, %v lookups, cache hit ratio %.2f", batches, trips, lookups, hits/lookups)
	if batches == 0 || trips == 0 || trips > batches {
		t.Fatalf("%v round trips for %v batches; want between 1 and one per batch", trips, batches)
	}
	if hits == 0 || lookups < hits {
		t.Fatalf("cache hits %v of %v lookups", hits, lookups)
	}
	if got := metrics["streamscore_features_missing_values_total"]; got == 0 {
		t.Fatal("no missing feature values counted, though every tenth user is absent")
	}
	assertCommittedToEnd(t, brokers, group, in)
}

func TestFeaturesRedisOutage(t *testing.T) {
	for _, policy := range []string{"fail_open", "fail_closed"} {
		t.Run(policy, func(t *testing.T) { testRedisOutage(t, policy) })
	}
}

// testRedisOutage stops redis-server mid-stream for a few seconds and
// starts it again at the same address, and checks what the policy
// promises: fail_open keeps scoring and flags, fail_closed pauses and
// resumes; both lose nothing.
func testRedisOutage(t *testing.T, policy string) {
	brokers := servicetest.Brokers(t)
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	srv := servicetest.StartRedis(t, servicetest.RedisOptions{Persist: true})
	// The config names the private server; the environment must not
	// override it.
	t.Setenv("STREAMSCORE_REDIS", srv.Addr)
	const n, keys, rate = 6000, 200, 600
	uf := makeUserFeatures(keys)
	loadUserFeatures(t, srv.Addr, uf)

	in, out, dlq, group := uniqueTopics("it-fs-" + strings.ReplaceAll(policy, "_", "-"))
	cfg := featuresConfig(t, in, out, dlq, group, srv.Addr,
		fmt.Sprintf("features: {policy: %s, cache_ttl: 200ms, negative_ttl: 200ms, timeout: 1s}", policy))
	if b, err := exec.Command(binPath, "topics", "create", "--config", cfg).CombinedOutput(); err != nil {
		t.Fatalf("topics create: %v\n%s", err, b)
	}
	col := newCollector(t, brokers, out, dlq)
	evs := makeEvents(n, keys, 23)
	cmd, logs := startRun(t, cfg)
	prodDone := make(chan struct{})
	go func() {
		defer close(prodDone)
		produceAt(t.Context(), t, brokers, in, evs, rate)
	}()

	deadline := time.Now().Add(30 * time.Second)
	for col.distinct() < 1500 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d events scored before the outage", col.distinct())
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.Stop(t)
	stoppedAt := col.distinct()
	time.Sleep(2 * time.Second) // let batches past enrichment land
	settled := col.distinct()
	time.Sleep(3 * time.Second)
	beforeRestart := col.distinct()
	srv.Start(t)
	t.Logf("%s: %d outcomes at the stop, %d two seconds later, %d after five seconds of outage", policy, stoppedAt, settled, beforeRestart)

	<-prodDone
	col.waitDistinct(t, n, 60*time.Second, time.Second)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("run did not exit 0 on SIGTERM: %v", err)
	}
	if miss := col.missing(evs); len(miss) > 0 {
		t.Fatalf("%d events lost, e.g. %v", len(miss), miss[:min(5, len(miss))])
	}
	if d := col.duplicates(t); d != 0 {
		t.Errorf("%d duplicate outcomes without a scorer restart", d)
	}
	col.mu.Lock()
	dead, reasons := len(col.dead), fmt.Sprint(col.reasons)
	col.mu.Unlock()
	if dead != 0 {
		t.Fatalf("%d dead letters, reasons %s", dead, reasons)
	}
	msgs := readAll(t, brokers, out, n, 30*time.Second)
	switch policy {
	case "fail_open":
		flagged := checkScores(t, msgs, evs, uf, true)
		if beforeRestart <= settled {
			t.Errorf("fail_open: scoring stopped during the outage (%d then %d outcomes)", settled, beforeRestart)
		}
		if flagged == 0 {
			t.Error("fail_open: no event of a stored user was flagged features_missing during the outage")
		}
		if !strings.Contains(logs.String(), "scoring with defaults (fail_open)") {
			t.Error("fail_open: the failure was not logged")
		}
		t.Logf("fail_open: %d events of stored users scored with defaults and flagged", flagged)
	case "fail_closed":
		checkScores(t, msgs, evs, uf, false)
		if beforeRestart != settled {
			t.Errorf("fail_closed: %d events scored while Redis was down", beforeRestart-settled)
		}
		for _, want := range []string{"pausing (fail_closed)", "feature store is back"} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("fail_closed: logs lack %q", want)
			}
		}
	}
	assertCommittedToEnd(t, brokers, group, in)
}

// selfSignedCert writes a certificate and key for 127.0.0.1 into dir.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "redis.crt"), filepath.Join(dir, "redis.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

// TestFeaturesRedisACLAndTLS loads and reads features over TLS as an ACL
// user whose password comes from the environment or a file, and checks a
// wrong password stops run at start-up with a message naming the keys.
func TestFeaturesRedisACLAndTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := selfSignedCert(t, dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	acl := filepath.Join(dir, "users.acl")
	os.WriteFile(acl, []byte("user default on >default-secret ~* +@all\nuser alice on >alice-secret ~user:* +@all\n"), 0o600)
	srv := exec.Command("redis-server", "--port", "0", "--tls-port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", certFile, "--tls-auth-clients", "no",
		"--save", "", "--appendonly", "no", "--dir", dir, "--aclfile", acl)
	srvLog := &servicetest.Logs{}
	srv.Stdout, srv.Stderr = srvLog, srvLog
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("redis-server:\n%s", servicetest.Tail(srvLog.String(), 2000))
		}
	})
	if err := srv.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	t.Setenv("STREAMSCORE_REDIS", addr)
	t.Setenv("FS_REDIS_PASSWORD", "alice-secret")
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte("alice-secret\n"), 0o600)
	cfgBody := func(password string) string {
		return fmt.Sprintf(`
schema: %s
redis: {username: alice, %s, tls: true, tls_insecure_skip_verify: true}
`, fsSchema(t), password)
	}
	envCfg := writeConfig(t, cfgBody(`password: "${FS_REDIS_PASSWORD}"`))
	fileCfg := writeConfig(t, cfgBody(fmt.Sprintf("password_file: %q", pwFile)))
	uf := makeUserFeatures(20)

	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := exec.Command(binPath, "features", "load", "--config", envCfg, "--set", "user_stats", "--file", uf.writeFile(t), "-q").CombinedOutput()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("features load over TLS as alice: %v\n%s", err, out)
		}
		time.Sleep(100 * time.Millisecond) // the server may still be starting
	}
	out, err := exec.Command(binPath, "features", "get", "--config", fileCfg, "--set", "user_stats", "user:user-4").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "status          ok") {
		t.Fatalf("features get with password_file: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "alice-secret") {
		t.Fatal("the password appears in the output")
	}

	// A wrong password fails run's set-up, naming the keys to fix.
	cfg, err := config.Load(writeConfig(t, cfgBody(`password: not-alice-x9`)))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := schemas.Load(fsSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = scoring.OpenFeatures(t.Context(), &cfg, spec, discardLogger(), nil)
	if err == nil || !strings.Contains(err.Error(), "redis.password") || strings.Contains(err.Error(), "not-alice-x9") {
		t.Fatalf("setup with a wrong password: %v; want an error naming redis.password, without the password", err)
	}
	t.Logf("wrong password: %v", err)
}
