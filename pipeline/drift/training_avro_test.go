package drift

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hamba/avro/v2/ocf"
)

// writeTrainingAvro writes trainingRows as an Avro container file:
// absent values as nulls of nullable unions.
func writeTrainingAvro(t *testing.T, path string) {
	t.Helper()
	_, n := trainingRows()
	var buf bytes.Buffer
	enc, err := ocf.NewEncoder(`{"type":"record","name":"Train","fields":[
	 {"name":"id","type":"string"},
	 {"name":"x","type":["null","double"]},
	 {"name":"flag","type":["null","boolean"]},
	 {"name":"country","type":["null","string"]},
	 {"name":"spend","type":["null","float"]},
	 {"name":"score","type":"double"}]}`, &buf, ocf.WithCodec(ocf.Deflate), ocf.WithBlockLength(30))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		row := map[string]any{"id": fmt.Sprintf("r%d", i), "x": math.Sin(float64(i)) * 10, "flag": i%3 == 0,
			"country": []string{"de", "fr", "it", "de", "es"}[i%5], "spend": float32(i) / 7, "score": float64(i%10) / 10}
		if i == 3 {
			row["x"] = nil
		}
		if i == 5 {
			row["flag"] = nil
		}
		if i == 2 {
			row["country"] = nil
		}
		if i%4 == 0 {
			row["spend"] = nil
		}
		if err := enc.Encode(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTrainingAvroGivesTheJSONLBaseline builds a baseline from an Avro
// container file and from the same rows as JSONL: the same columns, bins
// and counts.
func TestTrainingAvroGivesTheJSONLBaseline(t *testing.T) {
	dir := t.TempDir()
	lines, n := trainingRows()
	jl := filepath.Join(dir, "train.jsonl")
	if err := os.WriteFile(jl, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	av := filepath.Join(dir, "train.avro")
	writeTrainingAvro(t, av)
	a, b := buildFrom(t, jl), buildFrom(t, av)
	if a.Rows != int64(n) || b.Rows != int64(n) {
		t.Fatalf("rows %d, %d; want %d", a.Rows, b.Rows, n)
	}
	if !reflect.DeepEqual(a.Columns, b.Columns) {
		t.Fatalf("JSONL and Avro baselines differ:\n%+v\n%+v", a.Columns, b.Columns)
	}
}
