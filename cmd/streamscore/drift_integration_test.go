//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/internal/servicetest"
)

// driftEvents returns n linear-schema events with every feature ~ N(0, 1)
// except f00 and f01, which are shifted by shift.
func driftEvents(n int, seed uint64, idPrefix string, shift float64) []inputEvent {
	r := rand.New(rand.NewPCG(seed, 7))
	evs := make([]inputEvent, n)
	for i := range evs {
		e := &evs[i]
		e.id = fmt.Sprintf("%s-%d", idPrefix, i)
		e.key = fmt.Sprintf("user-%d", r.IntN(200))
		var b bytes.Buffer
		fmt.Fprintf(&b, `{"event_id":%q,"user_id":%q,"ts":%d`, e.id, e.key, time.Now().UnixMilli())
		for f := range 32 {
			v := r.NormFloat64()
			if f < 2 {
				v += shift
			}
			e.feats[f] = float32(v)
			fmt.Fprintf(&b, `,"f%02d":%s`, f, strconv.FormatFloat(float64(e.feats[f]), 'g', -1, 32))
		}
		b.WriteString(`,"merchant":"m-1"}`)
		e.value = b.Bytes()
	}
	return evs
}

// driftBaseline writes training data and builds a baseline from it with
// the binary, scoring the rows with the linear model.
func driftBaseline(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	dir := t.TempDir()
	var lines bytes.Buffer
	for _, e := range driftEvents(20000, 1, "train", 0) {
		lines.Write(e.value)
		lines.WriteByte('\n')
	}
	train := filepath.Join(dir, "train.jsonl")
	if err := os.WriteFile(train, lines.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "baseline.json")
	cmd := exec.Command(binPath, "baseline", "--schema", root+"/testdata/linear.schema.yaml", "--file", train,
		"--model", root+"/testdata/models/linear.onnx", "--out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("baseline: %v\n%s", err, b)
	}
	return out
}

// driftConfig is the linear scorer with drift monitoring on.
func driftConfig(t *testing.T, in, out, dlq, group, baseline, prefix, topic, drift string) string {
	root := repoRoot(t)
	return writeConfig(t, fmt.Sprintf(`
brokers: ["${STREAMSCORE_BROKERS}"]
group: %s
topics: {input: %s, output: %s, dlq: %s, partitions: 8}
schema: %s/testdata/linear.schema.yaml
model: {path: %s/testdata/models/linear.onnx, name: linear, version: "1"}
batch: {max_rows: 512, max_wait: 10ms}
consumer: {max_wait: 100ms, session_timeout: 6s, heartbeat_interval: 1s, rebalance_timeout: 10s, revoke_timeout: 5s, commit_interval: 100ms}
http: {addr: "127.0.0.1:0"}
redis: {addrs: ["${STREAMSCORE_REDIS}"]}
drift:
  enabled: true
  baseline: %s
  prefix: %s
  topic: %s
%s
log: {format: json}
`, group, in, out, dlq, root, root, baseline, prefix, topic, drift))
}

// driftEventReader collects the events of the drift topic.
type driftEventReader struct {
	mu     sync.Mutex
	events []map[string]any
	cancel context.CancelFunc
	done   chan struct{}
}

func readDriftEvents(t *testing.T, brokers []string, topic string) *driftEventReader {
	ctx, cancel := context.WithCancel(context.Background())
	d := &driftEventReader{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: 0, MaxWait: 100 * time.Millisecond})
		defer r.Close()
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				return
			}
			var ev map[string]any
			if json.Unmarshal(m.Value, &ev) != nil {
				t.Errorf("drift event is not JSON: %s", m.Value)
				continue
			}
			d.mu.Lock()
			d.events = append(d.events, ev)
			d.mu.Unlock()
		}
	}()
	t.Cleanup(d.stop)
	return d
}

func (d *driftEventReader) stop() {
	d.cancel()
	<-d.done
}

// find returns the events of type typ for feature (all features if "").
func (d *driftEventReader) find(typ, feature string) []map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []map[string]any
	for _, e := range d.events {
		if e["type"] == typ && (feature == "" || e["feature"] == feature) {
			out = append(out, e)
		}
	}
	return out
}

