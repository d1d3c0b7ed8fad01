package features

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/valyala/fastjson"

	"github.com/streamscore/streamscore/schemas"
)

// FileStats describes a file read by ReadFile.
type FileStats struct {
	// Rows counts the entities read.
	Rows int64
	// Defaulted counts feature values absent or null in the file, stored as
	// the feature's default.
	Defaulted int64
}

// FileRows returns the number of rows of a JSONL file (its non-empty
// lines) or a Parquet file (from its footer), for a progress total.
func FileRows(path string) (int64, error) {
	if isParquet(path) {
		pf, err := file.OpenParquetFile(path, false)
		if err != nil {
			return 0, fmt.Errorf("opening %s: %w", path, err)
		}
		defer pf.Close()
		return pf.NumRows(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var n int64
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			n++
		}
	}
	return n, sc.Err()
}

func isParquet(path string) bool {
	return strings.EqualFold(filepath.Ext(path), ".parquet")
}

// ReadFile reads fs's entities from a file, JSONL or Parquet (by the
// extension .parquet), and calls fn with up to batch entities at a time.
// Each row holds the fields the set's key template names (strings, or
// numbers written as in the event) and one numeric column per feature; an
// absent or null feature takes its default and is counted. fn must not
// keep the slice or its values: they are reused after it returns.
func ReadFile(ctx context.Context, path string, fs *schemas.FeatureSet, batch int, fn func([]Entity) error) (FileStats, error) {
	if batch <= 0 {
		batch = 1000
	}
	r := &rowReader{set: newSet(fs, 0), batch: batch, fn: fn, keyFields: fs.KeyFields()}
	r.values = make([]float32, batch*r.set.width)
	r.text = make(map[string][]byte, len(r.keyFields))
	var err error
	if isParquet(path) {
		err = r.readParquet(ctx, path)
	} else {
		err = r.readJSONL(ctx, path)
	}
	if err == nil {
		err = r.flush()
	}
	return r.stats, err
}

type rowReader struct {
	set       *set
	batch     int
	fn        func([]Entity) error
	keyFields []string
	text      map[string][]byte
	ents      []Entity
	values    []float32
	keyBuf    []byte
	stats     FileStats
}

// row returns the values of the next entity (holding defaults) and
// records its key, built from r.text.
func (r *rowReader) row() []float32 {
	w := r.set.width
	i := len(r.ents)
	vals := r.values[i*w : (i+1)*w : (i+1)*w]
	copy(vals, r.set.defaults)
	r.keyBuf = r.set.fs.AppendKey(r.keyBuf[:0], func(f string) []byte { return r.text[f] })
	r.ents = append(r.ents, Entity{Key: string(r.keyBuf), Values: vals})
	r.stats.Rows++
	return vals
}

func (r *rowReader) maybeFlush() error {
	if len(r.ents) < r.batch {
		return nil
	}
	return r.flush()
}

func (r *rowReader) flush() error {
	if len(r.ents) == 0 {
		return nil
	}
	err := r.fn(r.ents)
	r.ents = r.ents[:0]
	return err
}

func (r *rowReader) readJSONL(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening feature file: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var p fastjson.Parser
	for line := 1; ; line++ {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return fmt.Errorf("%s:%d: line longer than 1 MiB", path, line)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		if t := bytes.TrimSpace(b); len(t) > 0 {
			if line%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if perr := r.jsonRow(&p, t); perr != nil {
				return fmt.Errorf("%s:%d: %w", path, line, perr)
			}
			if ferr := r.maybeFlush(); ferr != nil {
				return ferr
			}
		}
		if err != nil {
			return nil
		}
	}
}

func (r *rowReader) jsonRow(p *fastjson.Parser, line []byte) error {
	v, err := p.ParseBytes(line)
	if err != nil {
		return fmt.Errorf("parsing JSON: %w", err)
	}
	o, err := v.Object()
	if err != nil {
		return errors.New("the line is not a JSON object")
	}
	for _, k := range r.keyFields {
		fv := o.Get(k)
		switch {
		case fv == nil || fv.Type() == fastjson.TypeNull:
			return fmt.Errorf("key field %q is missing (the key template is %q)", k, r.set.fs.Key)
		case fv.Type() == fastjson.TypeString:
			r.text[k] = append(r.text[k][:0], fv.GetStringBytes()...)
		default:
			// Numbers and booleans keep their JSON text, as the event
			// decoder keys them.
			r.text[k] = fv.MarshalTo(r.text[k][:0])
		}
	}
	vals := r.row()
	for i, f := range r.set.fs.Features {
		fv := o.Get(f.Name)
		if fv == nil || fv.Type() == fastjson.TypeNull {
			r.stats.Defaulted++
			continue
		}
		x, err := fv.Float64()
		if err != nil {
			return fmt.Errorf("feature %q: not a number", f.Name)
		}
		if x32 := float32(x); math.IsInf(float64(x32), 0) {
			return fmt.Errorf("feature %q: %v does not fit float32", f.Name, x)
		}
		vals[i] = float32(x)
	}
	return nil
}

