package model

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// SetMeanings records what outputs mean, from "output=text" items; output
// is an output's scored-event name (as) or graph name. It fails on an item
// that names none of the binding's outputs.
func (m *Manifest) SetMeanings(items []string) error {
	for _, item := range items {
		as, text, ok := strings.Cut(item, "=")
		found := false
		for i := range m.Binding.Outputs {
			o := &m.Binding.Outputs[i]
			if ok && (o.As == as || o.Name == as) {
				o.Meaning, found = text, true
			}
		}
		if !found {
			return fmt.Errorf("--meaning %q: write output=text, naming one of the schema's outputs", item)
		}
	}
	return nil
}

// ListEntry is one version in a registry listing.
type ListEntry struct {
	Model       string    `json:"model"`
	Version     string    `json:"version"`
	Active      bool      `json:"active"`
	Created     time.Time `json:"created,omitzero"`
	SHA256      string    `json:"sha256,omitempty"`
	Description string    `json:"description,omitempty"`
	// Error says why the manifest could not be read.
	Error string `json:"error,omitempty"`
}

// List returns the versions of each named model (all of the registry's
// models when names is empty), in order.
func (r Registry) List(names []string) ([]ListEntry, error) {
	if len(names) == 0 {
		var err error
		if names, err = r.Names(); err != nil {
			return nil, err
		}
	}
	out := []ListEntry{}
	for _, name := range names {
		vs, err := r.Versions(name)
		if err != nil {
			return nil, err
		}
		active, _ := r.Active(name)
		for _, v := range vs {
			e := ListEntry{Model: name, Version: v, Active: v == active}
			if man, err := ReadManifest(r.Dir(name, v)); err != nil {
				e.Error = err.Error()
			} else {
				e.Created, e.SHA256, e.Description = man.Created, man.SHA256, man.Description
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// WriteList prints entries as a table: version, whether active, creation
// time, sha256 prefix and description, or why the manifest could not be
// read.
func WriteList(out io.Writer, entries []ListEntry) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "MODEL\tVERSION\tACTIVE\tCREATED\tSHA256\tDESCRIPTION")
	for _, e := range entries {
		if e.Error != "" {
			fmt.Fprintf(w, "%s\t%s\t\t\t\t(%s)\n", e.Model, e.Version, e.Error)
			continue
		}
		mark := ""
		if e.Active {
			mark = "*"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%.12s\t%s\n", e.Model, e.Version, mark, e.Created.Format(time.RFC3339), e.SHA256, e.Description)
	}
	return w.Flush()
}

// WriteListJSON prints entries as one indented JSON array (snake_case
// keys), as model list --json shows them.
func WriteListJSON(out io.Writer, entries []ListEntry) error {
	return writeIndentedJSON(out, entries)
}

// WriteText prints r as the outcome of validating a version with opts:
// sha256, load time, binding (checked against schemaPath's when opts.Want
// is set), the smoke batch and the golden outputs.
func (r Report) WriteText(out io.Writer, schemaPath string, opts LoadOptions) error {
	man := r.Manifest
	fmt.Fprintf(out, "%s version %s: valid\n", man.Name, man.Version)
	fmt.Fprintf(out, "  sha256   %s (matches the manifest)\n", man.SHA256)
	fmt.Fprintf(out, "  load     %s\n", r.Open.Round(time.Microsecond))
	if opts.Want != nil {
		fmt.Fprintf(out, "  binding  matches schema %s (input %s, %d features, outputs %v)\n", schemaPath, opts.Want.Input, len(opts.Want.Features), opts.Want.Names())
	} else {
		fmt.Fprintf(out, "  binding  checked against the manifest only (pass --schema to check the event schema)\n")
	}
	smoke := opts.WarmupRows
	if smoke == 0 {
		smoke = DefaultWarmupRows
	}
	fmt.Fprintf(out, "  smoke    %d rows in %s, output widths %v\n", smoke, r.Warmup.Round(time.Microsecond), r.Widths)
	if r.GoldenRows > 0 {
		fmt.Fprintf(out, "  golden   %d rows, largest difference %.3g\n", r.GoldenRows, r.GoldenMaxDiff)
	} else {
		fmt.Fprintf(out, "  golden   none (pass --golden or set golden in the manifest)\n")
	}
	return nil
}

// ValidationJSON is `model validate --json`'s document for r.
func (r Report) ValidationJSON(opts LoadOptions) any {
	man := r.Manifest
	return struct {
		Model         string  `json:"model"`
		Version       string  `json:"version"`
		Valid         bool    `json:"valid"`
		SHA256        string  `json:"sha256"`
		LoadMs        float64 `json:"load_ms"`
		SchemaChecked bool    `json:"schema_checked"`
		SmokeMs       float64 `json:"smoke_ms"`
		OutputWidths  []int   `json:"output_widths"`
		GoldenRows    int     `json:"golden_rows"`
		GoldenMaxDiff float64 `json:"golden_max_diff"`
	}{man.Name, man.Version, true, man.SHA256, float64(r.Open.Microseconds()) / 1000, opts.Want != nil,
		float64(r.Warmup.Microseconds()) / 1000, r.Widths, r.GoldenRows, r.GoldenMaxDiff}
}

// WriteValidationJSON prints ValidationJSON(opts) as one indented JSON
// object, as model validate --json shows it.
func (r Report) WriteValidationJSON(out io.Writer, opts LoadOptions) error {
	return writeIndentedJSON(out, r.ValidationJSON(opts))
}

// writeIndentedJSON writes v as JSON indented by two spaces, and a newline.
func writeIndentedJSON(out io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = out.Write(append(b, '\n'))
	return err
}
