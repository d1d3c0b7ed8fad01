package rowfile

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/valyala/fastjson"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFormatOf(t *testing.T) {
	for _, tc := range []struct {
		path string
		want Format
		ok   bool
	}{
		{"a.jsonl", JSONL, true},
		{"a.NDJSON", JSONL, true},
		{"a.json", JSONL, true},
		{"a.parquet", Parquet, true},
		{"a.PQ", Parquet, true},
		{"a.csv", "", false},
		{"a", "", false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			got, err := FormatOf(tc.path)
			if got != tc.want || (err == nil) != tc.ok {
				t.Fatalf("FormatOf(%q) = %q, %v; want %q, ok %v", tc.path, got, err, tc.want, tc.ok)
			}
			if err != nil && !strings.Contains(err.Error(), ".jsonl") {
				t.Errorf("error %q does not name the known extensions", err)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.jsonl", "a.jsonl", "c.pq", "skip.txt"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("{}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Expand([]string{filepath.Join(dir, "*.jsonl"), filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "c.pq")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl"), filepath.Join(dir, "c.pq")}
	if !slices.Equal(got, want) {
		t.Fatalf("Expand = %v, want %v", got, want)
	}
	for _, tc := range []struct {
		name     string
		patterns []string
		want     string
	}{
		{"no match", []string{filepath.Join(dir, "*.parquet")}, "no file matches"},
		{"missing", []string{filepath.Join(dir, "nope.jsonl")}, "no such file"},
		{"directory", []string{dir}, "is a directory"},
		{"unknown type", []string{filepath.Join(dir, "skip.txt")}, "unknown file type"},
		{"nothing", nil, "no input files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Expand(tc.patterns); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Expand(%v) = %v, want an error containing %q", tc.patterns, err, tc.want)
			}
		})
	}
}

type line struct {
	no   int64
	text string
}

func TestLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want []line
	}{
		{"trailing newline", "a\nb\n", []line{{1, "a"}, {2, "b"}}},
		{"no trailing newline", "a\nb", []line{{1, "a"}, {2, "b"}}},
		{"blank lines keep numbering", "\n  \t\r\na\n\nb\r\n", []line{{3, "a"}, {5, "b"}}},
		{"trimmed", "  {\"x\":1} \t\r\n", []line{{1, `{"x":1}`}}},
		{"empty file", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "f.jsonl", tc.body)
			var got []line
			err := Lines(t.Context(), path, 0, func(no int64, b []byte) error {
				got = append(got, line{no, string(b)})
				return nil
			})
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("Lines = %v, %v; want %v", got, err, tc.want)
			}
			n, err := Count(t.Context(), path)
			if err != nil || n != int64(len(tc.want)) {
				t.Fatalf("Count = %d, %v; want %d", n, err, len(tc.want))
			}
		})
	}
}

func TestLinesLongerThanTheLimit(t *testing.T) {
	long := strings.Repeat("x", 3<<20) // longer than the 1 MiB read buffer
	path := writeFile(t, "f.jsonl", "ok\n"+long+"\nafter\n")
	var got []int64
	err := Lines(t.Context(), path, 2<<20, func(no int64, _ []byte) error {
		got = append(got, no)
		return nil
	})
	var le *LineError
	if !errors.As(err, &le) || !errors.Is(err, ErrLineTooLong) || le.Line != 2 || le.Path != path {
		t.Fatalf("Lines = %v, want a *LineError at %s:2 wrapping ErrLineTooLong", err, path)
	}
	if !slices.Equal(got, []int64{1}) {
		t.Fatalf("lines before the failure = %v, want [1]", got)
	}
	// Under the limit, the same line is read whole.
	var size int
	if err := Lines(t.Context(), path, 4<<20, func(no int64, b []byte) error {
		if no == 2 {
			size = len(b)
		}
		return nil
	}); err != nil || size != len(long) {
		t.Fatalf("Lines with a 4 MiB limit = %v, line 2 of %d bytes; want nil, %d", err, size, len(long))
	}
	// Counting has no limit.
	if n, err := Count(t.Context(), path); err != nil || n != 3 {
		t.Fatalf("Count = %d, %v; want 3", n, err)
	}
}

