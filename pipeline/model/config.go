package model

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
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

// Execution providers accepted by Config.ExecutionProvider.
const (
	// ProviderCPU runs on the CPU (ONNX Runtime's default provider).
	ProviderCPU = "cpu"
	// ProviderCUDA runs on an NVIDIA GPU through ONNX Runtime's CUDA
	// provider, with the CPU provider for the operators CUDA lacks. It needs
	// a library built with CUDA and its provider library
	// (libonnxruntime_providers_cuda.so) beside it, plus the CUDA and cuDNN
	// versions that build expects.
	ProviderCUDA = "cuda"
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
	Outputs []string `yaml:"-"`
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
	// ExecutionProvider is "cpu" or "cuda"; "" means "cpu". With "cuda",
	// Open fails, naming the cause, when the library or the machine cannot
	// run CUDA; it never falls back to the CPU silently.
	ExecutionProvider string `yaml:"execution_provider"`
	// CUDADevice is the GPU ordinal for "cuda" (CUDA's device_id); 0 is the
	// first GPU.
	CUDADevice int `yaml:"cuda_device"`
	// OptimizedModelPath, if set, makes ONNX Runtime write the graph it
	// optimised to this file when a session is created (see Optimize).
	OptimizedModelPath string `yaml:"-"`
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
	switch c.ExecutionProvider {
	case "", ProviderCPU, ProviderCUDA:
	default:
		errs = append(errs, fmt.Errorf("model.execution_provider is %q: set cpu or cuda (or leave it empty for cpu)", c.ExecutionProvider))
	}
	if c.CUDADevice < 0 {
		errs = append(errs, fmt.Errorf("model.cuda_device is %d: set the GPU ordinal, 0 for the first", c.CUDADevice))
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
	if c.OptimizedModelPath != "" {
		steps = append(steps, struct {
			what string
			do   func() error
		}{"setting the optimized model path", func() error { return opts.SetOptimizedModelFilePath(c.OptimizedModelPath) }})
	}
	if c.ExecutionProvider == ProviderCUDA {
		steps = append(steps, struct {
			what string
			do   func() error
		}{"adding the CUDA execution provider", func() error { return appendCUDA(opts, c.CUDADevice) }})
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			opts.Destroy()
			return nil, fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return opts, nil
}

// appendCUDA adds the CUDA provider for device to opts.
func appendCUDA(opts *ort.SessionOptions, device int) error {
	cuda, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return fmt.Errorf("%w (model.execution_provider: cuda needs an ONNX Runtime library built with CUDA; set cpu to run on the CPU)", err)
	}
	defer cuda.Destroy()
	if err := cuda.Update(map[string]string{"device_id": strconv.Itoa(device)}); err != nil {
		return fmt.Errorf("setting CUDA device_id %d: %w (model.execution_provider: cuda needs an ONNX Runtime library built with CUDA, with libonnxruntime_providers_shared.so and libonnxruntime_providers_cuda.so beside it; set cpu to run on the CPU)", device, err)
	}
	if err := opts.AppendExecutionProviderCUDA(cuda); err != nil {
		return fmt.Errorf("%w (model.execution_provider: cuda needs an ONNX Runtime library built with CUDA, libonnxruntime_providers_cuda.so beside it, and a GPU with the CUDA and cuDNN versions that build expects; set cpu to run on the CPU)", err)
	}
	return nil
}
