package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/hamba/avro/v2/ocf"

	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/pipeline/rowfile"
)

// testAvroSchema is testSpec's events as Avro: f0 nullable, so a row can
// miss it as a JSONL line can.
const testAvroSchema = `{"type": "record", "name": "Event", "fields": [
 {"name": "id", "type": "string"},
 {"name": "user", "type": "string"},
 {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
 {"name": "f0", "type": ["null", "float"]},
 {"name": "f1", "type": "float"},
 {"name": "merchant", "type": "string"},
 {"name": "y", "type": ["null", "long"], "default": null}]}`

// writeAvroEvents writes evs as an Avro container file with codec; a bad
// event is written with f0 null (and its JSONL twin gets "f0":null).
func writeAvroEvents(t *testing.T, dir, name string, codec ocf.CodecName, evs []testEvent) string {
	t.Helper()
	var buf bytes.Buffer
	enc, err := ocf.NewEncoder(testAvroSchema, &buf, ocf.WithCodec(codec), ocf.WithBlockLength(37))
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range evs {
		var f0, y any = e.f0, nil
		if e.bad {
			f0 = nil
		}
		if !math.IsNaN(e.label) {
			y = int64(e.label)
		}
		if err := enc.Encode(map[string]any{
			"id": e.id, "user": e.user, "ts": time.UnixMilli(e.ts).UTC(), "f0": f0, "f1": e.f1,
			"merchant": fmt.Sprintf("m-%d", i%7), "y": y,
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReplayAvroMatchesJSONL replays the same events from JSONL and from
// Avro container files of every codec: the scored rows, metrics and dead
// letters (a row whose feature is null) are the same.
func TestReplayAvroMatchesJSONL(t *testing.T) {
	dir := t.TempDir()
	evs := makeEvents(300, 5)
	for i := range evs {
		e := &evs[i]
		if e.bad { // a null feature instead of a string, which Avro's schema could not carry
			e.rawLine = fmt.Sprintf(`{"id":%q,"user":%q,"ts":%d,"f0":null,"f1":%s,"merchant":"m-%d"}`, e.id, e.user, e.ts, jsonFloat(e.f1), i%7)
		} else {
			e.rawLine = strings.Replace(e.rawLine, `"y":true`, `"y":1`, 1)
			e.rawLine = strings.Replace(e.rawLine, `"y":false`, `"y":0`, 1)
		}
	}
	jl := writeJSONL(t, dir, "events.jsonl", evs)
	a := replayFiles(t, []string{jl}, filepath.Join(dir, "a.jsonl"), nil)
	ra := readRows(t, filepath.Join(dir, "a.jsonl"))
	if a.Scored == 0 || len(a.DeadLetters) != 1 || a.DeadLetters[0].Count != 6 {
		t.Fatalf("JSONL replay: %d scored, dead letters %+v; want 6 dead letters", a.Scored, a.DeadLetters)
	}
	for _, codec := range []ocf.CodecName{ocf.Null, ocf.Deflate, ocf.Snappy, ocf.ZStandard} {
		t.Run(string(codec), func(t *testing.T) {
			av := writeAvroEvents(t, dir, string(codec)+".avro", codec, evs)
			src, err := NewFiles([]string{av})
			if err != nil {
				t.Fatal(err)
			}
			if n, err := src.Count(t.Context()); err != nil || n != int64(len(evs)) {
				t.Fatalf("Count = %d, %v; want %d", n, err, len(evs))
			}
			out := filepath.Join(dir, string(codec)+".out.jsonl")
			b := replayFiles(t, []string{av}, out, nil)
			rb := readRows(t, out)
			if len(ra) != len(rb) || b.Scored != a.Scored || b.Events != a.Events {
				t.Fatalf("JSONL gave %d rows of %d events, Avro %d of %d", len(ra), a.Events, len(rb), b.Events)
			}
			for i := range ra {
				if rb[i].Source != string(codec)+".avro" {
					t.Fatalf("Avro row source %q", rb[i].Source)
				}
				rb[i].Source = ra[i].Source
				ja, _ := json.Marshal(ra[i])
				jb, _ := json.Marshal(rb[i])
				if !bytes.Equal(ja, jb) {
					t.Fatalf("row %d differs:\nJSONL %s\nAvro  %s", i, ja, jb)
				}
			}
			if !slices.Equal(a.DeadLetters, b.DeadLetters) {
				t.Fatalf("dead letters: JSONL %+v, Avro %+v", a.DeadLetters, b.DeadLetters)
			}
			if a.Models[0].Classifier.ROCAUC != b.Models[0].Classifier.ROCAUC {
				t.Fatal("metrics differ between the JSONL and the Avro replay")
			}
		})
	}
}

func jsonFloat(f float32) string { b, _ := json.Marshal(f); return string(b) }

// TestReplayTruncatedAvroFails checks a truncated Avro file fails the
// replay with an error naming the file and the block, after scoring the
// blocks before the cut.
func TestReplayTruncatedAvroFails(t *testing.T) {
	dir := t.TempDir()
	var good []testEvent
	for _, e := range makeEvents(200, 7) {
		if !e.bad {
			good = append(good, e)
		}
	}
	av := writeAvroEvents(t, dir, "cut.avro", ocf.Deflate, good)
	raw, err := os.ReadFile(av)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(av, raw[:len(raw)-40], 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := NewFiles([]string{av})
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	_, err = Run(t.Context(), Config{Spec: parseSpec(t, testSpec), Source: src, Models: twoModels(), Policy: pipeline.Policy{MaxRows: 64}, Mem: mem})
	if err == nil || !errors.Is(err, rowfile.ErrCorrupt) || !strings.Contains(err.Error(), "cut.avro") || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("replaying a truncated Avro file gave %v", err)
	}
	mem.AssertSize(t, 0)
}
