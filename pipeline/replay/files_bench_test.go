package replay

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/hamba/avro/v2/ocf"

	"github.com/streamscore/streamscore/schemas"
)

const benchRows = 20000

// benchFiles writes benchRows events, 8 float features each, as JSONL,
// as Parquet and as an Avro container file (deflate).
func benchFiles(b *testing.B) (jsonl, parquet, avroFile string) {
	b.Helper()
	dir := b.TempDir()
	fields := []arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}, {Name: "user", Type: arrow.PrimitiveTypes.Int64}}
	for f := range 8 {
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("f%d", f), Type: arrow.PrimitiveTypes.Float32})
	}
	schema := arrow.NewSchema(fields, nil)
	rb := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer rb.Release()
	var sb strings.Builder
	avroSchema := `{"type":"record","name":"E","fields":[{"name":"id","type":"string"},{"name":"user","type":"long"}`
	for f := range 8 {
		avroSchema += fmt.Sprintf(`,{"name":"f%d","type":"float"}`, f)
	}
	var ab bytes.Buffer
	enc, err := ocf.NewEncoder(avroSchema+"]}", &ab, ocf.WithCodec(ocf.Deflate))
	if err != nil {
		b.Fatal(err)
	}
	for i := range benchRows {
		row := map[string]any{"id": fmt.Sprintf("e%d", i), "user": int64(i % 977)}
		fmt.Fprintf(&sb, `{"id":"e%d","user":%d`, i, i%977)
		rb.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("e%d", i))
		rb.Field(1).(*array.Int64Builder).Append(int64(i % 977))
		for f := range 8 {
			x := float32(i%1000)/7 + float32(f)
			fmt.Fprintf(&sb, `,"f%d":%v`, f, x)
			row[fmt.Sprintf("f%d", f)] = x
			rb.Field(2 + f).(*array.Float32Builder).Append(x)
		}
		sb.WriteString("}\n")
		if err := enc.Encode(row); err != nil {
			b.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		b.Fatal(err)
	}
	avroFile = filepath.Join(dir, "events.avro")
	if err := os.WriteFile(avroFile, ab.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	jsonl = filepath.Join(dir, "events.jsonl")
	if err := os.WriteFile(jsonl, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	rec := rb.NewRecord()
	defer rec.Release()
	parquet = filepath.Join(dir, "events.parquet")
	fh, err := os.Create(parquet)
	if err != nil {
		b.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(schema, fh, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return jsonl, parquet, avroFile
}

// BenchmarkFilesRun reads a file through the replay source, as the engine
// would, and reports events per second.
func BenchmarkFilesRun(b *testing.B) {
	jsonl, parquet, avroFile := benchFiles(b)
	for _, path := range []string{jsonl, parquet, avroFile} {
		b.Run(filepath.Ext(path)[1:], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				src, err := NewFiles([]string{path})
				if err != nil {
					b.Fatal(err)
				}
				out := make(chan schemas.Message, 1024)
				done := make(chan int)
				go func() {
					n := 0
					for range out {
						n++
					}
					done <- n
				}()
				if err := src.Run(b.Context(), out); err != nil {
					b.Fatal(err)
				}
				if n := <-done; n != benchRows {
					b.Fatalf("read %d events, want %d", n, benchRows)
				}
			}
			b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
