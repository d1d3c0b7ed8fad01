package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/pipeline/replay"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// flagTable lists every command's flags, one per line: the command path,
// the flag (with its shorthand), its type and default, and "deprecated"
// for old spellings kept for scripts.
func flagTable(root *cobra.Command) string {
	var b strings.Builder
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		fmt.Fprintf(&b, "%s\n", c.CommandPath())
		var lines []string
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Name == "help" {
				return
			}
			name := "--" + f.Name
			if f.Shorthand != "" {
				name = "-" + f.Shorthand + ", " + name
			}
			line := fmt.Sprintf("  %-28s %-12s %q", name, f.Value.Type(), f.DefValue)
			if f.Deprecated != "" {
				line += " deprecated: " + f.Deprecated
			}
			lines = append(lines, line)
		})
		slices.Sort(lines)
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return b.String()
}

// TestHelpFlagTable compares every command's flags with
// testdata/help_flags.golden (go test -run TestHelpFlagTable -update
// rewrites it), so a flag added, renamed or given a new default shows in
// review, and checks the vocabulary the commands share.
func TestHelpFlagTable(t *testing.T) {
	got := flagTable(newRootCmd())
	golden := filepath.Join("testdata", "help_flags.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestHelpFlagTable -update)", err)
	}
	if got != string(want) {
		t.Errorf("the flag table changed; if that is meant, run go test -run TestHelpFlagTable -update\ngot:\n%s", got)
	}
}

// TestFlagVocabulary checks what --help promises about shared flags.
func TestFlagVocabulary(t *testing.T) {
	root := newRootCmd()
	var visit func(c *cobra.Command)
	visit = func(c *cobra.Command) {
		path := c.CommandPath()
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			switch {
			case f.Name == "in" && f.Deprecated == "":
				t.Errorf("%s: --in must be a deprecated alias of --file", path)
			case f.Name == "version" && f.Deprecated == "" && !strings.HasPrefix(path, "streamscore model") && path != "streamscore":
				t.Errorf("%s: --version means a model version only on the model subcommands", path)
			case f.Name == "model" && f.Deprecated == "" && f.Value.Type() != "string" && f.Value.Type() != "stringArray":
				t.Errorf("%s: --model is a path (string), got %s", path, f.Value.Type())
			case f.Name == "json" && f.Value.Type() != "bool":
				t.Errorf("%s: --json must be a switch", path)
			}
		})
		if c.Runnable() && !strings.Contains(c.Long, "Exit status: 0 done; 1 error; 2 wrong usage") {
			t.Errorf("%s: --help does not list the exit codes", path)
		}
		for _, sub := range c.Commands() {
			if sub.Name() != "help" && sub.Name() != "completion" {
				visit(sub)
			}
		}
	}
	visit(root)
	// topics create uses brokers and topics only.
	create, _, err := root.Find([]string{"topics", "create"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"group", "model", "schema", "http-addr"} {
		if create.Flags().Lookup(name) != nil {
			t.Errorf("topics create lists --%s, which it ignores", name)
		}
	}
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"version"}, 0},
		{[]string{"bogus"}, 2},
		{[]string{"replay", "--nope"}, 2},
		{[]string{"model", "inspect"}, 2},
		{[]string{"features", "load"}, 2},
		{[]string{"replay", "--fail-on", "sometimes", "--file", "a.jsonl", "--schema", "s.yaml"}, 2},
		{[]string{"replay", "--schema", "s.yaml"}, 1},
		{[]string{"model", "validate", t.TempDir()}, 1},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			root := newRootCmd()
			root.SetArgs(tc.args)
			root.SetOut(new(strings.Builder))
			root.SetErr(new(strings.Builder))
			if got := exitCode(root.Execute()); got != tc.code {
				t.Errorf("exit status %d, want %d", got, tc.code)
			}
		})
	}
}

func TestModelFlagNamesTheModel(t *testing.T) {
	for _, tc := range []struct {
		name      string
		o         overrides
		wantName  string
		wantModel string
	}{
		{"same file keeps the name", overrides{model: "testdata/models/mlp.onnx"}, "mlp-explicit", "testdata/models/mlp.onnx"},
		{"another file names it", overrides{model: "models/other.onnx"}, "other", "models/other.onnx"},
		{"--model-name wins", overrides{model: "models/other.onnx", modelName: "fraud"}, "fraud", "models/other.onnx"},
		{"no flag keeps the config", overrides{}, "mlp-explicit", "testdata/models/mlp.onnx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Schema, cfg.Model.Path, cfg.Model.Name = "s.yaml", "testdata/models/mlp.onnx", "mlp-explicit"
			tc.o.apply(&cfg)
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			if cfg.Model.Name != tc.wantName || cfg.Model.Path != tc.wantModel {
				t.Errorf("model %s named %q, want %s named %q", cfg.Model.Path, cfg.Model.Name, tc.wantModel, tc.wantName)
			}
		})
	}
}

func TestReplayFailOn(t *testing.T) {
	rep := &replay.Report{Events: 10, Scored: 8, Label: "is_fraud", Labeled: 7,
		DeadLetters: []replay.ReasonCount{{Reason: "invalid_json", Count: 2}}}
	for _, tc := range []struct {
		conds []string
		code  int
	}{
		{nil, exitOK},
		{[]string{"dead-letters"}, exitProblem},
		{[]string{"unlabeled"}, exitProblem},
	} {
		if got := exitCode(checkFailed(replay.FailOn(tc.conds, rep))); got != tc.code {
			t.Errorf("--fail-on %v: exit %d, want %d", tc.conds, got, tc.code)
		}
	}
	clean := &replay.Report{Events: 10, Scored: 10, Label: "is_fraud", Labeled: 10, DeadLetters: []replay.ReasonCount{}}
	if err := replay.FailOn([]string{"dead-letters", "unlabeled"}, clean); err != nil {
		t.Errorf("a clean replay failed: %v", err)
	}
}
