//go:build integration

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamscore/streamscore/internal/servicetest"
	"github.com/streamscore/streamscore/schemas"
)

// TestAvroScoredEvents scores the same JSON events twice, writing scored
// events as JSON and as Avro (topics.output_format: avro), and reads the
// Avro topic back with `consume --schema`: every event is there once, in
// the wire format with the configured schema id (or, when a registry runs,
// the id it gave the schema registered under <output>-value), and its
// scores, ids, offsets and passthrough equal the JSON run's.
func TestAvroScoredEvents(t *testing.T) {
	brokers := servicetest.Brokers(t)
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	root := repoRoot(t)
	registryURL := os.Getenv("STREAMSCORE_REGISTRY_URL")

	const n = 600
	evs := makeEvents(n, 60, 23)
	spec, err := schemas.Load(filepath.Join(root, "testdata/linear.schema.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text, err := schemas.ScoredAvroSchema(spec)
	if err != nil {
		t.Fatal(err)
	}
	const schemaID = 5
	avsc := filepath.Join(t.TempDir(), "scored.avsc")
	if err := os.WriteFile(avsc, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}

	type outRun struct {
		format, in, out, cfg string
		stop                 func()
	}
	var runs []*outRun
	for _, format := range []string{"json", "avro"} {
		r := &outRun{format: format}
		var dlq, group string
		r.in, r.out, dlq, group = uniqueTopics("it-output-" + format)
		extra := ""
		if format == "avro" {
			extra = fmt.Sprintf("output_format: avro, output_schema_id: %d", schemaID)
			if registryURL != "" {
				extra = "output_format: avro, output_registry: {url: " + registryURL + "}"
			}
			extra = ", " + extra
		}
		r.cfg = writeConfig(t, fmt.Sprintf(`
brokers: ["${STREAMSCORE_BROKERS}"]
group: %s
topics: {input: %s, output: %s, dlq: %s, partitions: 2%s}
schema: %s/testdata/linear.schema.yaml
model: {path: %s/testdata/models/linear.onnx, name: linear, version: "1"}
batch: {max_rows: 128, max_wait: 10ms}
http: {addr: "127.0.0.1:0"}
log: {format: json}
`, group, r.in, r.out, dlq, extra, root, root))
		createTopics(t, r.cfg)
		produce(t, brokers, r.in, evs)
		cmd, _ := startRun(t, r.cfg)
		r.stop = func() {
			cmd.Process.Signal(syscall.SIGTERM)
			if err := cmd.Wait(); err != nil {
				t.Errorf("%s: run did not exit 0 after SIGTERM: %v", format, err)
			}
		}
		runs = append(runs, r)
	}
	jsonOut := readAll(t, brokers, runs[0].out, n, 90*time.Second)
	avroOut := readAll(t, brokers, runs[1].out, n, 90*time.Second)
	for _, r := range runs {
		r.stop()
	}
	if len(jsonOut) != n || len(avroOut) != n {
		t.Fatalf("%d JSON and %d Avro scored events, want %d each", len(jsonOut), len(avroOut), n)
	}
	id := schemaID
	for i, m := range avroOut {
		got, _, err := schemas.ParseFrame(m.Value)
		if err != nil {
			t.Fatalf("Avro scored event %d is not in the wire format: %v", i, err)
		}
		if registryURL != "" && i == 0 {
			id = got // the id the registry gave
		}
		if got != id {
			t.Fatalf("Avro scored event %d carries schema id %d, want %d", i, got, id)
		}
	}

	// consume --schema renders the Avro topic as JSON, with the schema from
	// a local file keyed by id (or from the registry).
	reading := formatSpec(t, "avro", strconv.Itoa(schemaID)+": "+avsc)
	if registryURL != "" {
		reading = filepath.Join(t.TempDir(), "read.schema.yaml")
		b, _ := os.ReadFile(filepath.Join(root, "testdata/linear.schema.yaml"))
		os.WriteFile(reading, append(b, "format: avro\nregistry: {url: "+registryURL+"}\n"...), 0o644)
	}
	out, err := exec.Command(binPath, "consume", "--brokers", strings.Join(brokers, ","), "--topic", runs[1].out,
		"--from-beginning", "--max", strconv.Itoa(n), "--timeout", "30s", "--schema", reading).Output()
	if err != nil {
		t.Fatalf("consume --schema: %v", err)
	}

	type row struct {
		scores  map[string]json.RawMessage
		key     string
		eventTS int64
		pass    string
		model   string
	}
	parse := func(what string, b []byte) (string, row) {
		var ev struct {
			ID      string                     `json:"event_id"`
			Key     string                     `json:"key"`
			EventTS int64                      `json:"event_time"`
			Model   string                     `json:"model_version"`
			Scores  map[string]json.RawMessage `json:"scores"`
			Pass    map[string]any             `json:"passthrough"`
		}
		if err := json.Unmarshal(b, &ev); err != nil || ev.ID == "" {
			t.Fatalf("%s: %q is not a scored event: %v", what, b, err)
		}
		return ev.ID, row{ev.Scores, ev.Key, ev.EventTS, fmt.Sprint(ev.Pass["merchant"]), ev.Model}
	}
	want := map[string]row{}
	for _, m := range jsonOut {
		id, r := parse("JSON run", m.Value)
		want[id] = r
	}
	seen := map[string]bool{}
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	if len(lines) != n {
		t.Fatalf("consume --schema printed %d events, want %d", len(lines), n)
	}
	for _, line := range lines {
		id, g := parse("consume --schema", line)
		w, ok := want[id]
		if !ok || seen[id] {
			t.Fatalf("consume --schema: event %s unknown to the JSON run or repeated", id)
		}
		seen[id] = true
		if g.key != w.key || g.eventTS != w.eventTS || g.pass != w.pass || g.model != w.model {
			t.Fatalf("event %s: Avro %+v, JSON %+v", id, g, w)
		}
		var gs, ws float64
		if json.Unmarshal(g.scores["score"], &gs) != nil || json.Unmarshal(w.scores["score"], &ws) != nil {
			t.Fatalf("event %s: scores %s and %s are not numbers", id, g.scores["score"], w.scores["score"])
		}
		// Batches of other shapes may round a float32 step differently.
		if math.Abs(gs-ws) > 1e-6*math.Max(1, math.Abs(ws)) {
			t.Fatalf("event %s: Avro score %v, JSON %v", id, gs, ws)
		}
	}
}
