package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadErrors checks each kind of config error Load reports, with its
// whole message: every problem at once, at file:line:column, with the key
// path and what to write instead.
func TestLoadErrors(t *testing.T) {
	t.Setenv("STREAMSCORE_BROKERS", "")
	t.Setenv("STREAMSCORE_REDIS", "")
	t.Setenv("SS_TEST_SECRET", "hunter2-secret")
	tests := []struct {
		name, yaml string
		want       []string // the error's lines, in order
	}{
		{"unknown key with a suggestion", "model:\n  sesions: 2\n",
			[]string{"streamscore.yaml:2:3: model.sesions: unknown key; did you mean sessions?"}},
		{"unknown top-level key", "brokerz: [a:1]\n",
			[]string{"streamscore.yaml:1:1: brokerz: unknown key; did you mean brokers?"}},
		{"unknown key with no close match", "batch: {bogus: 1}\n",
			[]string{"streamscore.yaml:1:9: batch.bogus: unknown key; known keys are max_bytes, max_rows, max_wait, mode, target_latency"}},
		{"tab", "model:\n\tpath: m.onnx\n",
			[]string{"streamscore.yaml:2:1: tabs are not allowed in YAML; use spaces"}},
		{"integer for a duration", "batch:\n  max_wait: 5\n",
			[]string{`streamscore.yaml:2:13: batch.max_wait: expected a duration such as 20ms, 1.5s or 2m, got "5"`}},
		{"word for an integer", "batch:\n  max_rows: lots\n",
			[]string{`streamscore.yaml:2:13: batch.max_rows: expected an integer, got "lots"`}},
		{"word for a bool", "http: {pprof: maybe}\n",
			[]string{`streamscore.yaml:1:15: http.pprof: expected true or false, got "maybe"`}},
		{"scalar for a list", "brokers: localhost:9092\n",
			[]string{`streamscore.yaml:1:10: brokers: expected a list such as [a, b] or lines starting with "- ", got "localhost:9092"`}},
		{"scalar for a section", "batch: fast\n",
			[]string{`streamscore.yaml:1:8: batch: expected a mapping of keys (max_bytes, max_rows, max_wait, mode, target_latency), got "fast"`}},
		{"http.addr", "http: {addr: nonsense}\n",
			[]string{`streamscore.yaml:1:14: http.addr: "nonsense" is not host:port (e.g. 127.0.0.1:9464, or :9464 for every interface; empty turns the endpoint off)`}},
		{"graph_optimization", "model: {graph_optimization: fast}\n",
			[]string{`streamscore.yaml:1:29: model.graph_optimization is "fast": set one of disable, basic, extended, all (or leave it empty for all)`}},
		{"compression", "producer: {compression: brotli}\n",
			[]string{`streamscore.yaml:1:25: producer.compression: "brotli" is not one of none, gzip, snappy, lz4, zstd`}},
		{"log level", "log: {level: loud}\n",
			[]string{`streamscore.yaml:1:14: log.level: "loud" is not one of debug, info, warn, error`}},
		{"log format", "log: {format: xml}\n",
			[]string{`streamscore.yaml:1:15: log.format: "xml" is not one of auto, json, text`}},
		{"batch mode", "batch: {mode: eager}\n",
			[]string{`streamscore.yaml:1:15: batch.mode: "eager" is not adaptive or fixed`}},
		{"start offset", "consumer: {start_offset: middle}\n",
			[]string{`streamscore.yaml:1:26: consumer.start_offset: "middle" is not earliest or latest`}},
		{"features policy", "features: {policy: open}\n",
			[]string{`streamscore.yaml:1:20: features.policy: "open" is not fail_open or fail_closed`}},
		{"every error at once, in file order", "model:\n  sesions: 2\n  graph_optimization: fast\nbatch:\n  max_wait: 5\n  max_rows: 0\nlog: {level: loud}\n",
			[]string{
				"streamscore.yaml:2:3: model.sesions: unknown key; did you mean sessions?",
				`streamscore.yaml:3:23: model.graph_optimization is "fast": set one of disable, basic, extended, all (or leave it empty for all)`,
				`streamscore.yaml:5:13: batch.max_wait: expected a duration such as 20ms, 1.5s or 2m, got "5"`,
				"streamscore.yaml:6:13: batch.max_rows: must be at least 1",
				`streamscore.yaml:7:14: log.level: "loud" is not one of debug, info, warn, error`,
			}},
		{"a value from the environment is not quoted", "batch: {max_wait: ${SS_TEST_SECRET}, bogus: 1}\n",
			[]string{
				"streamscore.yaml:1:19: batch.max_wait: expected a duration such as 20ms, 1.5s or 2m, got a value from the environment",
				"streamscore.yaml:1:38: batch.bogus: unknown key; known keys are max_bytes, max_rows, max_wait, mode, target_latency",
			}},
		{"a key given twice", "group: a\ngroup: b\n",
			[]string{`streamscore.yaml:2: mapping key "group" already defined at line 1 (group: b)`}},
		{"a section that reads itself", "drift:\n  thresholds:\n    default: {psi: x}\n",
			[]string{"streamscore.yaml:3: cannot unmarshal !!str `x` into float64 (default: {psi: x})"}},
		{"a section that reads itself, from the environment", "drift:\n  thresholds:\n    default: {psi: ${SS_TEST_SECRET}}\n",
			[]string{"streamscore.yaml:3: cannot unmarshal !!str a value from the environment into float64 (default: {psi: ${SS_TEST_SECRET}})"}},
		{"syntax error quotes the line as written", "redis: {password: ${SS_TEST_SECRET}\n",
			[]string{"streamscore.yaml:1: did not find expected ',' or '}' (redis: {password: ${SS_TEST_SECRET})"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "streamscore.yaml")
			if err := os.WriteFile(p, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(p)
			if err == nil {
				t.Fatalf("Load succeeded; want\n%s", strings.Join(tc.want, "\n"))
			}
			got := strings.ReplaceAll(err.Error(), p, "streamscore.yaml")
			if want := strings.Join(tc.want, "\n"); got != want {
				t.Fatalf("got\n%s\nwant\n%s", got, want)
			}
			if strings.Contains(got, "hunter2") {
				t.Fatalf("a secret from the environment leaked: %s", got)
			}
		})
	}
}

