package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/pipeline/drift"
)

func TestDriftConfigThresholds(t *testing.T) {
	var c drift.Config
	err := yaml.Unmarshal([]byte(`
enabled: true
baseline: b.json
bucket: 30s
window: 10
hysteresis: 0.5
thresholds:
  default: {psi: 0.3, ks: {alert: 0.2, clear: 0.1}}
  features:
    amount: {psi: off, wasserstein: 0.4}
    country: {chi2_p: 0.001}
`), &c)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	th := c.WithDefaults().Thresholds
	tests := []struct {
		column string
		want   map[drift.Score]drift.Threshold
	}{
		{"other", map[drift.Score]drift.Threshold{drift.PSI: {Alert: 0.3, Clear: 0.15}, drift.KS: {Alert: 0.2, Clear: 0.1}}},
		{"amount", map[drift.Score]drift.Threshold{drift.KS: {Alert: 0.2, Clear: 0.1}, drift.Wasserstein: {Alert: 0.4, Clear: 0.2}}},
		{"country", map[drift.Score]drift.Threshold{drift.PSI: {Alert: 0.3, Clear: 0.15}, drift.KS: {Alert: 0.2, Clear: 0.1}, drift.ChiSquaredP: {Alert: 0.001, Clear: 0.0015}}},
	}
	for _, tc := range tests {
		t.Run(tc.column, func(t *testing.T) {
			got := th.For(tc.column)
			if len(got) != len(tc.want) {
				t.Fatalf("thresholds = %v, want %v", got, tc.want)
			}
			for s, w := range tc.want {
				if g := got[s]; abs(g.Alert-w.Alert) > 1e-12 || abs(g.Clear-w.Clear) > 1e-12 {
					t.Fatalf("%s = %+v, want %+v", s, g, w)
				}
			}
		})
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestDriftConfigErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"no baseline", "enabled: true", "drift.baseline"},
		{"unknown score", "thresholds: {default: {psy: 0.2}}", "drift.thresholds.default.psy"},
		{"clear above alert", "thresholds: {features: {x: {psi: {alert: 0.2, clear: 0.3}}}}", "clear 0.3 is above alert 0.2"},
		{"flush longer than a bucket", "bucket: 1s\nflush_interval: 2s", "flush_interval"},
		{"short bucket", "bucket: 10ms", "bucket"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c drift.Config
			if err := yaml.Unmarshal([]byte(tc.yaml), &c); err != nil {
				t.Fatal(err)
			}
			err := c.Validate()
			if err != nil {
				err = config.InSection("drift", err)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestBaselineCommandWithoutAModel(t *testing.T) {
	dir := t.TempDir()
	var lines bytes.Buffer
	for i := range 500 {
		lines.WriteString(`{"f00":` + strings.Repeat("1", 1+i%3) + `,"merchant":"m-` + string(rune('a'+i%4)) + `"`)
		for f := 1; f < 24; f++ {
			lines.WriteString(`,"f` + string(rune('0'+f/10)) + string(rune('0'+f%10)) + `":0.5`)
		}
		lines.WriteString("}\n")
	}
	lines.WriteString("not json\n")
	train := filepath.Join(dir, "train.jsonl")
	if err := os.WriteFile(train, lines.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "baseline.json")
	var stdout bytes.Buffer
	err := runBaseline(context.Background(), &stdout, &baselineOptions{
		schema: "../../testdata/linear.schema.yaml", files: []string{train}, out: out,
		categorical: []string{"merchant"}, bins: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := drift.LoadBaseline(out)
	if err != nil {
		t.Fatal(err)
	}
	if b.Rows != 500 || b.Skipped != 1 {
		t.Fatalf("rows %d skipped %d, want 500, 1", b.Rows, b.Skipped)
	}
	if b.Column("score") != nil || !strings.Contains(stdout.String(), "no prediction baseline") {
		t.Fatalf("score column kept without a model or a score field:\n%s", stdout.String())
	}
	f00 := b.Column("f00")
	if len(f00.Edges) != 2 || f00.Counts[0]+f00.Counts[1]+f00.Counts[2] != 500 {
		t.Fatalf("f00 = %+v", f00)
	}
	if m := b.Column("merchant"); m == nil || len(m.Categories) != 4 {
		t.Fatalf("merchant = %+v", m)
	}
	// f24..f31 have defaults and are absent: binned at 0, counted as defaulted
	if f := b.Column("f31"); f.Defaulted != 500 || f.Missing != 0 {
		t.Fatalf("f31 = %+v", f)
	}
	raw, _ := os.ReadFile(out)
	var anyJSON map[string]any
	if err := json.Unmarshal(raw, &anyJSON); err != nil || anyJSON["format"] != drift.BaselineFormat {
		t.Fatalf("baseline file: %v, %v", err, anyJSON["format"])
	}
}

func TestDriftExampleConfigIsValid(t *testing.T) {
	t.Setenv("STREAMSCORE_REDIS", "127.0.0.1:1")
	cfg, err := config.Load("../../testdata/drift/streamscore.drift.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Drift.Validate(); err != nil {
		t.Fatal(err)
	}
	if !cfg.Drift.Enabled || cfg.Drift.Topic == "" || len(cfg.Drift.Thresholds.Columns) == 0 {
		t.Fatalf("example drift section = %+v", cfg.Drift)
	}
}