func (d *driftEventReader) waitFor(t *testing.T, typ, feature string, timeout time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if evs := d.find(typ, feature); len(evs) > 0 {
			return evs[0]
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %s event for %s within %s; events: %v", typ, feature, timeout, d.find("", ""))
	return nil
}

func driftAt(e map[string]any) int64 {
	v, _ := e["at"].(float64)
	return int64(v)
}

func TestDriftAlertsWithinTwoBucketsOfAShiftAndClears(t *testing.T) {
	brokers := servicetest.Brokers(t)
	servicetest.Env(t, "STREAMSCORE_REDIS")
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	baseline := driftBaseline(t)
	in, out, dlq, group := uniqueTopics("it-drift")
	prefix := "it-drift-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	topic := in + ".drift"
	const bucket = time.Second
	cfg := driftConfig(t, in, out, dlq, group, baseline, prefix, topic,
		"  bucket: 1s\n  window: 3\n  flush_interval: 200ms\n  evaluate_interval: 250ms\n  min_events: 500")
	if b, err := exec.Command(binPath, "topics", "create", "--config", cfg).CombinedOutput(); err != nil {
		t.Fatalf("topics create: %v\n%s", err, b)
	}
	cmd, logs := startRun(t, cfg)
	servicetest.WaitAssigned(t, 30*time.Second, logs)
	events := readDriftEvents(t, brokers, topic)

	const rate = 3000.0
	ctx := t.Context()
	produceAt(ctx, t, brokers, in, driftEvents(15000, 2, "ref", 0), rate) // 5 s of reference
	tShift := time.Now()
	produceAt(ctx, t, brokers, in, driftEvents(9000, 3, "shift", 3), rate) // 3 s shifted by 3σ
	tReturn := time.Now()

	// Nothing alerted before the shift; f00 within two buckets after it.
	if early := slices.DeleteFunc(events.find("drift_detected", ""), func(e map[string]any) bool { return driftAt(e) >= tShift.UnixMilli() }); len(early) > 0 {
		t.Fatalf("drift raised before the shift: %v", early)
	}
	det := events.waitFor(t, "drift_detected", "f00", 5*time.Second)
	// The shift as the scorer saw it: when it scored the first shifted
	// event (later than tShift when the machine is busy and the scorer
	// lags behind the feed; the lag is the pipeline's, not the detector's).
	seen := tShift.UnixMilli()
	first := int64(0)
	for _, m := range readTopicNow(t, brokers, out) {
		var ev struct {
			ID       string `json:"event_id"`
			ScoredAt int64  `json:"scored_at"`
		}
		if json.Unmarshal(m.Value, &ev) == nil && strings.HasPrefix(ev.ID, "shift-") && (first == 0 || ev.ScoredAt < first) {
			first = ev.ScoredAt
		}
	}
	seen = max(seen, first)
	if lag := time.Duration(driftAt(det)-seen) * time.Millisecond; lag < 0 || lag > 2*bucket {
		t.Fatalf("f00 alert %s after the shift was scored (%dms after it was sent), want within 2 buckets (%s): %v", lag, seen-tShift.UnixMilli(), 2*bucket, det)
	}
	t.Logf("f00 alert %dms after the shift was scored (%dms after it was sent): scores %v", driftAt(det)-seen, seen-tShift.UnixMilli(), det["scores"])
	if det["model"] != "linear" || det["model_version"] != "1" || det["kind"] != "numeric" {
		t.Fatalf("event = %v", det)
	}

	t.Run("status shows the drift", func(t *testing.T) {
		// While a column drifts, status exits 3 ("the check found a
		// problem") after printing it.
		type column struct {
			Feature string             `json:"feature"`
			State   string             `json:"state"`
			Scores  map[string]float64 `json:"scores"`
		}
		// The window is the last three buckets by the clock. When the
		// scorer stalled behind the feed (a busy machine: the reader's
		// fetches time out), it can hold no events yet although the state
		// is DRIFT; the shift goes on in small steps until the window
		// shows it, for at most 15 s.
		deadline := time.Now().Add(15 * time.Second)
		for step := 0; ; step++ {
			b, err := exec.Command(binPath, "drift", "status", "--config", cfg, "--json").Output()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
				t.Fatalf("drift status while drifting: %v, want exit status 3", err)
			}
			var st struct {
				Events  int64    `json:"events"`
				Columns []column `json:"columns"`
			}
			if err := json.Unmarshal(b, &st); err != nil {
				t.Fatalf("status is not JSON: %v\n%s", err, b)
			}
			i := slices.IndexFunc(st.Columns, func(c column) bool { return c.Feature == "f00" })
			if i < 0 || st.Columns[i].State != "DRIFT" {
				t.Fatalf("status: f00 is not in DRIFT: %s", b)
			}
			if st.Events > 0 && st.Columns[i].Scores["psi"] >= 0.2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("status: no shifted events in the window within 15 s: %s", b)
			}
			produceAt(ctx, t, brokers, in, driftEvents(600, uint64(10+step), fmt.Sprintf("hold%d", step), 3), rate)
		}
		table, err := exec.Command(binPath, "drift", "status", "--config", cfg).Output()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 || !strings.Contains(string(table), "FEATURE") || !strings.Contains(string(table), "DRIFT") {
			t.Fatalf("drift status table: %v\n%s", err, table)
		}
	})

	// Back to the reference: the alert clears once the shifted buckets
	// leave the window.
	produceAt(ctx, t, brokers, in, driftEvents(18000, 4, "back", 0), rate) // 6 s
	clr := events.waitFor(t, "drift_cleared", "f00", 3*time.Second)
	if driftAt(clr) < tReturn.UnixMilli() {
		t.Fatalf("f00 cleared before the return: %v", clr)
	}
	t.Logf("f00 cleared %dms after the return", driftAt(clr)-tReturn.UnixMilli())
	for _, want := range []string{`"msg":"drift detected"`, `"msg":"drift cleared"`, `"feature":"f00"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("run logs lack %s", want)
		}
	}
	for _, f := range []string{"f02", "f10", "f31"} {
		if evs := events.find("drift_detected", f); len(evs) > 0 {
			t.Errorf("unshifted feature %s alerted: %v", f, evs)
		}
	}

	t.Run("report", func(t *testing.T) {
		page := filepath.Join(t.TempDir(), "drift.html")
		if b, err := exec.Command(binPath, "drift", "report", "--config", cfg, "--out", page).CombinedOutput(); err != nil {
			t.Fatalf("drift report: %v\n%s", err, b)
		}
		checkDriftReport(t, page, baseline)
	})

	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("run did not exit 0 after SIGTERM: %v", err)
	}
}

// checkDriftReport parses the page as XML (it is written well-formed),
// checks one plot per baseline column and nothing loaded from elsewhere,
// then renders it in headless Chromium when that is installed.
func checkDriftReport(t *testing.T, page, baseline string) {
	t.Helper()
	raw, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	var base struct {
		Columns []struct {
			Name string `json:"name"`
		} `json:"columns"`
	}
	b, _ := os.ReadFile(baseline)
	if err := json.Unmarshal(b, &base); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(raw))
	d.Strict = true
	d.Entity = xml.HTMLEntity
	var plots []string
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("report does not parse: %v", err)
		}
		if el, ok := tok.(xml.StartElement); ok {
			attr := map[string]string{}
			for _, a := range el.Attr {
				attr[a.Name.Local] = a.Value
			}
			if el.Name.Local == "svg" && attr["class"] == "plot" {
				plots = append(plots, attr["data-feature"])
			}
			if el.Name.Local == "script" || el.Name.Local == "link" || (attr["src"] != "") || (attr["href"] != "" && !strings.HasPrefix(attr["href"], "#")) {
				t.Fatalf("report loads something: <%s %v>", el.Name.Local, attr)
			}
		}
	}
	var want []string
	for _, c := range base.Columns {
		want = append(want, c.Name)
	}
	// One plot per column, drifting columns first (so not baseline order).
	if !slices.Equal(slices.Sorted(slices.Values(plots)), slices.Sorted(slices.Values(want))) {
		t.Fatalf("report plots %v, want one per column %v", plots, want)
	}

	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Log("Chromium is not installed (apt-get install chromium): the report was parsed, not rendered")
		return
	}
	shot := filepath.Join(t.TempDir(), "report.png")
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--window-size=1060,3000", "--screenshot="+shot, "--enable-logging=stderr", "--v=0", "file://"+page).CombinedOutput()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, servicetest.Tail(string(out), 3000))
	}
	for _, bad := range []string{"ERROR:CONSOLE", "Uncaught", "Error: <", "This page contains the following errors"} {
		if strings.Contains(string(out), bad) {
			t.Fatalf("chromium reports %q rendering the report:\n%s", bad, servicetest.Tail(string(out), 3000))
		}
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v\n%s", err, servicetest.Tail(string(out), 2000))
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	bounds := img.Bounds()
	inked := 0
	for y := bounds.Min.Y; y < bounds.Max.Y; y += 4 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 4 {
			r, g, b, _ := img.At(x, y).RGBA()
			if r < 0xe000 || g < 0xe000 || b < 0xe000 {
				inked++
			}
		}
	}
	if inked < 2000 {
		t.Fatalf("screenshot %dx%d is almost blank (%d inked samples)", bounds.Dx(), bounds.Dy(), inked)
	}
	if dst := os.Getenv("STREAMSCORE_DRIFT_SCREENSHOT"); dst != "" {
		b, _ := os.ReadFile(shot)
		os.WriteFile(dst, b, 0o644)
	}
	t.Logf("rendered in %s: %dx%d screenshot, %d inked samples", filepath.Base(browser), bounds.Dx(), bounds.Dy(), inked)
}

func TestDriftTwoRunsFeedOneWindow(t *testing.T) {
	brokers := servicetest.Brokers(t)
	redisAddr := servicetest.Env(t, "STREAMSCORE_REDIS")
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	baseline := driftBaseline(t)
	in, out, dlq, group := uniqueTopics("it-drift2")
	prefix := "it-drift2-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	cfg := driftConfig(t, in, out, dlq, group, baseline, prefix, "",
		"  bucket: 2s\n  window: 60\n  flush_interval: 500ms\n  evaluate_interval: 1s")
	if b, err := exec.Command(binPath, "topics", "create", "--config", cfg).CombinedOutput(); err != nil {
		t.Fatalf("topics create: %v\n%s", err, b)
	}
	a, logsA := startRun(t, cfg)
	b, logsB := startRun(t, cfg)
	servicetest.WaitAssigned(t, 30*time.Second, logsA)
	servicetest.WaitAssigned(t, 30*time.Second, logsB)
	addrA, addrB := servicetest.WaitAddr(t, logsA, "http_addr", 10*time.Second), servicetest.WaitAddr(t, logsB, "http_addr", 10*time.Second)

	const n = 20000
	produceAt(t.Context(), t, brokers, in, driftEvents(n, 5, "two", 0), 0)
	if got := readAll(t, brokers, out, n, 2*time.Minute); len(got) < n {
		t.Fatalf("%d scored events, want %d", len(got), n)
	}
	obsA := servicetest.Scrape(t, "http://"+addrA+"/metrics").Sums()["streamscore_drift_observed_events_total"]
	obsB := servicetest.Scrape(t, "http://"+addrB+"/metrics").Sums()["streamscore_drift_observed_events_total"]
	if obsA == 0 || obsB == 0 {
		t.Fatalf("observed events: %v and %v; both runs must score part of the stream", obsA, obsB)
	}
	for _, c := range []*exec.Cmd{a, b} {
		c.Process.Signal(syscall.SIGTERM)
	}
	for _, c := range []*exec.Cmd{a, b} {
		if err := c.Wait(); err != nil {
			t.Errorf("run did not exit 0 after SIGTERM: %v", err)
		}
	}
	scored := driftTopicRecords(t, brokers, out)

	// Sum the window in Redis: the events counter and every column.
	rc := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rc.Close()
	keys, err := rc.Keys(t.Context(), prefix+":*").Result()
	if err != nil {
		t.Fatal(err)
	}
	perColumn := map[string]int64{}
	for _, k := range keys {
		if strings.HasSuffix(k, ":_state") || strings.HasSuffix(k, ":_leader") || strings.HasSuffix(k, ":_history") {
			continue
		}
		parts := strings.Split(k, ":")
		col := parts[len(parts)-2]
		h, err := rc.HGetAll(t.Context(), k).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range h {
			x, _ := strconv.ParseInt(v, 10, 64)
			perColumn[col] += x
		}
	}
	events := perColumn["_events"]
	t.Logf("scored %d (run A observed %v, run B %v); window holds %d events", scored, obsA, obsB, events)
	if events != scored || float64(events) != obsA+obsB || scored < n {
		t.Fatalf("window events %d, scored events %d, observed %v+%v: they must all be equal (≥ %d)", events, scored, obsA, obsB, n)
	}
	var base struct {
		Columns []struct {
			Name string `json:"name"`
		} `json:"columns"`
	}
	raw, _ := os.ReadFile(baseline)
	json.Unmarshal(raw, &base)
	for _, c := range base.Columns {
		if perColumn[c.Name] != events {
			t.Errorf("column %s counts %d values, want %d", c.Name, perColumn[c.Name], events)
		}
	}
}

// driftTopicRecords returns how many records topic holds (the sum of its
// partitions' end offsets; the test topics are never truncated).
func driftTopicRecords(t *testing.T, brokers []string, topic string) int64 {
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
	var reqs []kafka.OffsetRequest
	for _, p := range parts {
		reqs = append(reqs, kafka.LastOffsetOf(p.ID))
	}
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	res, err := client.ListOffsets(t.Context(), &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, po := range res.Topics[topic] {
		n += po.LastOffset
	}
	return n
}

func TestDriftKeepsCountsThroughARedisOutage(t *testing.T) {
	brokers := servicetest.Brokers(t)
	servicetest.Env(t, "STREAMSCORE_REDIS")
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	baseline := driftBaseline(t)
	rds := servicetest.StartRedis(t, servicetest.RedisOptions{Persist: true})
	in, out, dlq, group := uniqueTopics("it-drift3")
	prefix := "it-drift3-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	cfg := driftConfig(t, in, out, dlq, group, baseline, prefix, "",
		"  bucket: 1s\n  window: 60\n  flush_interval: 200ms\n  evaluate_interval: 500ms")
	if b, err := exec.Command(binPath, "topics", "create", "--config", cfg).CombinedOutput(); err != nil {
		t.Fatalf("topics create: %v\n%s", err, b)
	}
	cmd, logs := startRunEnv(t, cfg, "STREAMSCORE_REDIS="+rds.Addr)
	servicetest.WaitAssigned(t, 30*time.Second, logs)
	addr := servicetest.WaitAddr(t, logs, "http_addr", 10*time.Second)

	const n = 5000
	produceAt(t.Context(), t, brokers, in, driftEvents(n, 6, "before", 0), 5000)
	readAll(t, brokers, out, n, time.Minute)
	time.Sleep(500 * time.Millisecond) // flushed
	rds.Stop(t)

	// Redis is down: scoring goes on, counts wait.
	produceAt(t.Context(), t, brokers, in, driftEvents(n, 7, "during", 0), 2500)
	if got := readAll(t, brokers, out, 2*n, time.Minute); len(got) < 2*n {
		t.Fatalf("%d scored events while Redis was down, want %d: scoring must not wait on drift", len(got), 2*n)
	}
	var m map[string]float64
	var failed float64
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		m = servicetest.Scrape(t, "http://"+addr+"/metrics").Sums()
		failed = servicetest.Scrape(t, "http://"+addr+"/metrics")[`streamscore_drift_flushes_total{result="error"}`]
		if failed > 0 && m["streamscore_drift_pending_buckets"] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("with Redis down: failed flushes %v, pending buckets %v; want both above 0", failed, m["streamscore_drift_pending_buckets"])
		}
	}
	if !strings.Contains(logs.String(), "drift store unreachable") {
		t.Errorf("run logged nothing about the drift store being down")
	}
	rds.Start(t)
	deadline := time.Now().Add(20 * time.Second)
	for servicetest.Scrape(t, "http://"+addr+"/metrics").Sums()["streamscore_drift_pending_buckets"] != 0 {
		if time.Now().After(deadline) {
			t.Fatal("pending drift buckets were not flushed after Redis came back")
		}
		time.Sleep(200 * time.Millisecond)
	}
	m = servicetest.Scrape(t, "http://"+addr+"/metrics").Sums()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("run did not exit 0 after SIGTERM: %v", err)
	}
	scored := driftTopicRecords(t, brokers, out)
	rc := redis.NewClient(&redis.Options{Addr: rds.Addr})
	defer rc.Close()
	keys, err := rc.Keys(t.Context(), prefix+":*:_events:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var events int64
	for _, k := range keys {
		v, _ := rc.HGet(t.Context(), k, "n").Int64()
		events += v
	}
	t.Logf("scored %d, window holds %d, lost %v", scored, events, m["streamscore_drift_lost_events_total"])
	if events != scored || m["streamscore_drift_lost_events_total"] != 0 {
		t.Fatalf("window holds %d events, %d were scored, %v counted lost; want all kept", events, scored, m["streamscore_drift_lost_events_total"])
	}
}
