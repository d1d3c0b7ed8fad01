//go:build integration

package features

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/redis/go-redis/v9"

	"github.com/streamscore/streamscore/internal/servicetest"
	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/schemas"
)

var typedDir = filepath.Join("..", "..", "testdata", "models", "typed")

// deviceSpec is the DataFrame pipeline's schema with device read from a
// feature set (hash layout) instead of the event, next to a number.
const deviceSpec = `
name: df_pipeline
version: "1"
id: id
features:
  - {name: amount, type: float32}
  - {name: n_items, type: int64}
  - {name: country, type: string, max_length: 16}
feature_sets:
  - name: devices
    layout: hash
    key: "dev:{id}"
    features:
      - {name: device, type: string, default_string: web}
      - {name: visits, default: -1}
model:
  outputs:
    - {name: output_label, as: label}
    - {name: output_probability, as: probabilities}
`

// TestStringFeaturesFromRedis loads a feature set with a string feature
// through ReadFile and Writer into a real Redis, enriches the fixture
// events (the string lands in its own column, the number in the matrix;
// a second batch is served from the cache), checks an unknown entity gets
// the default, and scores the enriched batch with the DataFrame pipeline:
// every score equals Python onnxruntime's, which saw the device in the
// event.
func TestStringFeaturesFromRedis(t *testing.T) {
	srv := servicetest.StartRedis(t, servicetest.RedisOptions{})
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, DialTimeout: time.Second})
	t.Cleanup(func() { client.Close() })
	spec := parseSpec(t, deviceSpec)
	fs := &spec.FeatureSets[0]
	if spec.Columns() != 3 || fs.Offset != 2 || spec.FeatureColumn("device") < 0 {
		t.Fatalf("matrix of %d columns, set offset %d, device column %d: want amount, n_items, visits in the matrix and device in its own column", spec.Columns(), fs.Offset, spec.FeatureColumn("device"))
	}

	// The fixture events, and a features file of their devices.
	raw, err := os.ReadFile(filepath.Join(typedDir, "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var (
		msgs    []schemas.Message
		devices []string
		file    bytes.Buffer
	)
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for i := 0; sc.Scan(); i++ {
		var ev struct {
			ID     string `json:"id"`
			Device string `json:"device"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, schemas.Message{Value: bytes.Clone(sc.Bytes()), Offset: int64(i)})
		devices = append(devices, ev.Device)
		fmt.Fprintf(&file, "{\"id\":%q,\"device\":%q,\"visits\":%d}\n", ev.ID, ev.Device, i)
	}
	path := filepath.Join(t.TempDir(), "devices.jsonl")
	if err := os.WriteFile(path, file.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(client, fs, 0)
	if err != nil {
		t.Fatal(err)
	}
	stats, err := ReadFile(t.Context(), path, fs, 64, func(ents []Entity) error { return w.Write(t.Context(), ents) })
	if err != nil || stats.Rows != int64(len(msgs)) || stats.Defaulted != 0 {
		t.Fatalf("loading %s: %+v, %v; want %d rows, none defaulted", path, stats, err, len(msgs))
	}
	if got := client.HGet(t.Context(), "dev:t-0003", "device").Val(); got != devices[3] {
		t.Fatalf("stored device of t-0003 = %q, want %q in the hash", got, devices[3])
	}

	store, err := New(client, spec, Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dec := schemas.NewDecoder(spec, mem)
	enrich := func(msgs []schemas.Message) (*schemas.Decoded, schemas.EnrichResult) {
		t.Helper()
		d := dec.Decode(msgs)
		if len(d.Errors) > 0 {
			t.Fatalf("decoding: %v", d.Errors[0])
		}
		rows := int(d.Record.NumRows())
		if got := d.Record.Column(spec.FeatureColumn("device")).(*array.String).Value(0); got != "web" {
			t.Fatalf("device before enrichment = %q, want the default web", got)
		}
		in := schemas.EnrichInput{Features: d.Features(), Rows: rows, Cols: spec.Columns(), Keys: [][]string{make([]string, rows)}, Decoded: d}
		for r := range rows {
			in.Keys[0][r] = d.SetKeys(0).Value(r)
		}
		res, err := store.Enrich(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		return d, res
	}
	check := func(d *schemas.Decoded, want []string) {
		t.Helper()
		col := d.Record.Column(spec.FeatureColumn("device")).(*array.String)
		x := d.Features()
		for r := range want {
			if col.Value(r) != want[r] || x[r*3+2] != float32(r) {
				t.Fatalf("row %d: device %q visits %v, want %q and %d", r, col.Value(r), x[r*3+2], want[r], r)
			}
		}
	}

	d, res := enrich(msgs)
	defer d.Release()
	if res.Missing != nil {
		t.Fatalf("rows missing features: %v", res.Missing)
	}
	check(d, devices)
	trips := store.Stats().RoundTrips
	d2, _ := enrich(msgs[:50])
	check(d2, devices[:50])
	d2.Release()
	if st := store.Stats(); st.RoundTrips != trips || st.Hits < 50 {
		t.Fatalf("second batch: %d round trips (was %d), %d hits: want it served from the cache", st.RoundTrips, trips, st.Hits)
	}

	// An entity nobody stored: the defaults, and the row is flagged.
	unknown := []schemas.Message{{Value: []byte(`{"id":"nobody","amount":1,"n_items":1,"country":"DE"}`)}}
	d3, res3 := enrich(unknown)
	if got := d3.Record.Column(spec.FeatureColumn("device")).(*array.String).Value(0); got != "web" || res3.Missing == nil || !res3.Missing[0] || res3.MissingValues != 2 {
		t.Fatalf("unknown entity: device %q, missing %v (%d values): want web, flagged, 2 values", got, res3.Missing, res3.MissingValues)
	}
	if x := d3.Features(); x[2] != -1 {
		t.Fatalf("unknown entity: visits %v, want the default -1", x[2])
	}
	d3.Release()

	in, err := Inspect(t.Context(), client, fs, "dev:t-0001", time.Now())
	if err != nil || in.Status != "ok" || len(in.Strings) != 2 || in.Strings[0] != devices[1] || !in.Present[0] || in.Values[1] != 1 || !in.Present[1] {
		t.Fatalf("Inspect = %+v, %v; want device %q and visits 1", in, err, devices[1])
	}

	// The enriched batch scores as Python scored the events.
	if err := model.Init(servicetest.Env(t, "ONNXRUNTIME_LIB")); err != nil {
		t.Fatal(err)
	}
	outs := []string{"output_label", "output_probability"}
	m, err := model.Open(model.Config{Path: filepath.Join(typedDir, "df_pipeline.onnx"), Outputs: outs, Sessions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Bind(spec, outs); err != nil {
		t.Fatal(err)
	}
	rows := int(d.Record.NumRows())
	scores, err := m.ScoreBatch(t.Context(), schemas.ScoreInput{Features: d.Features(), Rows: rows, Cols: spec.Columns(), Columns: d.Record})
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Outputs struct {
			Label []float64            `json:"output_label"`
			Probs []map[string]float64 `json:"output_probability"`
		} `json:"outputs"`
	}
	raw, err = os.ReadFile(filepath.Join(typedDir, "df_pipeline.expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	label, probs := scores[0], scores[1]
	for r := range rows {
		if label.Values[r] != want.Outputs.Label[r] {
			t.Fatalf("row %d label %v, Python %v", r, label.Values[r], want.Outputs.Label[r])
		}
		for k, class := range probs.Keys {
			if got, w := probs.Values[r*probs.Width+k], want.Outputs.Probs[r][class]; math.Abs(got-w) > 1e-6 {
				t.Fatalf("row %d p(%s) = %v, Python %v (device %q)", r, class, got, w, devices[r])
			}
		}
	}
	if !strings.Contains(strings.Join(probs.Keys, ","), "1") {
		t.Fatalf("ZipMap classes %v", probs.Keys)
	}
}
