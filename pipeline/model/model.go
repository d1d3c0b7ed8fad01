package model

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/streamscore/streamscore/schemas"
)

// ErrClosed is returned by Score and SetOutputs once Close has been called.
var ErrClosed = errors.New("model is closed")

// TensorInfo describes one model input or output as the model declares it.
type TensorInfo struct {
	// Name is the input or output name in the graph.
	Name string
	// ElementType is the tensor's element type: "float32", "float64",
	// "int64", "int32", "bool", "string", ... For an input or output that is
	// not a tensor it names the kind instead: "sequence", "map", "optional",
	// "sparse_tensor", "opaque" or "unknown".
	ElementType string
	// Shape is the declared shape; -1 marks a dynamic dimension (such as the
	// batch dimension). Nil for non-tensors.
	Shape []int64
}

// String formats t as `name (float32 [?, 32])`.
func (t TensorInfo) String() string {
	if t.Shape == nil {
		return fmt.Sprintf("%s (%s)", t.Name, t.ElementType)
	}
	return fmt.Sprintf("%s (%s %s)", t.Name, t.ElementType, formatShape(t.Shape))
}

// Model is an ONNX model loaded into a fixed pool of ONNX Runtime sessions.
// All methods are safe for concurrent use. Close releases the sessions.
type Model struct {
	cfg     Config
	inputs  []TensorInfo // immutable after Open
	outputs []TensorInfo // immutable after Open
	// data, if not nil, holds the model bytes sessions are created from
	// (a registry model whose sha256 was checked on these very bytes).
	data []byte
	// manifest is the registry manifest the model was loaded with, or nil.
	manifest *Manifest

	// pool holds the idle sessions; Score takes one and gives it back.
	pool chan *session
	// done is closed by Close to wake callers waiting for a session.
	done chan struct{}
	// admin serialises SetOutputs and Close, which take every session out
	// of the pool. Score never takes it, so holding it while sessions are
	// created or destroyed stalls no inference.
	admin  sync.Mutex
	closed bool // guarded by admin

	// feeds, set by SetFeeds at start-up, fill typed inputs from decoded
	// columns; nil for the single float32 [N, F] input.
	feeds []Feed
	// spec is the Typed schema Bind bound the model to (for smoke batches
	// and probes); nil otherwise.
	spec *schemas.Spec
}

// session is one pooled ONNX Runtime session. Its output set is fixed when it
// is created (onnxruntime_go binds names at creation), so SetOutputs replaces
// sessions rather than changing them.
type session struct {
	s *ort.DynamicAdvancedSession
	// outputs are the indexes into Model.outputs that Run returns, in order.
	outputs []int
	// preallocate says whether Score allocates the outputs whose shape the
	// model declares; it turns false if the model's declarations prove wrong.
	// Only the goroutine holding the session touches it.
	preallocate bool
}

// Open validates cfg, reads the model's inputs and outputs, and creates
// cfg.Sessions sessions, each with its own session options. Init must have
// succeeded. The caller must Close the returned Model.
func Open(cfg Config) (*Model, error) {
	return open(cfg, nil)
}

// open is Open for a model read from cfg.Path, or, when data is not nil,
// for the model in data (cfg.Path then only names it in messages).
func open(cfg Config, data []byte) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !initialised() {
		return nil, fmt.Errorf("opening model %s: ONNX Runtime is not loaded: call model.Init first", cfg.Path)
	}
	if data == nil {
		if _, err := os.Stat(cfg.Path); err != nil {
			return nil, fmt.Errorf("opening model %s: %w", cfg.Path, err)
		}
	}
	m := &Model{
		cfg:  cfg,
		data: data,
		pool: make(chan *session, cfg.sessions()),
		done: make(chan struct{}),
	}
	m.cfg.Outputs = slices.Clone(cfg.Outputs)

	var (
		ins, outs []ort.InputOutputInfo
		err       error
	)
	if data != nil {
		ins, outs, err = ort.GetInputOutputInfoWithONNXData(data)
	} else {
		opts, oerr := cfg.sessionOptions()
		if oerr != nil {
			return nil, fmt.Errorf("opening model %s: %w", cfg.Path, oerr)
		}
		ins, outs, err = ort.GetInputOutputInfoWithOptions(cfg.Path, opts)
		opts.Destroy()
	}
	if err != nil {
		return nil, fmt.Errorf("opening model %s: reading inputs and outputs: %w", cfg.Path, explainLoadError(err))
	}
	for _, in := range ins {
		m.inputs = append(m.inputs, tensorInfo(in))
	}
	for _, out := range outs {
		m.outputs = append(m.outputs, tensorInfo(out))
	}
	if len(m.inputs) == 0 || len(m.outputs) == 0 {
		return nil, fmt.Errorf("opening model %s: it has %d inputs and %d outputs; a model needs at least one of each", cfg.Path, len(m.inputs), len(m.outputs))
	}

	selected, err := m.selectOutputs(m.cfg.Outputs)
	if err != nil {
		return nil, fmt.Errorf("opening model %s: %w", cfg.Path, err)
	}
	sessions, err := m.newSessions(selected)
	if err != nil {
		return nil, fmt.Errorf("opening model %s: %w", cfg.Path, err)
	}
	for _, s := range sessions {
		m.pool <- s
	}
	return m, nil
}

