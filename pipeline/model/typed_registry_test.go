package model

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
)

// registerTyped registers fixture name twice (versions 1 and 2) with the
// binding its schema asks for, and returns the registry and the schema.
func registerTyped(t *testing.T, name string) (Registry, *schemas.Spec) {
	t.Helper()
	spec, err := schemas.Load(typedPath(name + ".schema.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	reg := Registry{Root: t.TempDir()}
	for _, v := range []string{"1", "2"} {
		if _, err := reg.Register(typedPath(name+".onnx"), Manifest{Name: name, Version: v, Schema: spec.String(), Binding: BindingFor(spec)}); err != nil {
			t.Fatal(err)
		}
	}
	return reg, spec
}

// TestTypedModelsThroughTheRegistry opens typed fixtures as registry
// versions, champion and canary, and checks every score against Python
// onnxruntime's.
func TestTypedModelsThroughTheRegistry(t *testing.T) {
	requireRuntime(t)
	msgs := readTypedEvents(t)
	for _, name := range []string{"df_pipeline", "rf_zipmap", "torch_two_input", "embedding"} {
		t.Run(name, func(t *testing.T) {
			reg, spec := registerTyped(t, name)
			man, err := ReadManifest(reg.Dir(name, "1"))
			if err != nil {
				t.Fatal(err)
			}
			if man.Binding.Input != "" || len(man.Binding.Features) != len(spec.Features) {
				t.Fatalf("manifest binding %+v: want no single input and every feature listed", man.Binding)
			}

			// The smoke batch runs through the typed columns.
			want := BindingFor(spec)
			m, rep, err := LoadDir(t.Context(), reg.Dir(name, "1"), LoadOptions{Want: &want, Config: Config{Sessions: 2}, WarmupRows: 8})
			if err != nil {
				t.Fatal(err)
			}
			m.Close()
			if len(rep.Widths) != len(spec.Model.Outputs) || rep.Warmup <= 0 {
				t.Fatalf("report %+v: want one width per output and a timed smoke batch", rep)
			}

			// Champion version 2, canary version 1 on every other key.
			r, loc, err := OpenLineup(t.Context(), Config{Path: reg.Root + "/" + name, Sessions: 1},
				LineupConfig{Canary: CanaryConfig{Version: "1", Fraction: 0.5}}, spec, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if !loc.InRegistry() || loc.Version != "2" {
				t.Fatalf("champion location %+v, want registry version 2", loc)
			}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			d := schemas.NewDecoder(spec, mem).Decode(msgs)
			defer d.Release()
			rows := int(d.Record.NumRows())
			keys := make([]string, rows)
			for i := range keys {
				keys[i] = "k" + string(rune('a'+i%26)) + string(rune('a'+i/26%26))
			}
			res, err := r.Score(context.Background(), schemas.ScoreInput{Features: d.Features(), Rows: rows, Cols: spec.Columns(), Keys: keys, Columns: d.Record})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(res.Versions, "1") || !slices.Contains(res.Versions, "2") {
				t.Fatalf("row versions %v: want the canary and the champion both to score", uniq(res.Versions))
			}
			expected := readExpected(t, name)
			for _, o := range spec.Model.Outputs {
				i := slices.IndexFunc(res.Scores, func(s schemas.Scores) bool { return s.Name == o.As })
				if i < 0 {
					t.Fatalf("no output %q in %d scores", o.As, len(res.Scores))
				}
				s := res.Scores[i]
				out := Output{Name: o.Name, Width: s.Width, Values: s.Values, Strings: s.Strings, Keys: s.Keys}
				maxDiff := 0.0
				for row := range rows {
					if err := compareOutput(out, row, expected.Outputs[o.Name][row], &maxDiff); err != nil {
						t.Fatalf("output %s row %d (version %s): %v", o.As, row, res.Versions[row], err)
					}
				}
			}
		})
	}
}

func uniq(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

func TestTypedRegistryRefusals(t *testing.T) {
	requireRuntime(t)
	t.Run("golden file", func(t *testing.T) {
		reg, spec := registerTyped(t, "rf_zipmap")
		dir := reg.Dir("rf_zipmap", "1")
		want := BindingFor(spec)
		_, _, err := LoadDir(t.Context(), dir, LoadOptions{Want: &want, Golden: modelPath("mlp_score.golden.json")})
		if err == nil || !strings.Contains(err.Error(), "typed inputs") {
			t.Fatalf("LoadDir with a golden file = %v, want a refusal naming typed inputs", err)
		}
	})
	t.Run("inputs differ", func(t *testing.T) {
		reg, spec := registerTyped(t, "rf_zipmap")
		other := *spec
		other.Model.Inputs = []schemas.InputBinding{{Name: "features", Features: []string{"f1", "f0", "f2", "f3"}}}
		want := BindingFor(&other)
		_, _, err := LoadDir(t.Context(), reg.Dir("rf_zipmap", "1"), LoadOptions{Want: &want})
		if err == nil || !strings.Contains(err.Error(), "inputs:") {
			t.Fatalf("LoadDir with other model.inputs = %v, want the inputs named", err)
		}
	})
	t.Run("canary of another kind", func(t *testing.T) {
		// The same model bound twice, the canary publishing class labels
		// where the champion publishes probabilities.
		spec, err := schemas.Load(typedPath("rf_zipmap.schema.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		open := func(outputs ...string) *Model {
			m := openModel(t, Config{Path: typedPath("rf_zipmap.onnx"), Outputs: outputs})
			if err := m.Bind(spec, outputs); err != nil {
				t.Fatal(err)
			}
			return m
		}
		champ, canary := open("output_probability"), open("output_label")
		err = checkLineup(t.Context(), Lineup{Champion: champ, Canary: canary, CanaryFraction: 0.1})
		if err == nil || !strings.Contains(err.Error(), "canary") {
			t.Fatalf("checkLineup = %v, want the canary refused", err)
		}
		same := open("output_probability")
		if err := checkLineup(t.Context(), Lineup{Champion: champ, Canary: same, CanaryFraction: 0.1}); err != nil {
			t.Fatalf("checkLineup of two equal typed models = %v", err)
		}
	})
}

// TestSmokeBatchDecodesEveryType checks the synthetic events of a smoke
// batch decode under every typed fixture's schema, with finite numbers.
func TestSmokeBatchDecodesEveryType(t *testing.T) {
	for _, name := range typedFixtures {
		spec, err := schemas.Load(typedPath(name + ".schema.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		d, err := smokeBatch(spec, 5)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d.Record.NumRows() != 5 {
			t.Errorf("%s: %d rows", name, d.Record.NumRows())
		}
		for _, v := range d.Features() {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Errorf("%s: matrix value %v", name, v)
			}
		}
		d.Release()
	}
}
