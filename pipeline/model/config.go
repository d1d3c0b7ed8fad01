package model

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// MaxSessions bounds Config.Sessions: each session holds its own copy of the
// model's weights and its own threads, so a pool far beyond the core count
// only costs memory.
const MaxSessions = 256

// Graph optimisation levels accepted by Config.GraphOptimization, as ONNX
// Runtime names them (ORT_DISABLE_ALL ... ORT_ENABLE_ALL).
const (
	GraphOptimizationDisable  = "disable"
	GraphOptimizationBasic    = "basic"
	GraphOptimizationExtended = "extended"
	GraphOptimizationAll      = "all"
)

var graphOptimizationLevels = map[string]ort.GraphOptimizationLevel{
	"":                        ort.GraphOptimizationLevelEnableAll,
	GraphOptimizationDisable:  ort.GraphOptimizationLevelDisableAll,
	GraphOptimizationBasic:    ort.GraphOptimizationLevelEnableBasic,
	GraphOptimizationExtended: ort.GraphOptimizationLevelEnableExtended,
	GraphOptimizationAll:      ort.GraphOptimizationLevelEnableAll,
}

// Config says which model to load and how to run it. The zero value of every
// field but Path is a working default.
type Config struct {
	// Path is the model file (model.onnx). Required.
	Path string `yaml:"path"`
	// Name and Version identify the model; they are carried in every scored
	// event and label metrics. Empty is allowed but makes scored events hard
	// to trace back to a model.
	Name    string `yaml:"name"`
	Version string `yaml:"version"`
	// Outputs are the model outputs Score returns, in this order. Empty means
	// every output of the model, in the model's order. SetOutputs changes it
	// on an open Model.
	Outputs []string `yaml:"outputs"`
	// Sessions is the size of the session pool, the number of Score calls
	// that run at once. 0 means 1.
	Sessions int `yaml:"sessions"`
	// IntraOpThreads is ONNX Runtime's intra_op_num_threads for each session
	// (threads inside one operator). 0 means 1.
	IntraOpThreads int `yaml:"intra_op_threads"`
	// InterOpThreads is ONNX Runtime's inter_op_num_threads for each session
	// (threads across independent operators). 0 means 1.
	InterOpThreads int `yaml:"inter_op_threads"`
	// Spinning lets idle ONNX Runtime pool threads spin waiting for work
	// (session.intra_op.allow_spinning and session.inter_op.allow_spinning).
	// The default, false, turns spinning off so idle threads leave the CPU to
	// decoding and I/O; it only matters with more than one thread.
	Spinning bool `yaml:"spinning"`
	// GraphOptimization is ONNX Runtime's graph optimisation level: "disable",
	// "basic", "extended" or "all". "" means "all".
	GraphOptimization string `yaml:"graph_optimization"`
}

// Validate reports every invalid field of c, naming the key and the fix. It
// does not open the file; Open does.
func (c Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.Path) == "" {
		errs = append(errs, errors.New("model.path is empty: set it to the model's .onnx file"))
	}
	if c.Sessions < 0 || c.Sessions > MaxSessions {
		errs = append(errs, fmt.Errorf("model.sessions is %d: set 0 (one session) up to %d; about one per core is usually best", c.Sessions, MaxSessions))
	}
	if c.IntraOpThreads < 0 {
		errs = append(errs, fmt.Errorf("model.intra_op_threads is %d: set 0 (one thread) or a positive count", c.IntraOpThreads))
	}
	if c.InterOpThreads < 0 {
		errs = append(errs, fmt.Errorf("model.inter_op_threads is %d: set 0 (one thread) or a positive count", c.InterOpThreads))
	}
	if _, ok := graphOptimizationLevels[c.GraphOptimization]; !ok {
		errs = append(errs, fmt.Errorf("model.graph_optimization is %q: set one of disable, basic, extended, all (or leave it empty for all)", c.GraphOptimization))
	}
	for i, name := range c.Outputs {
		if name == "" {
			errs = append(errs, fmt.Errorf("model.outputs[%d] is empty: name a model output, or leave model.outputs empty for all outputs", i))
		} else if slices.Index(c.Outputs, name) != i {
			errs = append(errs, fmt.Errorf("model.outputs lists %q twice: list each output once", name))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("validating model config: %w", errors.Join(errs...))
	}
	return nil
}

func (c Config) sessions() int       { return max(c.Sessions, 1) }
func (c Config) intraOpThreads() int { return max(c.IntraOpThreads, 1) }
func (c Config) interOpThreads() int { return max(c.InterOpThreads, 1) }

// sessionOptions builds the options of one session. The caller destroys them
// once the session is created.
func (c Config) sessionOptions() (*ort.SessionOptions, error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("creating session options: %w", err)
	}
	spin := "0"
	if c.Spinning {
		spin = "1"
	}
	steps := []struct {
		what string
		do   func() error
	}{
		{"setting intra-op threads", func() error { return opts.SetIntraOpNumThreads(c.intraOpThreads()) }},
		{"setting inter-op threads", func() error { return opts.SetInterOpNumThreads(c.interOpThreads()) }},
		{"setting intra-op spinning", func() error { return opts.AddSessionConfigEntry("session.intra_op.allow_spinning", spin) }},
		{"setting inter-op spinning", func() error { return opts.AddSessionConfigEntry("session.inter_op.allow_spinning", spin) }},
		{"setting graph optimisation", func() error {
			return opts.SetGraphOptimizationLevel(graphOptimizationLevels[c.GraphOptimization])
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			opts.Destroy()
			return nil, fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return opts, nil
}