// Name returns the model name from Config.Name.
func (m *Model) Name() string { return m.cfg.Name }

// Version returns the model version from Config.Version.
func (m *Model) Version() string { return m.cfg.Version }

// Path returns the model file from Config.Path.
func (m *Model) Path() string { return m.cfg.Path }

// Manifest returns the registry manifest the model was loaded with, or nil
// for a model opened from a plain file. The manifest must not be modified.
func (m *Model) Manifest() *Manifest { return m.manifest }

// Inputs returns the model's inputs in graph order. The slice is a copy.
func (m *Model) Inputs() []TensorInfo { return cloneInfos(m.inputs) }

// Outputs returns all of the model's outputs in graph order, whether or not
// Score returns them. The slice is a copy.
func (m *Model) Outputs() []TensorInfo { return cloneInfos(m.outputs) }

// SetOutputs chooses the outputs Score returns, in order; no names means all
// outputs. Each session binds its outputs when it is created, so SetOutputs
// builds a new pool: it waits (until ctx is done) for in-flight Score calls to
// give their sessions back, then replaces every session. It is meant for
// start-up; on error the old pool and selection stay in place.
func (m *Model) SetOutputs(ctx context.Context, names ...string) error {
	selected, err := m.selectOutputs(names)
	if err != nil {
		return fmt.Errorf("setting outputs of model %s: %w", m.cfg.Path, err)
	}
	m.admin.Lock()
	defer m.admin.Unlock()
	if m.closed {
		return ErrClosed
	}
	fresh, err := m.newSessions(selected)
	if err != nil {
		return fmt.Errorf("setting outputs of model %s: %w", m.cfg.Path, err)
	}
	old := make([]*session, 0, cap(m.pool))
	for len(old) < cap(m.pool) {
		select {
		case s := <-m.pool:
			old = append(old, s)
		case <-ctx.Done():
			for _, s := range old {
				m.pool <- s
			}
			destroySessions(fresh)
			return fmt.Errorf("setting outputs of model %s: waiting for in-flight inferences: %w", m.cfg.Path, ctx.Err())
		}
	}
	for _, s := range fresh {
		m.pool <- s
	}
	destroySessions(old)
	return nil
}

