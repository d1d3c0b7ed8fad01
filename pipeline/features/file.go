package features

import (
	"context"
	"fmt"
	"math"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/valyala/fastjson"

	"github.com/streamscore/streamscore/pipeline/rowfile"
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

// FileRows returns the number of rows of a JSONL file (its lines holding
// more than whitespace) or a Parquet file (from its footer), for a progress
// total.
func FileRows(path string) (int64, error) {
	format := rowfile.JSONL // a file of another extension is read as JSONL, as ReadFile does
	if isParquet(path) {
		format, _ = rowfile.FormatOf(path)
	}
	return rowfile.CountAs(context.Background(), path, format)
}

// isParquet reports whether path is read as Arrow records: a Parquet or
// an Avro container file.
func isParquet(path string) bool {
	f, err := rowfile.FormatOf(path)
	return err == nil && f.Columnar()
}

// ReadFile reads fs's entities from a file, Parquet (by the extension
// .parquet or .pq), Avro (.avro) or else JSONL, and calls fn with up to batch entities at a time.
// Each row holds the fields the set's key template names (strings, or
// numbers written as in the event) and one column per feature: a number,
// or a string for a string feature; an absent or null feature takes its
// default and is counted. fn must not keep the slice or its values: they
// are reused after it returns.
func ReadFile(ctx context.Context, path string, fs *schemas.FeatureSet, batch int, fn func([]Entity) error) (FileStats, error) {
	if batch <= 0 {
		batch = 1000
	}
	r := &rowReader{set: newSet(fs, 0), batch: batch, fn: fn, keyFields: fs.KeyFields()}
	r.values = make([]float32, batch*r.set.width)
	r.strs = make([]string, batch*r.set.swidth)
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
	strs      []string
	keyBuf    []byte
	stats     FileStats
}

// row returns the numbers and strings of the next entity (holding
// defaults) and records its key, built from r.text.
func (r *rowReader) row() ([]float32, []string) {
	w, sw := r.set.width, r.set.swidth
	i := len(r.ents)
	vals := r.values[i*w : (i+1)*w : (i+1)*w]
	copy(vals, r.set.defaults)
	var strs []string
	if sw > 0 {
		strs = r.strs[i*sw : (i+1)*sw : (i+1)*sw]
		copy(strs, r.set.sdefaults)
	}
	r.keyBuf = r.set.fs.AppendKey(r.keyBuf[:0], func(f string) []byte { return r.text[f] })
	r.ents = append(r.ents, Entity{Key: string(r.keyBuf), Values: vals, Strings: strs})
	r.stats.Rows++
	return vals, strs
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

// readJSONL reads the file with rowfile's default line limit; a line that
// is not a JSON object, or a row that does not fit the set, ends the read
// with an error naming the line.
func (r *rowReader) readJSONL(ctx context.Context, path string) error {
	_, err := rowfile.Objects(ctx, path, rowfile.Options{BadLines: rowfile.FailOnBadLine}, func(no int64, o *fastjson.Object) error {
		if err := r.jsonRow(o); err != nil {
			return fmt.Errorf("%s:%d: %w", path, no, err)
		}
		return r.maybeFlush()
	})
	return err
}

func (r *rowReader) jsonRow(o *fastjson.Object) error {
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
	vals, strs := r.row()
	for i, f := range r.set.fs.Features {
		fv := o.Get(f.Name)
		if fv == nil || fv.Type() == fastjson.TypeNull {
			r.stats.Defaulted++
			continue
		}
		if r.set.str[i] {
			if fv.Type() != fastjson.TypeString {
				return fmt.Errorf("feature %q: not a string (it is a string feature)", f.Name)
			}
			strs[r.set.pos[i]] = string(fv.GetStringBytes())
			continue
		}
		x, err := fv.Float64()
		if err != nil {
			return fmt.Errorf("feature %q: not a number", f.Name)
		}
		if x32 := float32(x); math.IsInf(float64(x32), 0) {
			return fmt.Errorf("feature %q: %v does not fit float32", f.Name, x)
		}
		vals[r.set.pos[i]] = float32(x)
	}
	return nil
}

func (r *rowReader) readParquet(ctx context.Context, path string) error {
	var (
		row      int64
		keyCols  []int
		featCols []int
	)
	return rowfile.Records(ctx, path, nil, r.batch, func(rec arrow.Record) error {
		if keyCols == nil {
			schema := rec.Schema()
			col := func(name string) int {
				if idx := schema.FieldIndices(name); len(idx) > 0 {
					return idx[0]
				}
				return -1
			}
			keyCols = make([]int, len(r.keyFields))
			for i, k := range r.keyFields {
				if keyCols[i] = col(k); keyCols[i] < 0 {
					return fmt.Errorf("%s: no column %q (the key template is %q)", path, k, r.set.fs.Key)
				}
			}
			featCols = make([]int, len(r.set.fs.Features))
			for i, f := range r.set.fs.Features {
				featCols[i] = col(f.Name) // -1: every value takes the default
			}
		}
		for i := range int(rec.NumRows()) {
			row++
			for j, c := range keyCols {
				v := rowfile.ValueAt(rec.Column(c), i)
				switch v.Kind {
				case rowfile.String, rowfile.Bytes, rowfile.Int, rowfile.Uint:
				default:
					return fmt.Errorf("%s: row %d: key field %q is null or not a string or integer", path, row, r.keyFields[j])
				}
				r.text[r.keyFields[j]] = v.AppendText(r.text[r.keyFields[j]][:0])
			}
			vals, strs := r.row()
			for j, c := range featCols {
				if c < 0 {
					r.stats.Defaulted++
					continue
				}
				a := rec.Column(c)
				if r.set.str[j] {
					v := rowfile.ValueAt(a, i)
					switch v.Kind {
					case rowfile.Null:
						r.stats.Defaulted++
					case rowfile.String:
						strs[r.set.pos[j]] = v.Str
					default:
						return fmt.Errorf("%s: column %q: type %s is not a string (it is a string feature)", path, r.set.fs.Features[j].Name, a.DataType())
					}
					continue
				}
				if !rowfile.Numeric(a.DataType()) {
					return fmt.Errorf("%s: column %q: type %s is not numeric", path, r.set.fs.Features[j].Name, a.DataType())
				}
				x, valid := rowfile.ValueAt(a, i).Number()
				if !valid {
					r.stats.Defaulted++
					continue
				}
				if math.IsNaN(x) || math.IsInf(float64(float32(x)), 0) {
					return fmt.Errorf("%s: row %d: feature %q is %v; stored features must be finite float32", path, row, r.set.fs.Features[j].Name, x)
				}
				vals[r.set.pos[j]] = float32(x)
			}
			if err := r.maybeFlush(); err != nil {
				return err
			}
		}
		return nil
	})
}
