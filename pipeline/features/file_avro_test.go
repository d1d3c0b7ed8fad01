package features

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hamba/avro/v2/ocf"
)

// TestReadAvro reads entities from an Avro container file as from Parquet:
// a long key field, a null feature taking its default; and a row whose
// feature is a string fails the load, naming the feature.
func TestReadAvro(t *testing.T) {
	fs := &parseSpec(t, fileSpec).FeatureSets[0]
	write := func(spendType string, rows ...map[string]any) string {
		var buf bytes.Buffer
		enc, err := ocf.NewEncoder(`{"type":"record","name":"E","fields":[
		 {"name":"user","type":"long"},{"name":"region","type":"string"},
		 {"name":"spend","type":["null",`+spendType+`]},{"name":"count","type":"int"}]}`, &buf, ocf.WithCodec(ocf.Deflate))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				t.Fatal(err)
			}
		}
		enc.Close()
		path := filepath.Join(t.TempDir(), "f.avro")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	path := write(`"double"`,
		map[string]any{"user": int64(1), "region": "eu", "spend": 1.5, "count": 4},
		map[string]any{"user": int64(2), "region": "us", "spend": nil, "count": 5},
		map[string]any{"user": int64(3), "region": "eu", "spend": 2.5, "count": 6})
	got, st, err := readAllEntities(t, path, fs)
	if err != nil {
		t.Fatal(err)
	}
	want := []readEntity{{"u:1:eu", []float32{1.5, 4}}, {"u:2:us", []float32{0.5, 5}}, {"u:3:eu", []float32{2.5, 6}}}
	if len(got) != 3 {
		t.Fatalf("read %v", got)
	}
	for i := range want {
		if got[i].key != want[i].key || !slices.Equal(got[i].vals, want[i].vals) {
			t.Errorf("entity %d = %v, want %v", i, got[i], want[i])
		}
	}
	if st.Rows != 3 || st.Defaulted != 1 {
		t.Errorf("stats = %+v, want 3 rows, 1 defaulted", st)
	}
	if n, err := FileRows(path); err != nil || n != 3 {
		t.Errorf("FileRows = %d, %v; want 3", n, err)
	}
	bad := write(`"string"`, map[string]any{"user": int64(1), "region": "eu", "spend": "lots", "count": 4})
	if _, _, err := readAllEntities(t, bad, fs); err == nil || !strings.Contains(err.Error(), `"spend"`) {
		t.Fatalf("a string feature gave %v", err)
	}
}
