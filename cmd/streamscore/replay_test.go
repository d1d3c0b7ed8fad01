package main

import (
	"testing"
	"time"
)

func TestParseTimeFlag(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"", time.Time{}, false},
		{"1767225600123", time.UnixMilli(1767225600123), false},
		{"2026-01-01T00:00:00Z", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"2026-01-01T01:00:00.5+01:00", time.Date(2026, 1, 1, 0, 0, 0, 5e8, time.UTC), false},
		{"2026-01-02", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), false},
		{"yesterday", time.Time{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseTimeFlag("from", tc.in)
			if (err != nil) != tc.err || !got.Equal(tc.want) {
				t.Fatalf("parseTimeFlag(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestModelFlag(t *testing.T) {
	tests := []struct{ in, name, path string }{
		{"models/fraud-v3.onnx", "fraud-v3", "models/fraud-v3.onnx"},
		{"champion=models/v3.onnx", "champion", "models/v3.onnx"},
		{"dir=x/y.onnx", "dir", "x/y.onnx"},
		{"weird/a=b.onnx", "a=b", "weird/a=b.onnx"},
	}
	for _, tc := range tests {
		name, path := modelFlag(tc.in)
		if name != tc.name || path != tc.path {
			t.Errorf("modelFlag(%q) = %q, %q; want %q, %q", tc.in, name, path, tc.name, tc.path)
		}
	}
}
