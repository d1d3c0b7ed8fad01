//go:build integration

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/internal/servicetest"
	"github.com/streamscore/streamscore/producers"
	"github.com/streamscore/streamscore/schemas"
)

// formatsPython returns a python with the packages of
// testdata/formats/requirements.txt, in $STREAMSCORE_CACHE/venv-formats
// (made, or remade when the requirements change, with pip).
func formatsPython(t *testing.T) string {
	t.Helper()
	cache := os.Getenv("STREAMSCORE_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(home, ".cache", "streamscore")
	}
	req := filepath.Join(repoRoot(t), "testdata/formats/requirements.txt")
	raw, err := os.ReadFile(req)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	venv := filepath.Join(cache, "venv-formats")
	py := filepath.Join(venv, "bin", "python")
	marker := filepath.Join(venv, "requirements.sha256")
	if got, err := os.ReadFile(marker); err != nil || strings.TrimSpace(string(got)) != hex.EncodeToString(sum[:]) {
		os.RemoveAll(venv)
		for _, args := range [][]string{{"python3", "-m", "venv", venv}, {py, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", req}} {
			if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		if err := os.WriteFile(marker, []byte(hex.EncodeToString(sum[:])+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return py
}

// thirdPartyEncode encodes JSONL events with testdata/formats/encode.py
// (fastavro or protobuf) and returns the framed values in order.
func thirdPartyEncode(t *testing.T, py string, jsonl []byte, args ...string) [][]byte {
	t.Helper()
	cmd := exec.Command(py, append([]string{filepath.Join(repoRoot(t), "testdata/formats/encode.py")}, args...)...)
	cmd.Stdin = bytes.NewReader(jsonl)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("encode.py %v: %v\n%s", args, err, stderr.String())
	}
	var frames [][]byte
	for len(out) >= 4 {
		n := int(binary.BigEndian.Uint32(out))
		frames = append(frames, out[4:4+n])
		out = out[4+n:]
	}
	return frames
}

// formatSpec writes the linear schema with format and registry lines.
func formatSpec(t *testing.T, format, files string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "testdata/linear.schema.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), format+".schema.yaml")
	body := string(b)
	if format != "json" {
		body += "format: " + format + "\nregistry:\n  files: {" + files + "}\n"
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// formatRun is one `streamscore run` over one input topic.
type formatRun struct {
	name               string
	in, out, dlq, cfg  string
	values             []kafka.Message
	dead               map[string]string // dead-letter value -> reason
	cmd                *exec.Cmd
	scored, deadLetter []kafka.Message
}

// TestFormatsScoreLikeJSON produces the same events as JSON, as Avro
// written by fastavro and as Protobuf written by Python's protobuf (the
// test writes the 5-byte prefix), scores each topic with `run`, and checks
// every binary event's score and passthrough equal the JSON path's; that
// writer schemas with an extra field and without an optional one score
// like the JSON rows they stand for; and that an unknown schema id, a
// truncated record and a wrong magic byte are dead letters with their
// reasons and their bytes untouched. Nothing is lost.
func TestFormatsScoreLikeJSON(t *testing.T) {
	brokers := servicetest.Brokers(t)
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	py := formatsPython(t)
	root := repoRoot(t)
	fdir := filepath.Join(root, "testdata/formats")

	const n, nV2 = 3000, 50
	evs := makeEvents(n, 300, 18)
	var jsonl, jsonlV2, jsonlV2JSON bytes.Buffer
	for _, e := range evs {
		jsonl.Write(e.value)
		jsonl.WriteByte('\n')
	}
	// Events of the second Avro writer schema: an extra enum and decimal,
	// no f31. The JSON topic gets the same rows without f31.
	v2 := makeEvents(nV2, 50, 19)
	for i := range v2 {
		var m map[string]any
		if err := json.Unmarshal(v2[i].value, &m); err != nil {
			t.Fatal(err)
		}
		m["event_id"] = fmt.Sprintf("v2-%d", i)
		delete(m, "f31")
		b, _ := json.Marshal(m)
		jsonlV2JSON.Write(append(b, '\n'))
		m["channel"], m["amount"] = "APP", 12.34
		b, _ = json.Marshal(m)
		jsonlV2.Write(append(b, '\n'))
		v2[i].id = m["event_id"].(string)
	}
	avroFrames := thirdPartyEncode(t, py, jsonl.Bytes(), "avro", filepath.Join(fdir, "payments.avsc"), "1")
	avroV2 := thirdPartyEncode(t, py, jsonlV2.Bytes(), "avro", filepath.Join(fdir, "payments_v2.avsc"), "2")
	protoFrames := thirdPartyEncode(t, py, jsonl.Bytes(), "protobuf", filepath.Join(fdir, "payments.desc"), "3", "streamscore.test.Payment")
	if len(avroFrames) != n || len(protoFrames) != n || len(avroV2) != nV2 {
		t.Fatalf("encoded %d avro, %d protobuf, %d avro v2 events", len(avroFrames), len(protoFrames), len(avroV2))
	}

	msgs := func(values [][]byte, from []inputEvent) []kafka.Message {
		out := make([]kafka.Message, len(values))
		for i, v := range values {
			out[i] = kafka.Message{Key: []byte(from[i].key), Value: v}
		}
		return out
	}
	reframe := func(v []byte, id uint32) []byte {
		return append(binary.BigEndian.AppendUint32([]byte{0}, id), v[5:]...)
	}
	avroPoison := map[string]string{
		string(reframe(avroFrames[0], 99)):              string(schemas.ReasonUnknownSchema),
		string(avroFrames[1][:len(avroFrames[1])-7]):    string(schemas.ReasonMalformed),
		string(append([]byte{1}, avroFrames[2][1:]...)): string(schemas.ReasonMalformed),
	}
	protoPoison := map[string]string{
		string(reframe(protoFrames[0], 77)):              string(schemas.ReasonUnknownSchema),
		string(append([]byte{6}, protoFrames[1][1:]...)): string(schemas.ReasonMalformed),
	}
	var jsonValues []kafka.Message
	for _, e := range evs {
		jsonValues = append(jsonValues, kafka.Message{Key: []byte(e.key), Value: e.value})
	}
	for i, line := range bytes.Split(bytes.TrimSpace(jsonlV2JSON.Bytes()), []byte("\n")) {
		jsonValues = append(jsonValues, kafka.Message{Key: []byte(v2[i].key), Value: line})
	}
	runs := []*formatRun{
		{name: "json", values: jsonValues},
		{name: "avro", values: append(msgs(avroFrames, evs), msgs(avroV2, v2)...), dead: avroPoison},
		{name: "protobuf", values: msgs(protoFrames, evs), dead: protoPoison},
	}
	files := map[string]string{
		"json":     "",
		"avro":     "1: " + filepath.Join(fdir, "payments.avsc") + ", 2: " + filepath.Join(fdir, "payments_v2.avsc"),
		"protobuf": "3: " + filepath.Join(fdir, "payments.desc"),
	}
	for _, r := range runs {
		for v := range r.dead {
			r.values = append(r.values, kafka.Message{Key: []byte("poison"), Value: []byte(v)})
		}
		var group string
		r.in, r.out, r.dlq, group = uniqueTopics("it-format-" + r.name)
		r.cfg = writeConfig(t, fmt.Sprintf(`
brokers: ["${STREAMSCORE_BROKERS}"]
group: %s
topics: {input: %s, output: %s, dlq: %s, partitions: 4}
schema: %s
model: {path: %s/testdata/models/linear.onnx, name: linear, version: "1"}
batch: {max_rows: 512, max_wait: 10ms}
http: {addr: "127.0.0.1:0"}
log: {format: json}
`, group, r.in, r.out, r.dlq, formatSpec(t, r.name, files[r.name]), root))
		if b, err := exec.Command(binPath, "topics", "create", "--config", r.cfg).CombinedOutput(); err != nil {
			t.Fatalf("topics create: %v\n%s", err, b)
		}
		w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: r.in, Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond}
		if err := producers.WriteFresh(t.Context(), w, r.values); err != nil {
			t.Fatalf("producing %s: %v", r.name, err)
		}
		w.Close()
	}
	for _, r := range runs {
		r.cmd, _ = startRun(t, r.cfg)
	}
	for _, r := range runs {
		r.scored = readAll(t, brokers, r.out, len(r.values)-len(r.dead), 90*time.Second)
		if len(r.dead) > 0 {
			r.deadLetter = readAll(t, brokers, r.dlq, len(r.dead), 30*time.Second)
		}
		r.cmd.Process.Signal(syscall.SIGTERM)
		if err := r.cmd.Wait(); err != nil {
			t.Errorf("%s: run did not exit 0 after SIGTERM: %v", r.name, err)
		}
	}

	type scored struct {
		score float64
		pass  string
	}
	byID := func(r *formatRun) map[string]scored {
		out := map[string]scored{}
		for _, m := range r.scored {
			var ev scoredEvent
			if err := json.Unmarshal(m.Value, &ev); err != nil {
				t.Fatalf("%s: scored event is not JSON: %s", r.name, m.Value)
			}
			if _, dup := out[ev.ID]; dup {
				t.Fatalf("%s: %s scored twice", r.name, ev.ID)
			}
			p, _ := json.Marshal(ev.Pass)
			out[ev.ID] = scored{ev.Scores["score"], string(p)}
		}
		return out
	}
	want := byID(runs[0])
	if len(want) != n+nV2 {
		t.Fatalf("json: %d scored events, want %d", len(want), n+nV2)
	}
	for _, r := range runs[1:] {
		got := byID(r)
		if len(got) != len(r.values)-len(r.dead) {
			t.Fatalf("%s: %d scored events, want %d", r.name, len(got), len(r.values)-len(r.dead))
		}
		for id, g := range got {
			// The inputs are the same float32s; ONNX Runtime's sums may
			// round one float32 step differently in batches of other
			// shapes, so scores agree within 1e-6, not bit for bit.
			w, ok := want[id]
			if !ok || g.pass != w.pass || math.Abs(g.score-w.score) > 1e-6*math.Max(1, math.Abs(w.score)) {
				t.Fatalf("%s: event %s scored %+v, the JSON path %+v", r.name, id, g, w)
			}
		}
		if len(r.deadLetter) != len(r.dead) {
			t.Fatalf("%s: %d dead letters, want %d", r.name, len(r.deadLetter), len(r.dead))
		}
		for _, m := range r.deadLetter {
			reason := ""
			for _, h := range m.Headers {
				if h.Key == schemas.HeaderReason {
					reason = string(h.Value)
				}
			}
			if wantReason, ok := r.dead[string(m.Value)]; !ok || reason != wantReason {
				t.Fatalf("%s: dead letter with reason %q (want %q; bytes untouched: %v)", r.name, reason, wantReason, ok)
			}
		}
	}

	// dlq redrive sends the Avro dead letters back byte for byte.
	redriven, _, _, _ := uniqueTopics("it-format-redrive")
	createTopicsWith(t, brokers, nil, redriven)
	if b, err := exec.Command(binPath, "dlq", "redrive", "--brokers", strings.Join(brokers, ","), "--dlq-topic", runs[1].dlq,
		"--to-topic", redriven, "-q").CombinedOutput(); err != nil {
		t.Fatalf("dlq redrive: %v\n%s", err, b)
	}
	back := readAll(t, brokers, redriven, len(avroPoison), 30*time.Second)
	if len(back) != len(avroPoison) {
		t.Fatalf("redrive sent %d records, want %d", len(back), len(avroPoison))
	}
	for _, m := range back {
		if _, ok := avroPoison[string(m.Value)]; !ok {
			t.Fatalf("redriven value %x is not one of the dead letters' bytes", m.Value)
		}
	}

	// produce --format avro encodes a JSONL file with the schema; consume
	// --schema prints the topic's values back as JSON.
	spec := formatSpec(t, "avro", files["avro"])
	topic, _, _, _ := uniqueTopics("it-format-cli")
	createTopicsWith(t, brokers, nil, topic)
	file := filepath.Join(t.TempDir(), "events.jsonl")
	lines := bytes.SplitAfter(jsonl.Bytes(), []byte("\n"))[:5]
	if err := os.WriteFile(file, bytes.Join(lines, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	bflag := strings.Join(brokers, ",")
	if b, err := exec.Command(binPath, "produce", "--brokers", bflag, "--topic", topic, "--file", file, "--key", "user_id", "-q",
		"--format", "avro", "--schema", spec, "--schema-id", "1").CombinedOutput(); err != nil {
		t.Fatalf("produce --format avro: %v\n%s", err, b)
	}
	out, err := exec.Command(binPath, "consume", "--brokers", bflag, "--topic", topic,
		"--from-beginning", "--max", "5", "--timeout", "20s", "--schema", spec).Output()
	if err != nil {
		t.Fatalf("consume --schema: %v", err)
	}
	got := map[string]float64{}
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var ev struct {
			ID  string  `json:"event_id"`
			F00 float64 `json:"f00"`
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatalf("consume --schema printed %q: %v", line, err)
		}
		got[ev.ID] = ev.F00
	}
	for _, e := range evs[:5] {
		if v, ok := got[e.id]; !ok || float32(v) != e.feats[0] {
			t.Fatalf("consume --schema: %s has f00 %v (found %v), want %v", e.id, v, ok, e.feats[0])
		}
	}
}