func TestLinesStopsOnFnErrorAndContext(t *testing.T) {
	path := writeFile(t, "f.jsonl", strings.Repeat("{}\n", 3*ctxEvery))
	stop := errors.New("stop")
	var n int
	err := Lines(t.Context(), path, 0, func(int64, []byte) error {
		if n++; n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Fatalf("Lines = %v after %d lines, want fn's error after 2", err, n)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	n = 0
	err = Lines(ctx, path, 0, func(int64, []byte) error { n++; return nil })
	if !errors.Is(err, context.Canceled) || n >= 3*ctxEvery {
		t.Fatalf("Lines on a cancelled context = %v after %d lines, want context.Canceled early", err, n)
	}
}

func TestObjectsBadLinePolicy(t *testing.T) {
	path := writeFile(t, "f.jsonl", "{\"a\":1}\nnot json\n[1,2]\n{\"a\":2}\n")
	for _, tc := range []struct {
		policy      BadLines
		wantA       []int
		wantSkipped int64
		wantErr     string
	}{
		{SkipBadLines, []int{1, 2}, 2, ""},
		{FailOnBadLine, []int{1}, 0, path + ":2: parsing JSON"},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			var got []int
			skipped, err := Objects(t.Context(), path, Options{BadLines: tc.policy}, func(_ int64, o *fastjson.Object) error {
				got = append(got, o.Get("a").GetInt())
				return nil
			})
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.wantErr)) {
				t.Fatalf("Objects = %v, want error %q", err, tc.wantErr)
			}
			if !slices.Equal(got, tc.wantA) || skipped != tc.wantSkipped {
				t.Fatalf("Objects read %v, skipped %d; want %v, %d", got, skipped, tc.wantA, tc.wantSkipped)
			}
		})
	}
	// An array is JSON but not an object.
	path = writeFile(t, "g.jsonl", "[1]\n")
	if _, err := Objects(t.Context(), path, Options{}, func(int64, *fastjson.Object) error { return nil }); err == nil || err.Error() != path+":1: the line is not a JSON object" {
		t.Fatalf("Objects on an array = %v", err)
	}
}

