package rowfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/hamba/avro/v2/ocf"
)

// testAvroSchema covers the types rows carry: primitives, logical
// timestamps, dates and decimals, enums, fixed, nullable unions, arrays
// (embeddings), maps and nested records.
const testAvroSchema = `{
 "type": "record", "name": "Row", "fields": [
  {"name": "id", "type": "string"},
  {"name": "n", "type": "int"},
  {"name": "big", "type": "long"},
  {"name": "f", "type": "float"},
  {"name": "d", "type": "double"},
  {"name": "ok", "type": "boolean"},
  {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
  {"name": "tus", "type": {"type": "long", "logicalType": "timestamp-micros"}},
  {"name": "day", "type": {"type": "int", "logicalType": "date"}},
  {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}},
  {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]}},
  {"name": "raw", "type": "bytes"},
  {"name": "opt", "type": ["null", "float"], "default": null},
  {"name": "emb", "type": {"type": "array", "items": "float"}},
  {"name": "tags", "type": {"type": "map", "values": "long"}},
  {"name": "geo", "type": {"type": "record", "name": "Geo", "fields": [{"name": "lat", "type": "double"}]}}
 ]}`

func testAvroRow(i int) map[string]any {
	var opt any
	if i%3 != 0 {
		opt = float32(i) / 4
	}
	return map[string]any{
		"id": fmt.Sprintf("r%03d", i), "n": i, "big": int64(i) << 40, "f": float32(i) + 0.5, "d": float64(i) / 3,
		"ok": i%2 == 0, "ts": time.UnixMilli(1_700_000_000_000 + int64(i)).UTC(), "tus": time.UnixMicro(1_700_000_000_000_000 + int64(i)*1000).UTC(),
		"day":    time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
		"amount": big.NewRat(int64(i*100-1234), 100), "color": []string{"RED", "GREEN"}[i%2], "raw": []byte{byte(i), 0xff},
		"opt": opt, "emb": []float32{float32(i), -1}, "tags": map[string]any{"k": int64(i)}, "geo": map[string]any{"lat": 1.5},
	}
}

