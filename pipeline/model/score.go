package model

import (
	"context"
	"fmt"
	"math"

	ort "github.com/yalue/onnxruntime_go"
)

// Output is one model output for a batch.
type Output struct {
	// Name is the output's name in the graph.
	Name string
	// Width is the number of values per row: 1 for an output of shape [N],
	// k for [N, k] (the product of the trailing dimensions in general).
	Width int
	// Values holds rows*Width values, row-major, converted to float64
	// (bool becomes 0 or 1).
	Values []float64
	// Type is the element type the model declares for the output
	// ("float32", "int64", ...), so a caller can print float32 values at
	// float32 precision.
	Type string
	// Strings, for a string output (class labels), holds rows*Width
	// strings, row-major; Values then holds NaN, so code that reads numbers
	// (challenger comparison, canary merges) sees no number rather than
	// an index out of range.
	Strings []string
	// Keys, for a ZipMap output (a sequence of one map per row), holds the
	// map's keys (the classes) in order; Values holds each row's values in
	// that order, Width per row.
	Keys []string
}

// Row returns the Width values of row i. The slice aliases o.Values.
func (o Output) Row(i int) []float64 { return o.Values[i*o.Width : (i+1)*o.Width] }

// Score runs one inference over rows×cols float32 values laid out row-major
// in input ([rows, cols], the model's only input) and returns the selected
// outputs (Config.Outputs or SetOutputs; all outputs by default) in order.
//
// Score blocks until a pooled session is free or ctx is done; once running,
// an inference is not interrupted (it lasts as long as one batch). It is safe
// for concurrent use: at most Config.Sessions calls run at once. input is
// read, never written or kept, and must not change until Score returns. The
// returned slices are new and owned by the caller.
func (m *Model) Score(ctx context.Context, input []float32, rows, cols int) ([]Output, error) {
	if err := m.checkBatch(input, rows, cols); err != nil {
		return nil, fmt.Errorf("running model %s: %w", m.cfg.Path, err)
	}
	return m.score(ctx, rows, func() ([]ort.Value, error) {
		in, err := ort.NewTensor(ort.NewShape(int64(rows), int64(cols)), input)
		if err != nil {
			return nil, fmt.Errorf("creating input tensor [%d, %d]: %w", rows, cols, err)
		}
		return []ort.Value{in}, nil
	})
}