func writeParquet(t *testing.T, rec arrow.Record) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.pq")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(rec.Schema(), f, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRecordsProjectsAndBatches(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Int64},
		{Name: "b", Type: arrow.BinaryTypes.String},
		{Name: "c", Type: arrow.PrimitiveTypes.Float32},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := range 10 {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append("s")
		b.Field(2).(*array.Float32Builder).Append(float32(i) / 2)
	}
	rec := b.NewRecord()
	defer rec.Release()
	path := writeParquet(t, rec)

	var sizes []int64
	var cols []string
	err := Records(t.Context(), path, []string{"c", "a", "missing"}, 4, func(r arrow.Record) error {
		sizes = append(sizes, r.NumRows())
		cols = cols[:0]
		for _, f := range r.Schema().Fields() {
			cols = append(cols, f.Name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sizes, []int64{4, 4, 2}) || !slices.Equal(cols, []string{"c", "a"}) {
		t.Fatalf("records of %v rows with columns %v; want [4 4 2] of [c a]", sizes, cols)
	}
	if n, err := Count(t.Context(), path); err != nil || n != 10 {
		t.Fatalf("Count = %d, %v; want 10", n, err)
	}
	stop := errors.New("stop")
	if err := Records(t.Context(), path, nil, 4, func(arrow.Record) error { return stop }); err != stop {
		t.Fatalf("Records = %v, want fn's error", err)
	}
}

func TestValueAt(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	build := func(dt arrow.DataType, fill func(array.Builder)) arrow.Array {
		b := array.NewBuilder(mem, dt)
		defer b.Release()
		fill(b)
		return b.NewArray()
	}
	f32 := build(arrow.PrimitiveTypes.Float32, func(b array.Builder) {
		b.(*array.Float32Builder).AppendValues([]float32{0.1, float32(math.Inf(-1))}, nil)
		b.AppendNull()
	})
	defer f32.Release()
	u64 := build(arrow.PrimitiveTypes.Uint64, func(b array.Builder) { b.(*array.Uint64Builder).Append(math.MaxUint64) })
	defer u64.Release()
	i8 := build(arrow.PrimitiveTypes.Int8, func(b array.Builder) { b.(*array.Int8Builder).Append(-3) })
	defer i8.Release()
	bl := build(arrow.FixedWidthTypes.Boolean, func(b array.Builder) { b.(*array.BooleanBuilder).Append(true) })
	defer bl.Release()
	str := build(arrow.BinaryTypes.LargeString, func(b array.Builder) { b.(*array.LargeStringBuilder).Append("a\"b") })
	defer str.Release()
	bin := build(arrow.BinaryTypes.Binary, func(b array.Builder) { b.(*array.BinaryBuilder).Append([]byte("hi")) })
	defer bin.Release()
	ts := build(&arrow.TimestampType{Unit: arrow.Microsecond}, func(b array.Builder) { b.(*array.TimestampBuilder).Append(1_700_000_000_123_456) })
	defer ts.Release()
	dict := build(&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}, func(b array.Builder) {
		b.(*array.BinaryDictionaryBuilder).AppendString("eu")
	})
	defer dict.Release()
	lst := build(arrow.ListOf(arrow.PrimitiveTypes.Int32), func(b array.Builder) {
		lb := b.(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Int32Builder).AppendValues([]int32{1, 2}, nil)
	})
	defer lst.Release()

	for _, tc := range []struct {
		name      string
		col       arrow.Array
		row       int
		kind      Kind
		json      string
		text      string
		num       float64
		numeric   bool
		isNumeric bool // Numeric(col.DataType())
	}{
		{"float32 shortest", f32, 0, Float, "0.1", "0.1", float64(float32(0.1)), true, true},
		{"float32 -inf", f32, 1, Float, "-Infinity", "-Infinity", math.Inf(-1), true, true},
		{"null", f32, 2, Null, "null", "", 0, false, true},
		{"uint64 exact", u64, 0, Uint, "18446744073709551615", "18446744073709551615", math.MaxUint64, true, true},
		{"int8", i8, 0, Int, "-3", "-3", -3, true, true},
		{"bool", bl, 0, Bool, "true", "true", 1, true, true},
		{"large string", str, 0, String, `"a\"b"`, `a"b`, 0, false, false},
		{"binary", bin, 0, Bytes, `"aGk="`, "hi", 0, false, false},
		{"timestamp", ts, 0, Time, "1700000000123", "1700000000123", 0, false, false},
		{"dictionary", dict, 0, String, `"eu"`, "eu", 0, false, false},
		{"list", lst, 0, Other, "[1,2]", "[1,2]", 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := ValueAt(tc.col, tc.row)
			if v.Kind != tc.kind {
				t.Fatalf("kind %d, want %d", v.Kind, tc.kind)
			}
			if got := string(v.AppendJSON(nil)); got != tc.json {
				t.Errorf("AppendJSON = %s, want %s", got, tc.json)
			}
			if got := string(v.AppendText([]byte("pre:"))); got != "pre:"+tc.text {
				t.Errorf("AppendText = %s, want pre:%s", got, tc.text)
			}
			if x, ok := v.Number(); ok != tc.numeric || ok && x != tc.num {
				t.Errorf("Number = %v, %v; want %v, %v", x, ok, tc.num, tc.numeric)
			}
			if got := Numeric(tc.col.DataType()); got != tc.isNumeric {
				t.Errorf("Numeric(%s) = %v, want %v", tc.col.DataType(), got, tc.isNumeric)
			}
		})
	}
}
