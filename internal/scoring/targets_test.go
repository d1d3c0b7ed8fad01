package scoring

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/schemas"
)

func TestOpenFeatureSetErrors(t *testing.T) {
	tests := []struct {
		name   string
		redis  []string
		schema string
		set    string
		want   string
	}{
		{"no Redis", nil, withSetsSchema, "user_stats", "pass --redis"},
		{"no schema", []string{"127.0.0.1:1"}, "", "user_stats", "no schema"},
		{"unknown set", []string{"127.0.0.1:1"}, withSetsSchema, "nope", "nope"},
		{"Redis not answering", []string{"127.0.0.1:1"}, withSetsSchema, "user_stats", "connecting to Redis 127.0.0.1:1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Redis.Addrs, cfg.Schema = tc.redis, tc.schema
			fs, client, err := OpenFeatureSet(t.Context(), &cfg, tc.set)
			if err == nil || !strings.Contains(err.Error(), tc.want) || fs != nil || client != nil {
				t.Fatalf("OpenFeatureSet = %v, %v, %v; want only an error naming %q", fs, client, err, tc.want)
			}
		})
	}
}

func TestOpenDriftWindowErrors(t *testing.T) {
	baseline := filepath.Join(t.TempDir(), "missing-baseline.json")
	tests := []struct {
		name     string
		baseline string
		redis    []string
		want     string
	}{
		{"no baseline", "", []string{"127.0.0.1:1"}, "no baseline"},
		{"no Redis", baseline, nil, "no Redis"},
		{"baseline unreadable", baseline, []string{"127.0.0.1:1"}, "missing-baseline.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Drift.Baseline, cfg.Redis.Addrs = tc.baseline, tc.redis
			w, err := OpenDriftWindow(&cfg, "fraud", "3")
			if err == nil || !strings.Contains(err.Error(), tc.want) || w != nil {
				t.Fatalf("OpenDriftWindow = %v, %v; want an error naming %q", w, err, tc.want)
			}
		})
	}
}

func TestFileEventsReadsEveryLine(t *testing.T) {
	path := "../../testdata/features/user_stats.jsonl"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Count(string(b), "\n")
	out := make(chan schemas.Message, want+1)
	errc := make(chan error, 1)
	go func() { errc <- FileEvents(t.Context(), path, out) }()
	n := 0
	for m := range out {
		if len(m.Value) == 0 {
			t.Fatalf("event %d is empty", n)
		}
		n++
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("read %d events, want %d", n, want)
	}

	out = make(chan schemas.Message)
	if err := FileEvents(t.Context(), "no-such-file.jsonl", out); err == nil {
		t.Fatal("a missing file read without error")
	}
	if _, open := <-out; open {
		t.Fatal("out left open after an error")
	}
}
