package features

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/streamscore/streamscore/schemas"
)

const fileSpec = `
name: t
id: id
key: user
passthrough: [region]
features: [{name: x}]
feature_sets:
  - name: stats
    key: "u:{user}:{region}"
    features: [{name: spend, default: 0.5}, {name: count, default: 2}]
model: {input: x, outputs: [{name: y}]}
`

func parseSpec(t testing.TB, y string) *schemas.Spec {
	t.Helper()
	s, err := schemas.Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type readEntity struct {
	key  string
	vals []float32
}

func readAllEntities(t *testing.T, path string, fs *schemas.FeatureSet) ([]readEntity, FileStats, error) {
	t.Helper()
	var out []readEntity
	st, err := ReadFile(context.Background(), path, fs, 2, func(ents []Entity) error {
		if len(ents) > 2 {
			t.Fatalf("batch of %d entities, asked for 2", len(ents))
		}
		for _, e := range ents {
			out = append(out, readEntity{e.Key, slices.Clone(e.Values)})
		}
		return nil
	})
	return out, st, err
}

func TestReadJSONL(t *testing.T) {
	fs := &parseSpec(t, fileSpec).FeatureSets[0]
	path := filepath.Join(t.TempDir(), "f.jsonl")
	body := `{"user":"a\"1","region":"eu","spend":1.5,"count":3}

{"user":42,"region":"us","spend":null}
{"user":"b","region":"eu","count":7,"other":"ignored"}
`
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	got, st, err := readAllEntities(t, path, fs)
	if err != nil {
		t.Fatal(err)
	}
	want := []readEntity{
		{`u:a"1:eu`, []float32{1.5, 3}},
		{"u:42:us", []float32{0.5, 2}},
		{"u:b:eu", []float32{0.5, 7}},
	}
	if len(got) != len(want) {
		t.Fatalf("read %d entities, want %d: %v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].key != want[i].key || !slices.Equal(got[i].vals, want[i].vals) {
			t.Errorf("entity %d = %v, want %v", i, got[i], want[i])
		}
	}
	if st.Rows != 3 || st.Defaulted != 3 {
		t.Errorf("stats = %+v, want 3 rows, 3 defaulted", st)
	}
	if n, err := FileRows(path); err != nil || n != 3 {
		t.Errorf("FileRows = %d, %v; want 3", n, err)
	}
}

func TestReadJSONLErrorsNameTheLine(t *testing.T) {
	fs := &parseSpec(t, fileSpec).FeatureSets[0]
	cases := []struct{ name, body, want string }{
		{"missing key field", `{"user":"a","spend":1}`, `f.jsonl:1: key field "region" is missing`},
		{"not a number", `{"user":"a","region":"x"}` + "\n" + `{"user":"a","region":"x","spend":"lots"}`, `f.jsonl:2: feature "spend": not a number`},
		{"not JSON", `{"user":`, "f.jsonl:1: parsing JSON"},
		{"not an object", `[1]`, "f.jsonl:1: the line is not a JSON object"},
		{"too big", `{"user":"a","region":"x","spend":1e39}`, "does not fit float32"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.jsonl")
			os.WriteFile(path, []byte(tc.body), 0o644)
			_, _, err := readAllEntities(t, path, fs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestReadParquet reads the same entities from .parquet and .pq files.
func TestReadParquet(t *testing.T) {
	for _, ext := range []string{".parquet", ".pq"} {
		t.Run(ext, func(t *testing.T) { testReadParquet(t, ext) })
	}
}

func testReadParquet(t *testing.T, ext string) {
	fs := &parseSpec(t, fileSpec).FeatureSets[0]
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "user", Type: arrow.PrimitiveTypes.Int64},
		{Name: "region", Type: arrow.BinaryTypes.String},
		{Name: "spend", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "count", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"eu", "us", "eu"}, nil)
	b.Field(2).(*array.Float64Builder).AppendValues([]float64{1.5, 0, 2.5}, []bool{true, false, true})
	b.Field(3).(*array.Int32Builder).AppendValues([]int32{4, 5, 6}, nil)
	rec := b.NewRecord()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "f"+ext)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(schema, f, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, st, err := readAllEntities(t, path, fs)
	if err != nil {
		t.Fatal(err)
	}
	want := []readEntity{
		{"u:1:eu", []float32{1.5, 4}},
		{"u:2:us", []float32{0.5, 5}},
		{"u:3:eu", []float32{2.5, 6}},
	}
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
}