// score runs one inference of rows rows over the tensors inputs makes (one
// per model input, in input order; score destroys them) with a pooled
// session, and converts the selected outputs.
func (m *Model) score(ctx context.Context, rows int, inputs func() ([]ort.Value, error)) ([]Output, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("running model %s: %w", m.cfg.Path, err)
	}
	var s *session
	select {
	case s = <-m.pool:
	case <-ctx.Done():
		return nil, fmt.Errorf("running model %s: waiting for a session: %w", m.cfg.Path, ctx.Err())
	case <-m.done:
		return nil, fmt.Errorf("running model %s: %w", m.cfg.Path, ErrClosed)
	}
	select {
	case <-m.done: // Close won the race; it is waiting for this session.
		m.pool <- s
		return nil, fmt.Errorf("running model %s: %w", m.cfg.Path, ErrClosed)
	default:
	}

	if rows == 0 {
		m.pool <- s
		return m.emptyOutputs(s), nil
	}

	selected := s.outputs
	ins, err := inputs()
	if err != nil {
		m.pool <- s
		return nil, fmt.Errorf("running model %s: %w", m.cfg.Path, err)
	}
	values, err := m.run(s, ins, rows)
	for _, v := range ins {
		v.Destroy()
	}
	m.pool <- s // the outputs live in Go memory; the session is free
	defer func() {
		for _, v := range values {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	if err != nil {
		return nil, fmt.Errorf("running model %s: %w", m.cfg.Path, err)
	}

	outs := make([]Output, len(values))
	for i, v := range values {
		name := m.outputs[selected[i]].Name
		o, err := convert(name, v, rows)
		if err != nil {
			return nil, fmt.Errorf("running model %s: output %q: %w", m.cfg.Path, name, err)
		}
		o.Type = m.outputs[selected[i]].ElementType
		outs[i] = o
	}
	return outs, nil
}

// run runs s on inputs and returns its outputs.
// The caller destroys every non-nil value returned, also on error.
//
// Outputs whose declared shape is [N] or [N, k] with a fixed k are allocated
// here, in Go memory, so that ONNX Runtime writes into them directly; other
// outputs are allocated by ONNX Runtime and copied out by onnxruntime_go,
// which costs about 2 µs more per call. Should a model's declared output shape
// be wrong, ONNX Runtime refuses the pre-allocated buffer; run then retries
// with every output allocated by ONNX Runtime and, if that works, keeps doing
// so on this session.
func (m *Model) run(s *session, inputs []ort.Value, rows int) ([]ort.Value, error) {
	var err error
	values := make([]ort.Value, len(s.outputs))
	preallocated := false
	if s.preallocate {
		for i, j := range s.outputs {
			if values[i], err = newOutputTensor(m.outputs[j], rows); err != nil {
				return values, fmt.Errorf("creating output tensor %q: %w", m.outputs[j].Name, err)
			}
			preallocated = preallocated || values[i] != nil
		}
	}
	err = s.s.Run(inputs, values)
	if err == nil || !preallocated {
		return values, err
	}
	for i, v := range values {
		if v != nil {
			v.Destroy()
			values[i] = nil
		}
	}
	if err := s.s.Run(inputs, values); err != nil {
		return values, err
	}
	s.preallocate = false
	return values, nil
}

// newOutputTensor allocates the output described by info for a batch of rows
// when its shape and type are known ahead of the run; otherwise it returns
// nil, and ONNX Runtime allocates the output.
func newOutputTensor(info TensorInfo, rows int) (ort.Value, error) {
	var shape ort.Shape
	switch {
	case len(info.Shape) == 1:
		shape = ort.NewShape(int64(rows))
	case len(info.Shape) == 2 && info.Shape[1] >= 0:
		shape = ort.NewShape(int64(rows), info.Shape[1])
	default:
		return nil, nil
	}
	if info.Shape[0] >= 0 && info.Shape[0] != int64(rows) {
		return nil, nil
	}
	switch info.ElementType {
	case "float32":
		return ort.NewEmptyTensor[float32](shape)
	case "float64":
		return ort.NewEmptyTensor[float64](shape)
	case "int64":
		return ort.NewEmptyTensor[int64](shape)
	case "int32":
		return ort.NewEmptyTensor[int32](shape)
	}
	return nil, nil
}

// checkBatch refuses what ONNX Runtime would refuse less clearly.
func (m *Model) checkBatch(input []float32, rows, cols int) error {
	if len(m.inputs) != 1 {
		return fmt.Errorf("the model has %d inputs (%s); Score feeds exactly one", len(m.inputs), listInfos(m.inputs))
	}
	if rows < 0 || cols <= 0 {
		return fmt.Errorf("batch of %d rows × %d columns: rows must be ≥ 0 and columns > 0", rows, cols)
	}
	if len(input) != rows*cols {
		return fmt.Errorf("batch of %d rows × %d columns needs %d values, got %d", rows, cols, rows*cols, len(input))
	}
	in := m.inputs[0]
	if in.ElementType != "float32" {
		return fmt.Errorf("input %q is %s; Score feeds float32", in.Name, in.ElementType)
	}
	if len(in.Shape) != 2 {
		return fmt.Errorf("input %q has shape %s; Score feeds [rows, columns]", in.Name, formatShape(in.Shape))
	}
	if in.Shape[1] >= 0 && in.Shape[1] != int64(cols) {
		return fmt.Errorf("input %q takes %d columns, the batch has %d", in.Name, in.Shape[1], cols)
	}
	return nil
}

// emptyOutputs returns the outputs of a zero-row batch without running the
// model; Width is what the model declares (0 where it is dynamic).
func (m *Model) emptyOutputs(s *session) []Output {
	outs := make([]Output, len(s.outputs))
	for i, j := range s.outputs {
		info := m.outputs[j]
		width := 1
		for _, d := range info.Shape[min(1, len(info.Shape)):] {
			width *= max(int(d), 0)
		}
		outs[i] = Output{Name: info.Name, Width: width, Values: []float64{}, Type: info.ElementType}
	}
	return outs
}

// convert copies a tensor of shape [rows, ...] into an Output.
func convert(name string, v ort.Value, rows int) (Output, error) {
	if seq, ok := v.(*ort.Sequence); ok {
		return convertZipMap(name, seq, rows)
	}
	if v.GetONNXType() != ort.ONNXTypeTensor {
		return Output{}, fmt.Errorf("it is a %s, not a tensor or a sequence of maps (for scikit-learn classifiers, convert with options {'zipmap': False})", v.GetONNXType())
	}
	shape := v.GetShape()
	if len(shape) == 0 || shape[0] != int64(rows) {
		return Output{}, fmt.Errorf("it has shape %s for a batch of %d rows; want [%d] or [%d, k]", formatShape(shape), rows, rows, rows)
	}
	width := 1
	for _, d := range shape[1:] {
		width *= int(d)
	}
	o := Output{Name: name, Width: width, Values: make([]float64, rows*width)}
	var err error
	switch t := v.(type) {
	case *ort.Tensor[float32]:
		err = widen(o.Values, t.GetData())
	case *ort.Tensor[float64]:
		err = widen(o.Values, t.GetData())
	case *ort.Tensor[int64]:
		err = widen(o.Values, t.GetData())
	case *ort.Tensor[int32]:
		err = widen(o.Values, t.GetData())
	case *ort.Tensor[int16]:
		err = widen(o.Values, t.GetData())
	case *ort.Tensor[int8]:
		err = widen(o.Values, t.GetData())
	case *ort.Tensor[uint64]:
		err = widen(o.Values, t.GetData())
	case *ort.Tensor[uint32]:
		err = widen(o.Values, t.GetData())
	case *ort.Tensor[uint16]:
		err = widen(o.Values, t.GetData())
	case *ort.Tensor[uint8]:
		err = widen(o.Values, t.GetData())
	case *ort.Tensor[bool]:
		data := t.GetData()
		if len(data) != len(o.Values) {
			err = errSize(len(o.Values), len(data))
			break
		}
		for i, b := range data {
			if b {
				o.Values[i] = 1
			}
		}
	case *ort.StringTensor:
		o.Strings, err = t.GetContents()
		if err == nil && len(o.Strings) != rows*width {
			err = errSize(rows*width, len(o.Strings))
		}
		for i := range o.Values {
			o.Values[i] = math.NaN()
		}
	default:
		err = fmt.Errorf("its element type is not numeric (%T); cast it to float32 in the model", v)
	}
	if err != nil {
		return Output{}, err
	}
	return o, nil
}

type number interface {
	~float32 | ~float64 | ~int8 | ~uint8 | ~int16 | ~uint16 | ~int32 | ~uint32 | ~int64 | ~uint64
}

func widen[T number](dst []float64, src []T) error {
	if len(src) != len(dst) {
		return errSize(len(dst), len(src))
	}
	for i, v := range src {
		dst[i] = float64(v)
	}
	return nil
}

func errSize(want, got int) error {
	return fmt.Errorf("its shape says %d values, the tensor holds %d", want, got)
}