// TestValidateNamesThePosition checks Validate, after Load, puts the
// key's place in the file before its problem.
func TestValidateNamesThePosition(t *testing.T) {
	t.Setenv("STREAMSCORE_BROKERS", "")
	t.Setenv("STREAMSCORE_REDIS", "")
	p := filepath.Join(t.TempDir(), "streamscore.yaml")
	os.WriteFile(p, []byte("schema: s.yaml\nmodel: {path: m.onnx}\ntopics:\n  partitions: 0\n"), 0o644)
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	want := p + ":4:15: topics.partitions: must be at least 1"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want a line %q", err, want)
	}
}

// TestValidateOverriddenKeyHasNoPosition checks a key the environment
// overrides is not blamed on the file's line.
func TestValidateOverriddenKeyHasNoPosition(t *testing.T) {
	t.Setenv("STREAMSCORE_BROKERS", "nohost")
	t.Setenv("STREAMSCORE_REDIS", "")
	p := filepath.Join(t.TempDir(), "streamscore.yaml")
	os.WriteFile(p, []byte("schema: s.yaml\nmodel: {path: m.onnx}\nbrokers: [a:1]\n"), 0o644)
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	want := "invalid configuration:\nbrokers: \"nohost\" has no port; write host:port"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"sessions", "path", "graph_optimization", "max_wait"}
	for key, want := range map[string]string{
		"sesions": "sessions", "pth": "path", "graph_optimisation": "graph_optimization",
		"max-wait": "max_wait", "zzz": "", "Sessions": "sessions", "ptah": "path",
	} {
		if got := suggest(key, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", key, got, want)
		}
	}
}
