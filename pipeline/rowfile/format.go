package rowfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Format is the format of a row file, known by its extension.
type Format string

// File formats.
const (
	// JSONL is one JSON object per line (.jsonl, .ndjson, .json).
	JSONL Format = "jsonl"
	// Parquet is a Parquet file whose top-level columns are the rows'
	// fields (.parquet, .pq).
	Parquet Format = "parquet"
)

// FormatOf returns the format of path from its extension, or an error that
// names the extensions known.
func FormatOf(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson", ".json":
		return JSONL, nil
	case ".parquet", ".pq":
		return Parquet, nil
	}
	return "", fmt.Errorf("%s: unknown file type: name it .jsonl (one JSON object per line) or .parquet", path)
}

// Expand returns the files that patterns name, in order: a pattern holding
// *, ? or [ is a glob whose matches are sorted by name (and must match at
// least one file); any other pattern is a file that must exist. A file
// named twice is kept once; a directory or a file of unknown format is an
// error.
func Expand(patterns []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, p := range patterns {
		matches := []string{p}
		if strings.ContainsAny(p, "*?[") {
			var err error
			matches, err = filepath.Glob(p)
			if err != nil {
				return nil, fmt.Errorf("expanding %q: %w", p, err)
			}
			if len(matches) == 0 {
				return nil, fmt.Errorf("expanding %q: no file matches", p)
			}
			// Glob sorts its matches already; sorted order is the contract.
		}
		for _, m := range matches {
			if seen[m] {
				continue
			}
			seen[m] = true
			if st, err := os.Stat(m); err != nil {
				return nil, err
			} else if st.IsDir() {
				return nil, fmt.Errorf("%s is a directory; name its files, e.g. %s", m, filepath.Join(m, "*.jsonl"))
			}
			if _, err := FormatOf(m); err != nil {
				return nil, err
			}
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no input files")
	}
	return out, nil
}