func (r *rowReader) readParquet(ctx context.Context, path string) error {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return fmt.Errorf("opening feature file: %w", err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(r.batch)}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	defer rr.Release()
	schema := rr.Schema()
	col := func(name string) int {
		if idx := schema.FieldIndices(name); len(idx) > 0 {
			return idx[0]
		}
		return -1
	}
	keyCols := make([]int, len(r.keyFields))
	for i, k := range r.keyFields {
		if keyCols[i] = col(k); keyCols[i] < 0 {
			return fmt.Errorf("%s: no column %q (the key template is %q)", path, k, r.set.fs.Key)
		}
	}
	featCols := make([]int, r.set.width)
	for i, f := range r.set.fs.Features {
		featCols[i] = col(f.Name) // -1: every value takes the default
	}
	var row int64
	for rr.Next() {
		rec := rr.Record()
		for i := range int(rec.NumRows()) {
			row++
			for j, c := range keyCols {
				txt, ok := textAt(rec.Column(c), i, r.text[r.keyFields[j]][:0])
				if !ok {
					return fmt.Errorf("%s: row %d: key field %q is null or not a string or integer", path, row, r.keyFields[j])
				}
				r.text[r.keyFields[j]] = txt
			}
			vals := r.row()
			for j, c := range featCols {
				if c < 0 {
					r.stats.Defaulted++
					continue
				}
				x, valid, ok := numberAt(rec.Column(c), i)
				if !ok {
					return fmt.Errorf("%s: column %q: type %s is not numeric", path, r.set.fs.Features[j].Name, rec.Column(c).DataType())
				}
				if !valid {
					r.stats.Defaulted++
					continue
				}
				if math.IsNaN(x) || math.IsInf(float64(float32(x)), 0) {
					return fmt.Errorf("%s: row %d: feature %q is %v; stored features must be finite float32", path, row, r.set.fs.Features[j].Name, x)
				}
				vals[j] = float32(x)
			}
			if err := r.maybeFlush(); err != nil {
				return err
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return nil
}

// textAt appends the text of a string or integer value to dst.
func textAt(a arrow.Array, i int, dst []byte) ([]byte, bool) {
	if a.IsNull(i) {
		return nil, false
	}
	switch a := a.(type) {
	case *array.String:
		return append(dst, a.Value(i)...), true
	case *array.LargeString:
		return append(dst, a.Value(i)...), true
	case *array.Binary:
		return append(dst, a.Value(i)...), true
	case *array.Int64:
		return strconv.AppendInt(dst, a.Value(i), 10), true
	case *array.Int32:
		return strconv.AppendInt(dst, int64(a.Value(i)), 10), true
	case *array.Uint64:
		return strconv.AppendUint(dst, a.Value(i), 10), true
	case *array.Uint32:
		return strconv.AppendUint(dst, uint64(a.Value(i)), 10), true
	}
	return nil, false
}

// numberAt returns a numeric value as float64; valid is false for null,
// ok false for a non-numeric type.
func numberAt(a arrow.Array, i int) (x float64, valid, ok bool) {
	if a.IsNull(i) {
		switch a.DataType().ID() {
		case arrow.FLOAT32, arrow.FLOAT64, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
			arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64, arrow.BOOL, arrow.NULL:
			return 0, false, true
		}
		return 0, false, false
	}
	switch a := a.(type) {
	case *array.Float32:
		return float64(a.Value(i)), true, true
	case *array.Float64:
		return a.Value(i), true, true
	case *array.Int8:
		return float64(a.Value(i)), true, true
	case *array.Int16:
		return float64(a.Value(i)), true, true
	case *array.Int32:
		return float64(a.Value(i)), true, true
	case *array.Int64:
		return float64(a.Value(i)), true, true
	case *array.Uint8:
		return float64(a.Value(i)), true, true
	case *array.Uint16:
		return float64(a.Value(i)), true, true
	case *array.Uint32:
		return float64(a.Value(i)), true, true
	case *array.Uint64:
		return float64(a.Value(i)), true, true
	case *array.Boolean:
		if a.Value(i) {
			return 1, true, true
		}
		return 0, true, true
	}
	return 0, false, false
}
