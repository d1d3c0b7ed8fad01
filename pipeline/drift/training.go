package drift

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/valyala/fastjson"

	"github.com/streamscore/streamscore/pipeline/rowfile"
	"github.com/streamscore/streamscore/schemas"
)

// trainingBatchRows is how many rows a TrainingBatch holds at most.
const trainingBatchRows = 4096

// TrainingBatch is a Batch of training rows plus the model input matrix
// the decoder would have built for them, to score outputs with the model.
type TrainingBatch struct {
	Batch
	// Inputs holds Rows×spec.Columns() float32 values, row-major: present
	// values, the schema's default where the decoder (or, for a
	// feature-set feature, the feature store) would put one, NaN for a
	// missing required feature. Valid until the callback returns.
	Inputs []float32
}

// TrainingReader reads JSONL and Parquet training files into batches for a
// Builder's columns. A file's fields (JSON keys, Parquet top-level columns)
// are named as the events' fields. It is not safe for concurrent use.
type TrainingReader struct {
	cols   []Column
	fields []fieldRef       // distinct fields read
	index  map[fieldRef]int // field -> position in fields
	tensor []tensorField    // per model input column
	colIdx []int            // per column: field position
	strCol []bool           // per column: a string feature's
	strDef []*string        // per column: a string feature's default
}

// fieldRef names a field of the training rows; elem ≥ 0 picks that element
// of an output given as an array (element 0 is also a plain number).
type fieldRef struct {
	name string
	elem int
}

type tensorField struct {
	field int
	def   float64
	hasD  bool // event feature with a default: absent takes it and is binned
	set   bool // feature-set feature: absent is missing, the model gets def
}

// field states of one value; a value of the wrong type is present but not a
// number (NaN), so a numeric column counts it as missing
const (
	valPresent uint8 = iota
	valAbsent        // absent or null
)

// fieldValues holds one field's values for a chunk of rows.
type fieldValues struct {
	f     []float64
	s     []string
	state []uint8
}

// NewTrainingReader returns a reader for cols of spec.
func NewTrainingReader(spec *schemas.Spec, cols []Column) *TrainingReader {
	r := &TrainingReader{cols: cols, index: map[fieldRef]int{}}
	addRef := func(f fieldRef) int {
		if i, ok := r.index[f]; ok {
			return i
		}
		r.index[f] = len(r.fields)
		r.fields = append(r.fields, f)
		return len(r.fields) - 1
	}
	add := func(name string) int { return addRef(fieldRef{name: name, elem: -1}) }
	for _, f := range spec.Features {
		if !f.InMatrix() {
			continue // strings and arrays have their own columns, not the matrix
		}
		tf := tensorField{field: add(f.Name)}
		if f.Default != nil {
			tf.def, tf.hasD = *f.Default, true
		}
		r.tensor = append(r.tensor, tf)
	}
	for _, fs := range spec.FeatureSets {
		for _, f := range fs.Features {
			if f.InMatrix() {
				r.tensor = append(r.tensor, tensorField{field: add(f.Name), def: f.Default, set: true})
			}
		}
	}
	for _, c := range cols {
		var def *string
		isStr := false
		if f := spec.Feature(c.Name); c.Source == FromFeature && f != nil && f.Type == schemas.TypeString {
			isStr, def = true, f.DefaultString
		}
		if _, sf := spec.SetFeature(c.Name); c.Source == FromFeature && sf != nil && !sf.InMatrix() {
			isStr = true // absent is missing, as for a feature-set number
		}
		r.strCol = append(r.strCol, isStr)
		r.strDef = append(r.strDef, def)
		switch c.Source {
		case FromOutput:
			r.colIdx = append(r.colIdx, addRef(fieldRef{name: c.Output, elem: c.Element}))
		default:
			r.colIdx = append(r.colIdx, add(c.Name))
		}
	}
	return r
}

