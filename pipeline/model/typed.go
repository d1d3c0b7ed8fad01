package model

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	ort "github.com/yalue/onnxruntime_go"

	"github.com/streamscore/streamscore/schemas"
)

// Feed is one model input bound to the features that fill it.
type Feed struct {
	// Input is the model input, as the model declares it.
	Input TensorInfo
	// Sources are the features in column order.
	Sources []Source
	// Width is the number of values per row (the sum of the sources').
	Width int
	// rank is 1 for an [N] input, 2 for [N, k].
	rank int
}

// Source is one feature feeding part of an input.
type Source struct {
	// Feature is the feature's name.
	Feature string
	// Column is the index of the feature's own column in a record of the
	// schema (an event feature, or a feature set's string feature), or -1
	// for a feature-set number, read from the features matrix. A batch's record may hold more columns (replay adds some):
	// the column is looked up by name (schemas.ColFeaturePrefix + Feature).
	Column int
	// Matrix is the feature's column in the features matrix, or -1.
	Matrix int
	// Width is 1, or an array feature's length.
	Width int
	// Type is the feature's type.
	Type schemas.FieldType
}

// Feeds binds the model's inputs to a Typed schema's features: by
// spec.Model.Inputs when it lists any, else each input to the feature of the
// same name. It reports every mismatch at once, listing the inputs and
// features that do not match and the fix.
func (m *Model) Feeds(spec *schemas.Spec) ([]Feed, error) {
	bind := spec.Model.Inputs
	var errs []error
	if len(bind) == 0 {
		var unmatched []string
		for _, in := range m.inputs {
			if spec.Feature(in.Name) == nil && spec.MatrixColumn(in.Name) < 0 && spec.FeatureColumn(in.Name) < 0 {
				unmatched = append(unmatched, in.String())
				continue
			}
			bind = append(bind, schemas.InputBinding{Name: in.Name, Features: []string{in.Name}})
		}
		if len(unmatched) > 0 {
			var unused []string
			for _, f := range spec.Features {
				if !slices.ContainsFunc(m.inputs, func(t TensorInfo) bool { return t.Name == f.Name }) {
					unused = append(unused, f.Name)
				}
			}
			return nil, fmt.Errorf("binding model %s to schema %s by name: no feature is named after input(s) %s (features matching no input: %s): name the features after the inputs, or list model.inputs in the schema (`streamscore model schema %s` writes a starting schema)",
				m.cfg.Path, spec, strings.Join(unmatched, ", "), orNone(unused), m.cfg.Path)
		}
	}
	feeds := make([]Feed, len(m.inputs))
	bound := make([]bool, len(m.inputs))
	for _, b := range bind {
		i := slices.IndexFunc(m.inputs, func(t TensorInfo) bool { return t.Name == b.Name })
		if i < 0 {
			errs = append(errs, fmt.Errorf("model.inputs: the model has no input %q; its inputs are %s", b.Name, listInfos(m.inputs)))
			continue
		}
		f, err := feed(m.inputs[i], spec, b.Features)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		feeds[i], bound[i] = f, true
	}
	for i, ok := range bound {
		if !ok && !slices.ContainsFunc(bind, func(b schemas.InputBinding) bool { return b.Name == m.inputs[i].Name }) {
			errs = append(errs, fmt.Errorf("input %s: no feature is bound to it: add it to model.inputs", m.inputs[i]))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("binding model %s to schema %s: %w", m.cfg.Path, spec, errors.Join(errs...))
	}
	return feeds, nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// inputTypes are the element types a Feed can fill.
var inputTypes = []string{"float32", "float64", "int32", "int64", "bool", "string"}

func feed(in TensorInfo, spec *schemas.Spec, names []string) (Feed, error) {
	f := Feed{Input: in}
	if !slices.Contains(inputTypes, in.ElementType) {
		return f, fmt.Errorf("input %s: streamscore feeds %s tensors, not %s: re-export the model with one of them", in, strings.Join(inputTypes, ", "), in.ElementType)
	}
	for _, name := range names {
		src := Source{Feature: name, Column: spec.FeatureColumn(name), Matrix: spec.MatrixColumn(name), Width: 1, Type: schemas.TypeFloat32}
		if ft := spec.Feature(name); ft != nil {
			src.Width, src.Type = ft.Width(), ft.Type
		} else if _, sf := spec.SetFeature(name); sf != nil && !sf.InMatrix() {
			src.Type = schemas.TypeString // its own column, filled by the feature store
		}
		if (src.Type == schemas.TypeString) != (in.ElementType == "string") {
			return f, fmt.Errorf("input %s: feature %q is %s: a string input takes string features only, a numeric input numbers only", in, name, src.Type)
		}
		f.Sources = append(f.Sources, src)
		f.Width += src.Width
	}
	switch len(in.Shape) {
	case 1:
		f.rank = 1
		if f.Width != 1 {
			return f, fmt.Errorf("input %s takes one value per row, the features %v give %d: bind one feature, or re-export the input as [N, %d]", in, names, f.Width, f.Width)
		}
	case 2:
		f.rank = 2
		if in.Shape[1] >= 0 && in.Shape[1] != int64(f.Width) {
			return f, fmt.Errorf("input %s takes %d values per row, the features %v give %d: bind %d", in, in.Shape[1], names, f.Width, in.Shape[1])
		}
	default:
		return f, fmt.Errorf("input %s: streamscore feeds [N] or [N, k] inputs, the model declares %s", in, formatShape(in.Shape))
	}
	return f, nil
}

// SetFeeds makes ScoreBatch fill the model's inputs from decoded columns as
// feeds (from Feeds) say. It is meant for start-up, before any ScoreBatch.
func (m *Model) SetFeeds(feeds []Feed) {
	m.admin.Lock()
	m.feeds = feeds
	m.admin.Unlock()
}

// Typed reports whether SetFeeds bound the model to typed inputs.
func (m *Model) Typed() bool { return m.feeds != nil }

// ScoreBatch scores b: from its decoded columns when SetFeeds bound the
// model to typed inputs, else from its features matrix (as Score). It
// blocks and is safe for concurrent use as Score is.
func (m *Model) ScoreBatch(ctx context.Context, b schemas.ScoreInput) ([]Output, error) {
	if m.feeds == nil {
		return m.Score(ctx, b.Features, b.Rows, b.Cols)
	}
	if b.Columns == nil {
		return nil, fmt.Errorf("running model %s: it takes typed inputs and the batch has no columns", m.cfg.Path)
	}
	return m.score(ctx, b.Rows, func() ([]ort.Value, error) { return m.tensors(b) })
}

// tensors builds one tensor per model input, in input order. On error it
// destroys what it built.
func (m *Model) tensors(b schemas.ScoreInput) ([]ort.Value, error) {
	vals := make([]ort.Value, 0, len(m.feeds))
	for _, f := range m.feeds {
		v, err := f.tensor(b)
		if err != nil {
			for _, v := range vals {
				v.Destroy()
			}
			return nil, fmt.Errorf("input %q: %w", f.Input.Name, err)
		}
		vals = append(vals, v)
	}
	return vals, nil
}

// column returns the source's own column in b, or nil.
func (s *Source) column(b schemas.ScoreInput) arrow.Array {
	sch := b.Columns.Schema()
	name := schemas.ColFeaturePrefix + s.Feature
	if s.Column < int(b.Columns.NumCols()) && sch.Field(s.Column).Name == name {
		return b.Columns.Column(s.Column)
	}
	if idx := sch.FieldIndices(name); len(idx) == 1 {
		return b.Columns.Column(idx[0])
	}
	return nil
}

func (f *Feed) tensor(b schemas.ScoreInput) (ort.Value, error) {
	shape := ort.NewShape(int64(b.Rows))
	if f.rank == 2 {
		shape = ort.NewShape(int64(b.Rows), int64(f.Width))
	}
	switch f.Input.ElementType {
	case "string":
		data := make([]string, b.Rows*f.Width)
		off := 0
		for _, s := range f.Sources {
			col, ok := s.column(b).(*array.String)
			if !ok {
				return nil, fmt.Errorf("feature %q has no string column", s.Feature)
			}
			for r := range b.Rows {
				data[r*f.Width+off] = col.Value(b.RecordRow(r))
			}
			off++
		}
		t, err := ort.NewStringTensor(shape)
		if err != nil {
			return nil, err
		}
		if err := t.SetContents(data); err != nil {
			t.Destroy()
			return nil, err
		}
		return t, nil
	case "float32":
		return numericTensor[float32](f, b, shape)
	case "float64":
		return numericTensor[float64](f, b, shape)
	case "int32":
		return numericTensor[int32](f, b, shape)
	case "int64":
		return numericTensor[int64](f, b, shape)
	case "bool":
		data := make([]uint8, b.Rows*f.Width)
		if err := fill(data, f, b); err != nil {
			return nil, err
		}
		bools := make([]bool, len(data))
		for i, v := range data {
			bools[i] = v != 0
		}
		return ort.NewTensor(shape, bools)
	}
	return nil, fmt.Errorf("element type %s is not supported", f.Input.ElementType)
}

type tensorNumber interface {
	~float32 | ~float64 | ~int32 | ~int64 | ~uint8
}

func numericTensor[T tensorNumber](f *Feed, b schemas.ScoreInput, shape ort.Shape) (ort.Value, error) {
	data := make([]T, b.Rows*f.Width)
	if err := fill(data, f, b); err != nil {
		return nil, err
	}
	return ort.NewTensor(shape, data)
}

// fill copies every source's values into data, row-major [rows, f.Width],
// converting each to T.
func fill[T tensorNumber](data []T, f *Feed, b schemas.ScoreInput) error {
	off := 0
	for _, s := range f.Sources {
		if s.Column < 0 {
			if s.Matrix < 0 || b.Features == nil {
				return fmt.Errorf("feature %q has no column", s.Feature)
			}
			for r := range b.Rows {
				data[r*f.Width+off] = T(b.Features[r*b.Cols+s.Matrix])
			}
			off++
			continue
		}
		col := s.column(b)
		if col == nil {
			return fmt.Errorf("feature %q has no column in the batch", s.Feature)
		}
		if l, ok := col.(*array.FixedSizeList); ok {
			vals := l.ListValues()
			for r := range b.Rows {
				start := b.RecordRow(r) * s.Width
				for k := range s.Width {
					v, err := valueAt[T](vals, start+k)
					if err != nil {
						return fmt.Errorf("feature %q: %w", s.Feature, err)
					}
					data[r*f.Width+off+k] = v
				}
			}
			off += s.Width
			continue
		}
		for r := range b.Rows {
			v, err := valueAt[T](col, b.RecordRow(r))
			if err != nil {
				return fmt.Errorf("feature %q: %w", s.Feature, err)
			}
			data[r*f.Width+off] = v
		}
		off++
	}
	return nil
}

func valueAt[T tensorNumber](a arrow.Array, i int) (T, error) {
	switch c := a.(type) {
	case *array.Float32:
		return T(c.Value(i)), nil
	case *array.Float64:
		return T(c.Value(i)), nil
	case *array.Int32:
		return T(c.Value(i)), nil
	case *array.Int64:
		return T(c.Value(i)), nil
	case *array.Boolean:
		if c.Value(i) {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("a %s column cannot feed a numeric input", a.DataType())
}

// Bind checks the model against a Typed schema and binds it: the inputs by
// Feeds, each of outputs by Check's rules (string and ZipMap outputs
// included); then ScoreBatch fills the inputs from decoded columns. It
// reports every mismatch at once. It is meant for start-up.
func (m *Model) Bind(spec *schemas.Spec, outputs []string) error {
	feeds, err := m.Feeds(spec)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, name := range outputs {
		if err := m.checkOutput(name); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	m.SetFeeds(feeds)
	m.admin.Lock()
	m.spec = spec
	m.admin.Unlock()
	return nil
}
