package model

import (
	"bytes"
	"testing"
	"time"
)

func TestReportWriteValidationJSON(t *testing.T) {
	r := Report{Manifest: &Manifest{Name: "fraud", Version: "3", SHA256: "ab12"}, Open: 1500 * time.Microsecond,
		Warmup: 250 * time.Microsecond, Widths: []int{1}, GoldenRows: 4, GoldenMaxDiff: 1e-6}
	var buf bytes.Buffer
	if err := r.WriteValidationJSON(&buf, LoadOptions{Want: &Binding{}}); err != nil {
		t.Fatal(err)
	}
	want := `{
  "model": "fraud",
  "version": "3",
  "valid": true,
  "sha256": "ab12",
  "load_ms": 1.5,
  "schema_checked": true,
  "smoke_ms": 0.25,
  "output_widths": [
    1
  ],
  "golden_rows": 4,
  "golden_max_diff": 0.000001
}
`
	if got := buf.String(); got != want {
		t.Errorf("WriteValidationJSON wrote\n%s\nwant\n%s", got, want)
	}
}

func TestWriteListJSON(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []ListEntry
		want    string
	}{
		{"none", nil, "null\n"},
		{"two", []ListEntry{
			{Model: "fraud", Version: "2", Active: true, Created: time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC), SHA256: "ab12"},
			{Model: "fraud", Version: "3", Error: "no manifest"},
		}, `[
  {
    "model": "fraud",
    "version": "2",
    "active": true,
    "created": "2026-11-26T06:00:00Z",
    "sha256": "ab12"
  },
  {
    "model": "fraud",
    "version": "3",
    "active": false,
    "error": "no manifest"
  }
]
`},
	} {
		var buf bytes.Buffer
		if err := WriteListJSON(&buf, tc.entries); err != nil {
			t.Fatal(err)
		}
		if got := buf.String(); got != tc.want {
			t.Errorf("%s: WriteListJSON wrote\n%s\nwant\n%s", tc.name, got, tc.want)
		}
	}
}
