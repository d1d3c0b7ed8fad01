package model

import (
	"fmt"
	"os"

	ort "github.com/yalue/onnxruntime_go"
)

// Inspection is what `model inspect` shows about a model file.
type Inspection struct {
	Path   string
	Size   int64
	SHA256 string
	FileInfo
	// Inputs and Outputs are as ONNX Runtime reads them.
	Inputs, Outputs []TensorInfo
}

// Inspect reads the model file at path: its header (without ONNX Runtime)
// and its inputs and outputs (with ONNX Runtime, which Init must have
// loaded). It does not keep a session.
func Inspect(path string) (Inspection, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Inspection{}, fmt.Errorf("inspecting model: %w", err)
	}
	info, err := ReadFileInfo(data)
	if err != nil {
		return Inspection{}, fmt.Errorf("inspecting %s: %w", path, err)
	}
	in := Inspection{Path: path, Size: int64(len(data)), SHA256: SHA256(data), FileInfo: info}
	if !initialised() {
		return in, fmt.Errorf("inspecting %s: ONNX Runtime is not loaded: call model.Init first", path)
	}
	ins, outs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		return in, fmt.Errorf("inspecting %s: reading inputs and outputs: %w", path, explainLoadError(err))
	}
	for _, t := range ins {
		in.Inputs = append(in.Inputs, tensorInfo(t))
	}
	for _, t := range outs {
		in.Outputs = append(in.Outputs, tensorInfo(t))
	}
	return in, nil
}

// Optimize loads the model at cfg.Path with cfg's graph optimisation level
// ("" means all) and writes the graph ONNX Runtime optimised to out, so a
// later load can skip the optimisation (open out with graph_optimization:
// disable). Levels above basic may fuse operators into ones only ONNX
// Runtime knows and lay data out for this machine's CPU: use out with ONNX
// Runtime, on machines of the same kind.
func Optimize(cfg Config, out string) error {
	if out == "" {
		return fmt.Errorf("optimizing %s: an output path is required", cfg.Path)
	}
	cfg.Sessions = 1
	cfg.Outputs = nil
	cfg.OptimizedModelPath = out
	m, err := Open(cfg)
	if err != nil {
		return fmt.Errorf("optimizing %s: %w", cfg.Path, err)
	}
	if err := m.Close(); err != nil {
		return fmt.Errorf("optimizing %s: %w", cfg.Path, err)
	}
	if _, err := os.Stat(out); err != nil {
		return fmt.Errorf("optimizing %s: ONNX Runtime wrote no optimized model: %w", cfg.Path, err)
	}
	return nil
}
