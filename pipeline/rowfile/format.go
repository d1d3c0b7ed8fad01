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
	// Avro is an Avro Object Container File of records whose top-level
	// fields are the rows' fields (.avro), as Spark, pandas and fastavro
	// write them: the writer schema in the header, blocks of rows
	// compressed with the null, deflate, snappy or zstandard codec.
	Avro Format = "avro"
)

// Columnar reports whether files of format f are read as Arrow records
// (Records) rather than as lines (Lines, Objects).
func (f Format) Columnar() bool { return f == Parquet || f == Avro }

// FormatOf returns the format of path from its extension, or an error that
// names the extensions known.
func FormatOf(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson", ".json":
		return JSONL, nil
	case ".parquet", ".pq":
		return Parquet, nil
	case ".avro":
		return Avro, nil
	}
	return "", fmt.Errorf("%s: unknown file type: name it .jsonl (one JSON object per line), .parquet or .avro (an Avro Object Container File)", path)
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
