package features

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/streamscore/streamscore/schemas"
)

// KeyHint returns a note suggesting fs's key template when key does not
// look like it, or "".
func KeyHint(fs *schemas.FeatureSet, key string) string {
	prefix, _, _ := strings.Cut(fs.Key, "{")
	if prefix != "" && !strings.HasPrefix(key, prefix) {
		return fmt.Sprintf(" (keys of this set look like %q)", fs.Key)
	}
	return ""
}

// WriteText prints in as a table: the set, the key, its status, write
// time (relative to now), TTL and every feature's value.
func (in Inspection) WriteText(out io.Writer, fs *schemas.FeatureSet, now time.Time) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "set\t%s (%s, version %d, max_age %s)\n", fs.Name, fs.Layout, fs.Version, maxAgeText(fs))
	fmt.Fprintf(tw, "key\t%s\n", in.Key)
	fmt.Fprintf(tw, "status\t%s\n", in.Status)
	if in.Status != "absent" {
		if in.Version > 0 {
			fmt.Fprintf(tw, "stored version\t%d\n", in.Version)
		}
		if !in.Written.IsZero() {
			fmt.Fprintf(tw, "written\t%s (%s ago)\n", in.Written.UTC().Format(time.RFC3339Nano), now.Sub(in.Written).Round(time.Second))
		}
		if in.TTL >= 0 {
			fmt.Fprintf(tw, "ttl\t%s\n", in.TTL.Round(time.Second))
		} else {
			fmt.Fprintln(tw, "ttl\tnone")
		}
	}
	fmt.Fprintln(tw, "\nfeature\tvalue")
	for i, f := range fs.Features {
		v := fmt.Sprintf("%g", in.Values[i])
		if f.Type == schemas.TypeString {
			v = strconv.Quote(in.Strings[i])
		}
		if in.Present[i] {
			fmt.Fprintf(tw, "%s\t%s\n", f.Name, v)
		} else {
			fmt.Fprintf(tw, "%s\t%s (default)\n", f.Name, v)
		}
	}
	return tw.Flush()
}

func maxAgeText(fs *schemas.FeatureSet) string {
	if fs.MaxAge == 0 {
		return "none"
	}
	return fs.MaxAge.String()
}

// WriteJSON prints in as one indented JSON object with snake_case keys.
func (in Inspection) WriteJSON(out io.Writer, fs *schemas.FeatureSet) error {
	type feature struct {
		Name    string `json:"name"`
		Value   any    `json:"value"` // a number, or a string feature's text
		Default bool   `json:"default,omitempty"`
	}
	doc := struct {
		Set     string    `json:"set"`
		Layout  string    `json:"layout"`
		Key     string    `json:"key"`
		Status  string    `json:"status"`
		Version int       `json:"stored_version,omitempty"`
		Written string    `json:"written,omitempty"`
		TTLMs   int64     `json:"ttl_ms"`
		Values  []feature `json:"features"`
	}{Set: fs.Name, Layout: fs.Layout, Key: in.Key, Status: in.Status, Version: in.Version, TTLMs: -1}
	if !in.Written.IsZero() {
		doc.Written = in.Written.UTC().Format(time.RFC3339Nano)
	}
	if in.TTL >= 0 {
		doc.TTLMs = in.TTL.Milliseconds()
	}
	for i, f := range fs.Features {
		var v any = in.Values[i]
		if f.Type == schemas.TypeString {
			v = in.Strings[i]
		}
		doc.Values = append(doc.Values, feature{Name: f.Name, Value: v, Default: !in.Present[i]})
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