// ReadFile reads path (.jsonl, .ndjson, .json: one JSON object per line;
// .parquet, .pq; .avro, an Avro container file) and calls fn with each
// batch. It returns the number of
// lines skipped because they were not JSON objects (training data is
// read with rowfile.SkipBadLines).
func (r *TrainingReader) ReadFile(ctx context.Context, path string, fn func(*TrainingBatch) error) (skipped int64, err error) {
	format, err := rowfile.FormatOf(path)
	if err != nil {
		return 0, fmt.Errorf("reading training data: %w", err)
	}
	if format.Columnar() {
		return 0, r.readParquet(ctx, path, fn)
	}
	return r.readJSONL(ctx, path, fn)
}

func (r *TrainingReader) newChunk() []fieldValues {
	vals := make([]fieldValues, len(r.fields))
	for i := range vals {
		vals[i] = fieldValues{
			f:     make([]float64, 0, trainingBatchRows),
			s:     make([]string, 0, trainingBatchRows),
			state: make([]uint8, 0, trainingBatchRows),
		}
	}
	return vals
}

func (r *TrainingReader) readJSONL(ctx context.Context, path string, fn func(*TrainingBatch) error) (int64, error) {
	var (
		rows int
		vals = r.newChunk()
	)
	skipped, err := rowfile.Objects(ctx, path, rowfile.Options{BadLines: rowfile.SkipBadLines}, func(_ int64, o *fastjson.Object) error {
		for i, f := range r.fields {
			x := o.Get(f.name)
			if f.elem >= 0 && x != nil && x.Type() == fastjson.TypeArray {
				// element e of a multi-element output
				x = x.Get(strconv.Itoa(f.elem))
			}
			appendJSON(&vals[i], x)
		}
		rows++
		if rows == trainingBatchRows {
			if err := r.emit(ctx, vals, rows, fn); err != nil {
				return err
			}
			vals, rows = r.resetChunk(vals), 0
		}
		return nil
	})
	if err != nil {
		var le *rowfile.LineError
		if errors.As(err, &le) {
			return skipped, fmt.Errorf("reading training data %w", err)
		}
		return skipped, err
	}
	if rows > 0 {
		if err := r.emit(ctx, vals, rows, fn); err != nil {
			return skipped, err
		}
	}
	return skipped, nil
}

func appendJSON(fv *fieldValues, x *fastjson.Value) {
	f, s, st := math.NaN(), "", valAbsent
	if x != nil {
		switch x.Type() {
		case fastjson.TypeNumber:
			f, st = x.GetFloat64(), valPresent
			s = string(x.MarshalTo(nil))
		case fastjson.TypeTrue:
			f, s, st = 1, "true", valPresent
		case fastjson.TypeFalse:
			f, s, st = 0, "false", valPresent
		case fastjson.TypeString:
			s, st = string(x.GetStringBytes()), valPresent
			if v, err := strconv.ParseFloat(s, 64); err == nil {
				f = v
			}
		case fastjson.TypeNull:
		default:
			s, st = string(x.MarshalTo(nil)), valPresent
		}
	}
	fv.f = append(fv.f, f)
	fv.s = append(fv.s, s)
	fv.state = append(fv.state, st)
}

func (r *TrainingReader) resetChunk(vals []fieldValues) []fieldValues {
	for i := range vals {
		vals[i].f, vals[i].s, vals[i].state = vals[i].f[:0], vals[i].s[:0], vals[i].state[:0]
	}
	return vals
}

