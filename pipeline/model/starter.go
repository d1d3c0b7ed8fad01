package model

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/streamscore/streamscore/schemas"
)

// featureTypes maps an input's element type to the feature type that feeds it.
var featureTypes = map[string]schemas.FieldType{
	"float32": schemas.TypeFloat32,
	"float64": schemas.TypeFloat64,
	"int32":   schemas.TypeInt32,
	"int64":   schemas.TypeInt64,
	"bool":    schemas.TypeBool,
	"string":  schemas.TypeString,
}

// StarterSchema writes a starting event schema (YAML) for the model at path
// from its signature: a model with one float32 [N, F] input gets F features
// named <input>_0 .. <input>_F-1 and the single-input form; any other model
// gets one feature per input, named after it, of its type ([N] and [N, 1]
// inputs a single value, [N, k] an array of k), bound by name. Every output
// is listed. The result parses with schemas.Parse; its field names, id and
// defaults are for the user to adjust.
func StarterSchema(path string, inputs, outputs []TensorInfo) (string, error) {
	var b strings.Builder
	name := NameFromPath(path)
	fmt.Fprintf(&b, "# A starting schema for %s, from its inputs and outputs.\n", filepath.Base(path))
	fmt.Fprintf(&b, "# Rename features to the event's field names (and bind them in model.inputs),\n")
	fmt.Fprintf(&b, "# set id to the field holding the event id, and add defaults where a field may\n")
	fmt.Fprintf(&b, "# be missing.\n")
	fmt.Fprintf(&b, "name: %s\nversion: \"1\"\nid: event_id\nfeatures:\n", yamlString(name))
	single := len(inputs) == 1 && inputs[0].ElementType == "float32" && len(inputs[0].Shape) == 2 && inputs[0].Shape[1] > 1
	var errs []string
	if single {
		in := inputs[0]
		for i := range in.Shape[1] {
			fmt.Fprintf(&b, "  - {name: %s}\n", yamlString(fmt.Sprintf("%s_%d", in.Name, i)))
		}
		fmt.Fprintf(&b, "model:\n  input: %s\n", yamlString(in.Name))
	} else {
		for _, in := range inputs {
			t, ok := featureTypes[in.ElementType]
			if !ok {
				errs = append(errs, fmt.Sprintf("input %s: streamscore feeds %s tensors", in, strings.Join(inputTypes, ", ")))
				continue
			}
			line := fmt.Sprintf("  - {name: %s, type: %s", yamlString(in.Name), t)
			switch {
			case len(in.Shape) == 1 || (len(in.Shape) == 2 && in.Shape[1] == 1):
			case len(in.Shape) == 2 && in.Shape[1] > 1 && t != schemas.TypeString && t != schemas.TypeBool:
				line += fmt.Sprintf(", length: %d", in.Shape[1])
			default:
				errs = append(errs, fmt.Sprintf("input %s: a starting schema needs [N], [N, 1] or [N, k] with a fixed k of numbers; write this input's features by hand", in))
				continue
			}
			b.WriteString(line + "}\n")
		}
		b.WriteString("model:\n  # no input or inputs: each model input is bound to the feature of its name\n")
	}
	b.WriteString("  outputs:\n")
	for _, o := range outputs {
		fmt.Fprintf(&b, "    - {name: %s}  # %s\n", yamlString(o.Name), strings.TrimPrefix(o.String(), o.Name+" "))
	}
	if len(errs) > 0 {
		return "", fmt.Errorf("writing a schema for %s: %s", path, strings.Join(errs, "; "))
	}
	return b.String(), nil
}

// yamlString quotes s when YAML would read it as something else.
func yamlString(s string) string {
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Sprintf("%q", s)
		}
	}
	if s == "" || strings.ContainsAny(s[:1], "0123456789-.") {
		return fmt.Sprintf("%q", s)
	}
	return s
}
