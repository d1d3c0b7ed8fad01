package model

import (
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

// WriteList prints a table of the versions of each named model (all of
// the registry's models when names is empty): version, whether active,
// creation time, sha256 prefix and description. A version whose manifest
// cannot be read is listed with the reason.
func (r Registry) WriteList(out io.Writer, names []string) error {
	if len(names) == 0 {
		var err error
		if names, err = r.Names(); err != nil {
			return err
		}
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "MODEL\tVERSION\tACTIVE\tCREATED\tSHA256\tDESCRIPTION")
	for _, name := range names {
		vs, err := r.Versions(name)
		if err != nil {
			return err
		}
		active, _ := r.Active(name)
		for _, v := range vs {
			man, err := ReadManifest(r.Dir(name, v))
			if err != nil {
				fmt.Fprintf(w, "%s\t%s\t\t\t\t(%v)\n", name, v, err)
				continue
			}
			mark := ""
			if v == active {
				mark = "*"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%.12s\t%s\n", name, v, mark, man.Created.Format(time.RFC3339), man.SHA256, man.Description)
		}
	}
	return w.Flush()
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
