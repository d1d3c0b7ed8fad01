package model

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// WriteText prints in as a table: file, sha256, opsets, producer,
// graph size, operators, inputs, outputs and metadata.
func (in Inspection) WriteText(out io.Writer) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "file\t%s (%d bytes)\n", in.Path, in.Size)
	fmt.Fprintf(w, "sha256\t%s\n", in.SHA256)
	fmt.Fprintf(w, "ir_version\t%d\n", in.IRVersion)
	opsets := make([]string, len(in.Opsets))
	for i, o := range in.Opsets {
		opsets[i] = o.String()
	}
	fmt.Fprintf(w, "opset\t%s\n", strings.Join(opsets, ", "))
	fmt.Fprintf(w, "producer\t%s\n", strings.TrimSpace(in.ProducerName+" "+in.ProducerVersion))
	if in.Domain != "" || in.ModelVersion != 0 {
		fmt.Fprintf(w, "domain, model_version\t%s, %d\n", in.Domain, in.ModelVersion)
	}
	fmt.Fprintf(w, "graph\t%s: %d nodes, %d initializers, %d parameters\n", in.GraphName, in.Nodes, in.Initializers, in.Parameters)
	if in.ExternalData {
		fmt.Fprintf(w, "external data\tyes (weights in files beside the model)\n")
	}
	ops := in.OpNames()
	for i, op := range ops {
		ops[i] = fmt.Sprintf("%s×%d", op, in.Ops[op])
	}
	fmt.Fprintf(w, "operators\t%s\n", strings.Join(ops, ", "))
	if in.DocString != "" {
		fmt.Fprintf(w, "doc\t%s\n", in.DocString)
	}
	fmt.Fprintln(w, "inputs")
	for _, t := range in.Inputs {
		fmt.Fprintf(w, "  %s\t%s %s\n", t.Name, t.ElementType, shapeText(t.Shape))
	}
	fmt.Fprintln(w, "outputs")
	for _, t := range in.Outputs {
		fmt.Fprintf(w, "  %s\t%s %s\n", t.Name, t.ElementType, shapeText(t.Shape))
	}
	if len(in.Metadata) > 0 {
		fmt.Fprintln(w, "metadata")
		for _, k := range slices.Sorted(maps.Keys(in.Metadata)) {
			fmt.Fprintf(w, "  %s\t%s\n", k, in.Metadata[k])
		}
	}
	return w.Flush()
}

func shapeText(shape []int64) string {
	if shape == nil {
		return ""
	}
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = "?"
		if d >= 0 {
			parts[i] = fmt.Sprint(d)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// WriteJSON prints in as one indented JSON object with snake_case keys.
func (in Inspection) WriteJSON(out io.Writer) error {
	type tensor struct {
		Name        string  `json:"name"`
		ElementType string  `json:"element_type"`
		Shape       []int64 `json:"shape"`
	}
	type opset struct {
		Domain  string `json:"domain"`
		Version int64  `json:"version"`
	}
	tensors := func(ts []TensorInfo) []tensor {
		out := make([]tensor, len(ts))
		for i, t := range ts {
			out[i] = tensor{t.Name, t.ElementType, t.Shape}
		}
		return out
	}
	doc := struct {
		Path            string            `json:"path"`
		Size            int64             `json:"size"`
		SHA256          string            `json:"sha256"`
		IRVersion       int64             `json:"ir_version"`
		Opsets          []opset           `json:"opsets"`
		ProducerName    string            `json:"producer_name,omitempty"`
		ProducerVersion string            `json:"producer_version,omitempty"`
		Domain          string            `json:"domain,omitempty"`
		ModelVersion    int64             `json:"model_version,omitempty"`
		DocString       string            `json:"doc_string,omitempty"`
		Metadata        map[string]string `json:"metadata,omitempty"`
		GraphName       string            `json:"graph_name"`
		Nodes           int               `json:"nodes"`
		Ops             map[string]int    `json:"ops"`
		Initializers    int               `json:"initializers"`
		Parameters      int64             `json:"parameters"`
		ExternalData    bool              `json:"external_data"`
		Inputs          []tensor          `json:"inputs"`
		Outputs         []tensor          `json:"outputs"`
	}{
		Path: in.Path, Size: in.Size, SHA256: in.SHA256, IRVersion: in.IRVersion, ProducerName: in.ProducerName,
		ProducerVersion: in.ProducerVersion, Domain: in.Domain, ModelVersion: in.ModelVersion, DocString: in.DocString,
		Metadata: in.Metadata, GraphName: in.GraphName, Nodes: in.Nodes, Ops: in.Ops, Initializers: in.Initializers,
		Parameters: in.Parameters, ExternalData: in.ExternalData, Inputs: tensors(in.Inputs), Outputs: tensors(in.Outputs),
	}
	for _, o := range in.Opsets {
		doc.Opsets = append(doc.Opsets, opset{o.Domain, o.Version})
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