// writeAvro writes rows to an Avro container file with codec, blocks of
// at most block rows.
func writeAvro(t testing.TB, dir, name, schema string, codec ocf.CodecName, block int, rows []map[string]any) string {
	t.Helper()
	var buf bytes.Buffer
	enc, err := ocf.NewEncoder(schema, &buf, ocf.WithCodec(codec), ocf.WithBlockLength(block))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
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

// rowsJSON reads path with Records and returns every row as the JSON
// object AppendJSON makes of it, plus the column types.
func rowsJSON(t *testing.T, path string, columns []string, batch int) (rows []string, types []string, records int) {
	t.Helper()
	err := Records(t.Context(), path, columns, batch, func(rec arrow.Record) error {
		records++
		if types == nil {
			for _, f := range rec.Schema().Fields() {
				types = append(types, f.Name+":"+f.Type.String())
			}
		}
		for i := range int(rec.NumRows()) {
			b := []byte{'{'}
			for c, f := range rec.Schema().Fields() {
				if c > 0 {
					b = append(b, ',')
				}
				b = append(b, fmt.Sprintf("%q:", f.Name)...)
				b = ValueAt(rec.Column(c), i).AppendJSON(b)
			}
			rows = append(rows, string(append(b, '}')))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows, types, records
}

func TestAvroRecordsEveryCodec(t *testing.T) {
	dir := t.TempDir()
	var rows []map[string]any
	for i := range 25 {
		rows = append(rows, testAvroRow(i))
	}
	var first []string
	for _, codec := range []ocf.CodecName{ocf.Null, ocf.Deflate, ocf.Snappy, ocf.ZStandard} {
		t.Run(string(codec), func(t *testing.T) {
			p := writeAvro(t, dir, string(codec)+".avro", testAvroSchema, codec, 7, rows)
			n, err := Count(t.Context(), p)
			if err != nil || n != 25 {
				t.Fatalf("Count = %d, %v; want 25", n, err)
			}
			got, types, recs := rowsJSON(t, p, nil, 10)
			if len(got) != 25 || recs != 3 {
				t.Fatalf("%d rows in %d records, want 25 in 3", len(got), recs)
			}
			wantTypes := "id:utf8 n:int32 big:int64 f:float32 d:float64 ok:bool ts:timestamp[ms, tz=UTC] tus:timestamp[us, tz=UTC] day:timestamp[ms, tz=UTC] amount:float64 color:utf8 raw:binary opt:float32 emb:list<item: float32, nullable> tags:map<utf8, int64, items_nullable> geo:struct<lat: float64>"
			if g := strings.Join(types, " "); g != wantTypes {
				t.Fatalf("types\n got %s\nwant %s", g, wantTypes)
			}
			want := []string{
				`{"id":"r000","n":0,"big":0,"f":0.5,"d":0,"ok":true,"ts":1700000000000,"tus":1700000000000,"day":1767312000000,"amount":-12.34,"color":"RED","raw":"AP8=","opt":null,"emb":[0,-1],"tags":[{"key":"k","value":0}],"geo":{"lat":1.5}}`,
				`{"id":"r001","n":1,"big":1099511627776,"f":1.5,"d":0.3333333333333333,"ok":false,"ts":1700000000001,"tus":1700000000001,"day":1767312000000,"amount":-11.34,"color":"GREEN","raw":"Af8=","opt":0.25,"emb":[1,-1],"tags":[{"key":"k","value":1}],"geo":{"lat":1.5}}`,
			}
			for i, w := range want {
				if got[i] != w {
					t.Fatalf("row %d\n got %s\nwant %s", i, got[i], w)
				}
			}
			if first == nil {
				first = got
			} else if strings.Join(first, "\n") != strings.Join(got, "\n") {
				t.Fatal("rows differ between codecs")
			}
		})
	}
}

func TestAvroRecordsColumns(t *testing.T) {
	p := writeAvro(t, t.TempDir(), "a.avro", testAvroSchema, ocf.Deflate, 100, []map[string]any{testAvroRow(1), testAvroRow(2)})
	got, types, _ := rowsJSON(t, p, []string{"f", "absent", "id"}, 0)
	if strings.Join(types, " ") != "id:utf8 f:float32" {
		t.Fatalf("columns %v, want id and f in the file's order", types)
	}
	if got[1] != `{"id":"r002","f":2.5}` {
		t.Fatalf("row 2 = %s", got[1])
	}
}

func TestAvroCorruptAndTruncatedFiles(t *testing.T) {
	dir := t.TempDir()
	var rows []map[string]any
	for i := range 12 {
		rows = append(rows, testAvroRow(i))
	}
	for _, codec := range []ocf.CodecName{ocf.Null, ocf.Deflate} {
		good, err := os.ReadFile(writeAvro(t, dir, "good.avro", testAvroSchema, codec, 5, rows))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "bad.avro")
		// Every truncation fails with an error wrapping ErrCorrupt (a cut
		// inside the schema text: a schema that does not parse), except a
		// cut at a block boundary, which leaves a shorter valid file: the
		// format cannot tell it from one written that way.
		boundaries := 0
		header := bytes.Index(good, good[len(good)-16:]) + 16
		for cut := 0; cut < len(good); cut++ {
			if cut < header-32 && cut%16 != 0 || codec != ocf.Null && cut%5 != 0 {
				continue // the schema text, and the second codec: a sample is enough
			}
			if err := os.WriteFile(p, good[:cut], 0o644); err != nil {
				t.Fatal(err)
			}
			n := 0
			err := Records(context.Background(), p, nil, 4, func(rec arrow.Record) error { n += int(rec.NumRows()); return nil })
			c, cerr := Count(context.Background(), p)
			if err == nil {
				if n%5 != 0 || cerr != nil || c != int64(n) {
					t.Fatalf("%s cut at %d of %d bytes: %d rows and no error; Count %d, %v", codec, cut, len(good), n, c, cerr)
				}
				boundaries++
				continue
			}
			if !errors.Is(err, ErrCorrupt) && !strings.Contains(err.Error(), "parsing its schema") {
				t.Fatalf("%s cut at %d: %v does not wrap ErrCorrupt", codec, cut, err)
			}
			if cerr == nil {
				t.Fatalf("%s cut at %d: Records failed (%v), Count did not", codec, cut, err)
			}
		}
		if codec == ocf.Null && boundaries != 3 { // after the header, after blocks 1 and 2
			t.Fatalf("%s: %d cuts read without error, want 3", codec, boundaries)
		}
		// Flipping a byte (one in three past the schema) never crashes; a flip in the sync
		// marker or a block's framing is reported.
		for i := header - 32; i < len(good) && codec == ocf.Null; i += 3 {
			bad := bytes.Clone(good)
			bad[i] ^= 0x5a
			if err := os.WriteFile(p, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			_ = Records(context.Background(), p, nil, 4, func(arrow.Record) error { return nil })
			_, _ = Count(context.Background(), p)
		}
	}
	good, err := os.ReadFile(writeAvro(t, dir, "g.avro", testAvroSchema, ocf.Null, 5, rows))
	if err != nil {
		t.Fatal(err)
	}
	x := filepath.Join(dir, "x.avro")
	bad := bytes.Clone(good)
	bad[len(bad)-1] ^= 1 // the last sync marker
	if err := os.WriteFile(x, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	err = Records(context.Background(), x, nil, 0, func(arrow.Record) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "block 3: the sync marker") {
		t.Fatalf("a wrong sync marker gave %v", err)
	}
	if err := os.WriteFile(x, []byte("PAR1 not avro"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Records(context.Background(), x, nil, 0, func(arrow.Record) error { return nil }); err == nil || !strings.Contains(err.Error(), "Avro magic bytes") {
		t.Fatalf("a file that is not Avro gave %v", err)
	}
}

func TestAvroSchemaNotRead(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, schema, want string }{
		{"union", `{"type":"record","name":"R","fields":[{"name":"u","type":["int","string"]}]}`, "a union of several types"},
		{"not a record", `"long"`, "not records"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			enc, err := ocf.NewEncoder(tc.schema, &buf)
			if err != nil {
				t.Fatal(err)
			}
			enc.Close()
			path := filepath.Join(dir, "s.avro")
			os.WriteFile(path, buf.Bytes(), 0o644)
			err = Records(t.Context(), path, nil, 0, func(arrow.Record) error { return nil })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestAvroExpandAndFormat(t *testing.T) {
	if f, err := FormatOf("x.AVRO"); err != nil || f != Avro || !f.Columnar() {
		t.Fatalf("FormatOf(x.AVRO) = %v, %v", f, err)
	}
	if JSONL.Columnar() {
		t.Fatal("JSONL is not columnar")
	}
	_, err := FormatOf("x.csv")
	if err == nil || !strings.Contains(err.Error(), ".avro") {
		t.Fatalf("the unknown-type error does not name .avro: %v", err)
	}
	dir := t.TempDir()
	writeAvro(t, dir, "b.avro", testAvroSchema, ocf.Null, 10, []map[string]any{testAvroRow(0)})
	writeAvro(t, dir, "a.avro", testAvroSchema, ocf.Null, 10, []map[string]any{testAvroRow(0)})
	got, err := Expand([]string{filepath.Join(dir, "*.avro")})
	if err != nil || len(got) != 2 || filepath.Base(got[0]) != "a.avro" {
		t.Fatalf("Expand = %v, %v", got, err)
	}
}

func FuzzAvroRecords(f *testing.F) {
	dir := f.TempDir()
	for _, codec := range []ocf.CodecName{ocf.Null, ocf.Deflate, ocf.Snappy} {
		good, err := os.ReadFile(writeAvro(f, dir, "seed.avro", testAvroSchema, codec, 2, []map[string]any{testAvroRow(1), testAvroRow(2), testAvroRow(3)}))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(good)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "f.avro")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		n := 0
		err := Records(context.Background(), path, nil, 3, func(rec arrow.Record) error {
			n += int(rec.NumRows())
			return nil
		})
		c, cerr := Count(context.Background(), path)
		if err == nil && (cerr != nil || int64(n) != c) {
			t.Fatalf("Records read %d rows, Count says %d (%v)", n, c, cerr)
		}
	})
}