// Close waits for in-flight Score calls to finish, then destroys every
// session. Score calls waiting for a session return ErrClosed. Close is
// idempotent.
func (m *Model) Close() error {
	m.admin.Lock()
	defer m.admin.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	close(m.done)
	var errs []error
	for range cap(m.pool) {
		s := <-m.pool
		if err := s.s.Destroy(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("closing model %s: %w", m.cfg.Path, errors.Join(errs...))
	}
	return nil
}

// selectOutputs maps output names to indexes into m.outputs; none means all.
func (m *Model) selectOutputs(names []string) ([]int, error) {
	if len(names) == 0 {
		idx := make([]int, len(m.outputs))
		for i := range idx {
			idx[i] = i
		}
		return idx, nil
	}
	idx := make([]int, 0, len(names))
	for _, name := range names {
		i := slices.IndexFunc(m.outputs, func(t TensorInfo) bool { return t.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("the model has no output %q; its outputs are %s", name, listInfos(m.outputs))
		}
		if slices.Contains(idx, i) {
			return nil, fmt.Errorf("output %q is listed twice: list each output once", name)
		}
		idx = append(idx, i)
	}
	return idx, nil
}

// newSessions creates a full pool of sessions returning the outputs at
// indexes selected. On error it destroys what it created.
func (m *Model) newSessions(selected []int) ([]*session, error) {
	inNames := make([]string, len(m.inputs))
	for i, in := range m.inputs {
		inNames[i] = in.Name
	}
	outNames := make([]string, len(selected))
	for i, j := range selected {
		outNames[i] = m.outputs[j].Name
	}
	sessions := make([]*session, 0, m.cfg.sessions())
	for range m.cfg.sessions() {
		s, err := m.newSession(inNames, outNames)
		if err != nil {
			destroySessions(sessions)
			return nil, fmt.Errorf("creating session %d of %d: %w", len(sessions)+1, m.cfg.sessions(), err)
		}
		sessions = append(sessions, &session{s: s, outputs: selected, preallocate: true})
	}
	return sessions, nil
}

func (m *Model) newSession(inNames, outNames []string) (*ort.DynamicAdvancedSession, error) {
	opts, err := m.cfg.sessionOptions()
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	if m.data != nil {
		return ort.NewDynamicAdvancedSessionWithONNXData(m.data, inNames, outNames, opts)
	}
	return ort.NewDynamicAdvancedSession(m.cfg.Path, inNames, outNames, opts)
}

func destroySessions(sessions []*session) {
	for _, s := range sessions {
		s.s.Destroy()
	}
}

func tensorInfo(io ort.InputOutputInfo) TensorInfo {
	t := TensorInfo{Name: io.Name}
	switch io.OrtValueType {
	case ort.ONNXTypeTensor:
		t.ElementType = elementTypeName(io.DataType)
		t.Shape = slices.Clone([]int64(io.Dimensions))
		if t.Shape == nil {
			t.Shape = []int64{} // a scalar
		}
	case ort.ONNXTypeSequence:
		t.ElementType = "sequence"
	case ort.ONNXTypeMap:
		t.ElementType = "map"
	case ort.ONNXTypeOptional:
		t.ElementType = "optional"
	case ort.ONNXTypeSparseTensor:
		t.ElementType = "sparse_tensor"
	case ort.ONNXTypeOpaque:
		t.ElementType = "opaque"
	default:
		t.ElementType = "unknown"
	}
	return t
}

var elementTypeNames = map[ort.TensorElementDataType]string{
	ort.TensorElementDataTypeFloat:          "float32",
	ort.TensorElementDataTypeDouble:         "float64",
	ort.TensorElementDataTypeInt8:           "int8",
	ort.TensorElementDataTypeUint8:          "uint8",
	ort.TensorElementDataTypeInt16:          "int16",
	ort.TensorElementDataTypeUint16:         "uint16",
	ort.TensorElementDataTypeInt32:          "int32",
	ort.TensorElementDataTypeUint32:         "uint32",
	ort.TensorElementDataTypeInt64:          "int64",
	ort.TensorElementDataTypeUint64:         "uint64",
	ort.TensorElementDataTypeBool:           "bool",
	ort.TensorElementDataTypeString:         "string",
	ort.TensorElementDataTypeFloat16:        "float16",
	ort.TensorElementDataTypeBFloat16:       "bfloat16",
	ort.TensorElementDataTypeComplex64:      "complex64",
	ort.TensorElementDataTypeComplex128:     "complex128",
	ort.TensorElementDataTypeFloat8E4M3FN:   "float8e4m3fn",
	ort.TensorElementDataTypeFloat8E4M3FNUZ: "float8e4m3fnuz",
	ort.TensorElementDataTypeFloat8E5M2:     "float8e5m2",
	ort.TensorElementDataTypeFloat8E5M2FNUZ: "float8e5m2fnuz",
	ort.TensorElementDataTypeUint4:          "uint4",
	ort.TensorElementDataTypeInt4:           "int4",
	ort.TensorElementDataTypeUndefined:      "undefined",
}

func elementTypeName(t ort.TensorElementDataType) string {
	if name, ok := elementTypeNames[t]; ok {
		return name
	}
	return "element_type_" + strconv.Itoa(int(t))
}

// numericTypes are the element types Score converts to float64.
var numericTypes = []string{"float32", "float64", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "bool"}

// formatShape writes a shape as [?, 32], with ? for a dynamic dimension.
func formatShape(shape []int64) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		if d < 0 {
			parts[i] = "?"
		} else {
			parts[i] = strconv.FormatInt(d, 10)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func listInfos(infos []TensorInfo) string {
	parts := make([]string, len(infos))
	for i, t := range infos {
		parts[i] = t.String()
	}
	return strings.Join(parts, ", ")
}

func cloneInfos(infos []TensorInfo) []TensorInfo {
	out := make([]TensorInfo, len(infos))
	for i, t := range infos {
		t.Shape = slices.Clone(t.Shape)
		out[i] = t
	}
	return out
}

// NameFromPath is the name a model file goes by when nothing names it: its
// file name without the extension (models/fraud.onnx → fraud).
func NameFromPath(path string) string {
	return strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
}
