package model

import (
	"errors"
	"fmt"
	"slices"
)

// Check verifies that the model fits a schema before anything is scored: that
// it has exactly one input, named input, of type float32 and shape
// [N, features] (N dynamic or any size; a dynamic feature dimension is
// accepted), and that each name in outputs is a model output with a numeric
// element type and shape [N] or [N, k]. It reports every mismatch at once;
// each error names the input or output, what was expected, what the model
// declares, and the fix.
func (m *Model) Check(input string, features int, outputs []string) error {
	var errs []error
	errs = append(errs, m.checkInput(input, features)...)
	for _, name := range outputs {
		if err := m.checkOutput(name); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("checking model %s against the schema: %w", m.cfg.Path, errors.Join(errs...))
	}
	return nil
}

func (m *Model) checkInput(name string, features int) []error {
	i := slices.IndexFunc(m.inputs, func(t TensorInfo) bool { return t.Name == name })
	if i < 0 {
		return []error{fmt.Errorf("input %q: the model has no such input; its inputs are %s: set the schema's model input name to the model's, or re-export the model with an input named %q", name, listInfos(m.inputs), name)}
	}
	var errs []error
	if len(m.inputs) > 1 {
		var others []TensorInfo
		for _, t := range m.inputs {
			if t.Name != name {
				others = append(others, t)
			}
		}
		errs = append(errs, fmt.Errorf("input %q: the model has %d more inputs (%s) and streamscore feeds exactly one: re-export the model with a single [N, %d] float32 input", name, len(others), listInfos(others), features))
	}
	in := m.inputs[i]
	if in.ElementType != "float32" {
		errs = append(errs, fmt.Errorf("input %q: expected element type float32, the model declares %s: re-export the model with a float32 input (skl2onnx: FloatTensorType([None, %d]))", name, in.ElementType, features))
	}
	switch {
	case in.Shape == nil:
		// Not a tensor: the type error above already says so.
	case len(in.Shape) != 2:
		errs = append(errs, fmt.Errorf("input %q: expected shape [N, %d], the model declares %s: re-export the model with a two-dimensional [N, %d] input", name, features, formatShape(in.Shape), features))
	case in.Shape[1] >= 0 && in.Shape[1] != int64(features):
		errs = append(errs, fmt.Errorf("input %q: expected shape [N, %d] (the schema has %d features), the model declares %s (%d features): train and export the model on the schema's %d features, or use a schema with the model's %d", name, features, features, formatShape(in.Shape), in.Shape[1], features, in.Shape[1]))
	}
	return errs
}

func (m *Model) checkOutput(name string) error {
	i := slices.IndexFunc(m.outputs, func(t TensorInfo) bool { return t.Name == name })
	if i < 0 {
		return fmt.Errorf("output %q: the model has no such output; its outputs are %s: name one of them in the schema's outputs", name, listInfos(m.outputs))
	}
	out := m.outputs[i]
	switch out.ElementType {
	case "sequence":
		return nil // a ZipMap, a sequence of maps; checked when read
	case "string":
		if len(out.Shape) == 1 || len(out.Shape) == 2 {
			return nil // class labels
		}
	}
	if !slices.Contains(numericTypes, out.ElementType) {
		hint := "cast it to float32 in the model"
		switch out.ElementType {
		case "map":
			hint = "for scikit-learn classifiers, convert with skl2onnx options {'zipmap': False}"
		}
		return fmt.Errorf("output %q: expected a numeric tensor (%v), the model declares %s: %s", name, numericTypes, out.ElementType, hint)
	}
	if len(out.Shape) != 1 && len(out.Shape) != 2 {
		return fmt.Errorf("output %q: expected shape [N] or [N, k], the model declares %s: reshape the output to one row per input row", name, formatShape(out.Shape))
	}
	return nil
}