// emit assembles a chunk's field values into a TrainingBatch and calls fn.
func (r *TrainingReader) emit(ctx context.Context, vals []fieldValues, rows int, fn func(*TrainingBatch) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	width := len(r.tensor)
	tb := &TrainingBatch{Batch: Batch{Rows: rows, Cols: make([]Values, len(r.cols))}, Inputs: make([]float32, rows*width)}
	// model input matrix
	for j, tf := range r.tensor {
		fv := &vals[tf.field]
		for i := range rows {
			x := fv.f[i]
			switch {
			case fv.state[i] == valPresent && !math.IsNaN(x) && !math.IsInf(x, 0):
			case tf.hasD || tf.set:
				x = tf.def
			default:
				x = math.NaN()
			}
			tb.Inputs[i*width+j] = float32(x)
		}
	}
	tensorOf := map[int]int{}
	for j, tf := range r.tensor {
		tensorOf[tf.field] = j
	}
	for c := range r.cols {
		col := &r.cols[c]
		fv := &vals[r.colIdx[c]]
		out := &tb.Cols[c]
		if col.Source == FromPassthrough || r.strCol[c] {
			out.Strings = make([]string, rows)
			out.Present = make([]bool, rows)
			copy(out.Strings, fv.s)
			def := r.strDef[c]
			for i := range rows {
				out.Present[i] = fv.state[i] == valPresent
				if !out.Present[i] && def != nil {
					// absent or null takes the default, as the decoder does
					out.Strings[i], out.Present[i] = *def, true
					out.Defaulted++
				}
			}
			continue
		}
		out.Floats = make([]float64, rows)
		j, isTensor := tensorOf[r.colIdx[c]]
		for i := range rows {
			x := fv.f[i]
			if fv.state[i] == valPresent && !math.IsNaN(x) && !math.IsInf(x, 0) {
				if isTensor && col.Source == FromFeature {
					x = float64(float32(x)) // what the model sees
				}
				out.Floats[i] = x
				continue
			}
			out.Floats[i] = math.NaN()
			if col.Source == FromFeature && isTensor && r.tensor[j].hasD && fv.state[i] == valAbsent {
				out.Floats[i] = float64(float32(r.tensor[j].def))
				out.Defaulted++
			}
		}
	}
	return fn(tb)
}

func (r *TrainingReader) readParquet(ctx context.Context, path string, fn func(*TrainingBatch) error) error {
	// Read only the fields' columns; an output element > 0 is never a
	// Parquet column of its own.
	var names []string
	for _, f := range r.fields {
		if f.elem <= 0 && !slices.Contains(names, f.name) {
			names = append(names, f.name)
		}
	}
	vals := r.newChunk()
	return rowfile.Records(ctx, path, names, trainingBatchRows, func(rec arrow.Record) error {
		rows := int(rec.NumRows())
		vals = r.resetChunk(vals)
		for i, f := range r.fields {
			fv := &vals[i]
			colIdx := rec.Schema().FieldIndices(f.name)
			if len(colIdx) == 0 || f.elem > 0 {
				for range rows {
					fv.f = append(fv.f, math.NaN())
					fv.s = append(fv.s, "")
					fv.state = append(fv.state, valAbsent)
				}
				continue
			}
			if err := appendArrow(fv, rec.Column(colIdx[0])); err != nil {
				return fmt.Errorf("reading column %q of %s: %w", f.name, path, err)
			}
		}
		return r.emit(ctx, vals, rows, fn)
	})
}

// appendArrow appends an Arrow column's values: numbers and bools as
// floats (and their text), strings as strings (and their value if they
// read as a number), nulls as absent.
func appendArrow(fv *fieldValues, col arrow.Array) error {
	switch dt := col.DataType(); dt.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.DICTIONARY:
	default:
		if !rowfile.Numeric(dt) {
			return fmt.Errorf("type %s is not a number, bool or string", dt)
		}
	}
	var text []byte
	for i := range col.Len() {
		v := rowfile.ValueAt(col, i)
		f, s, st := math.NaN(), "", valPresent
		switch v.Kind {
		case rowfile.Null:
			st = valAbsent
		case rowfile.Float, rowfile.Int, rowfile.Uint, rowfile.Bool:
			f, _ = v.Number()
			text = v.AppendText(text[:0])
			s = string(text)
		case rowfile.String:
			s = v.Str
			if x, err := strconv.ParseFloat(s, 64); err == nil {
				f = x
			}
		default:
			return fmt.Errorf("type %s is not a number, bool or string", col.DataType())
		}
		fv.f = append(fv.f, f)
		fv.s = append(fv.s, s)
		fv.state = append(fv.state, st)
	}
	return nil
}
