package replay

import (
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
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
			got, err := ParseTime(tc.in)
			if (err != nil) != tc.err || !got.Equal(tc.want) {
				t.Fatalf("ParseTime(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestParseModelRef(t *testing.T) {
	tests := []struct{ in, name, path string }{
		{"models/fraud-v3.onnx", "fraud-v3", "models/fraud-v3.onnx"},
		{"champion=models/v3.onnx", "champion", "models/v3.onnx"},
		{"dir=x/y.onnx", "dir", "x/y.onnx"},
		{"weird/a=b.onnx", "a=b", "weird/a=b.onnx"},
	}
	for _, tc := range tests {
		name, path := ParseModelRef(tc.in)
		if name != tc.name || path != tc.path {
			t.Errorf("ParseModelRef(%q) = %q, %q; want %q, %q", tc.in, name, path, tc.name, tc.path)
		}
	}
}

func TestPlanValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		plan Plan
		want string
	}{
		{"nothing", Plan{Schema: "s.yaml"}, "name what to replay"},
		{"both", Plan{Schema: "s.yaml", Topic: "t", Files: []string{"a.jsonl"}}, "replay one or the other"},
		{"two outputs", Plan{Schema: "s.yaml", Topic: "t", Out: "o.jsonl", ToTopic: "x"}, "write to one or the other"},
		{"no schema", Plan{Topic: "t"}, "--schema"},
		{"bad from", Plan{Schema: "s.yaml", Topic: "t", From: "yesterday"}, `--from "yesterday"`},
		{"empty range", Plan{Schema: "s.yaml", Topic: "t", From: "2026-01-02", To: "2026-01-01"}, "must be after --from"},
		{"production topic", Plan{Schema: "s.yaml", Topic: "t", ToTopic: "scored", Protected: map[string]string{"production output": "scored"}}, "is the production output topic"},
		{"replayed topic", Plan{Schema: "s.yaml", Topic: "t", ToTopic: "t"}, "is the replayed topic"},
		{"report", Plan{Schema: "s.yaml", Topic: "t", Reports: []string{"r.txt"}}, "name it .html"},
		{"features", Plan{Schema: "s.yaml", Topic: "t", Features: "cache"}, "--features"},
		{"ok", Plan{Schema: "s.yaml", Files: []string{"a.jsonl"}, Out: "o.parquet", Reports: []string{"r.html", "r.json"}, From: "2026-01-01", To: "2026-01-02"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.plan.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error holding %q", err, tc.want)
			}
		})
	}
}
