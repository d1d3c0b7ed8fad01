//go:build integration

package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/internal/sample"
	"github.com/streamscore/streamscore/internal/servicetest"
	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/pipeline/rowfile"
	"github.com/streamscore/streamscore/schemas"
)

// TestReplayFastavroFilesScoreLikeJSONL writes sample events as JSONL and,
// with Python's fastavro, as Avro container files (codecs null and
// deflate, many blocks), replays each through ONNX Runtime with the linear
// model, and checks every scored row equals the JSONL replay's: ids,
// keys, times, offsets, and scores within float32 rounding (batches form
// by timing, and ONNX Runtime may round a row differently in another batch
// shape). Rows with a NaN feature are dead letters
// (non_finite: reject) in both; an optional feature absent from a JSONL
// line and null in Avro takes its default in both. A fastavro file cut in
// the middle fails the replay with an error naming the block.
func TestReplayFastavroFilesScoreLikeJSONL(t *testing.T) {
	lib := servicetest.Env(t, "ONNXRUNTIME_LIB")
	if err := model.Init(lib); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("..", "..")
	py := servicetest.PythonVenv(t, "formats", filepath.Join(root, "testdata/formats/requirements.txt"))
	spec, err := schemas.Load(filepath.Join(root, "testdata/linear.schema.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := model.OpenScorer(t.Context(), model.Config{Path: filepath.Join(root, "testdata/models/linear.onnx"), Name: "linear", Version: "1", Sessions: 1}, 8, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()

	const n = 3000
	var jsonl bytes.Buffer
	i := 0
	if _, err := sample.Events(sample.Config{N: n, Seed: 18, Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}, func(line []byte, _ bool) error {
		var ev map[string]any
		if err := json.Unmarshal(line, &ev); err != nil {
			return err
		}
		switch {
		case i%97 == 5:
			line = bytes.Replace(line, []byte(`"f00":`), []byte(`"f00":NaN,"was":`), 1)
		case i%13 == 0:
			delete(ev, "f30")
			line, _ = json.Marshal(ev)
		}
		i++
		jsonl.Write(line)
		jsonl.WriteByte('\n')
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	jl := filepath.Join(dir, "events.jsonl")
	if err := os.WriteFile(jl, jsonl.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	replay := func(path string) (*Report, []outRow) {
		t.Helper()
		src, err := NewFiles([]string{path})
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, filepath.Base(path)+".scored.jsonl")
		o, err := CreateFile(out)
		if err != nil {
			t.Fatal(err)
		}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		rep, err := Run(t.Context(), Config{Spec: spec, Source: src, Output: o, Mem: mem,
			Models: []Model{{Name: "m", Scorer: sc}}, Policy: pipeline.Policy{MaxRows: 256}})
		if err != nil {
			t.Fatalf("replaying %s: %v", path, err)
		}
		mem.AssertSize(t, 0)
		return rep, readRows(t, out)
	}
	want, wantRows := replay(jl)
	if want.Events != n || len(want.DeadLetters) != 1 || want.DeadLetters[0].Reason != string(schemas.ReasonNonFinite) || want.Scored != n-want.DeadLetters[0].Count {
		t.Fatalf("JSONL replay: %d events, %d scored, dead letters %+v", want.Events, want.Scored, want.DeadLetters)
	}

	for _, codec := range []string{"null", "deflate"} {
		t.Run(codec, func(t *testing.T) {
			av := filepath.Join(dir, "events-"+codec+".avro")
			cmd := exec.Command(py, filepath.Join(root, "testdata/formats/ocf.py"), filepath.Join(root, "testdata/formats/payments.avsc"), codec, av)
			cmd.Stdin = bytes.NewReader(jsonl.Bytes())
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("ocf.py: %v\n%s", err, out)
			}
			got, rows := replay(av)
			if got.Events != want.Events || got.Scored != want.Scored || !slices.Equal(got.DeadLetters, want.DeadLetters) {
				t.Fatalf("Avro replay: %d events, %d scored, dead letters %+v; JSONL: %d, %d, %+v",
					got.Events, got.Scored, got.DeadLetters, want.Events, want.Scored, want.DeadLetters)
			}
			if len(rows) != len(wantRows) {
				t.Fatalf("%d scored rows, JSONL %d", len(rows), len(wantRows))
			}
			for i := range rows {
				rows[i].Source = wantRows[i].Source
				// Batches form by timing, and ONNX Runtime may round a row
				// differently in another batch shape: scores agree within
				// float32 rounding, everything else exactly.
				ws, gs := wantRows[i].Scores["m"]["score"], rows[i].Scores["m"]["score"]
				if math.Abs(ws-gs) > 1e-6*math.Max(1, math.Abs(ws)) {
					t.Fatalf("row %d: score %v, JSONL %v", i, gs, ws)
				}
				rows[i].Scores = wantRows[i].Scores
				a, _ := json.Marshal(wantRows[i])
				b, _ := json.Marshal(rows[i])
				if !bytes.Equal(a, b) {
					t.Fatalf("row %d differs:\nJSONL %s\nAvro  %s", i, a, b)
				}
			}
			if codec != "deflate" {
				return
			}
			raw, err := os.ReadFile(av)
			if err != nil {
				t.Fatal(err)
			}
			cut := filepath.Join(dir, "cut.avro")
			if err := os.WriteFile(cut, raw[:len(raw)/2], 0o644); err != nil {
				t.Fatal(err)
			}
			src, err := NewFiles([]string{cut})
			if err != nil {
				t.Fatal(err)
			}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			_, err = Run(t.Context(), Config{Spec: spec, Source: src, Mem: mem, Models: []Model{{Name: "m", Scorer: sc}}, Policy: pipeline.Policy{MaxRows: 256}})
			if err == nil || !errors.Is(err, rowfile.ErrCorrupt) || !strings.Contains(err.Error(), "cut.avro") || !strings.Contains(err.Error(), "block") {
				t.Fatalf("replaying a cut fastavro file gave %v", err)
			}
			mem.AssertSize(t, 0)
		})
	}
}
