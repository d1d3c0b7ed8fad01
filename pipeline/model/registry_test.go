package model

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func featureNames() []string {
	names := make([]string, features)
	for i := range names {
		names[i] = "f" + string(rune('0'+i/10)) + string(rune('0'+i%10))
	}
	return names
}

// linearBinding is the binding testdata/linear.schema.yaml asks for.
func linearBinding() Binding {
	return Binding{Input: "features", Features: featureNames(), Outputs: []BoundOutput{{Name: "variable", As: "score"}}}
}

// newRegistry registers linear.onnx as linear/1, linear_v2.onnx as
// linear/2 and bad_shape.onnx as linear/3 in a temporary registry.
func newRegistry(t *testing.T) Registry {
	t.Helper()
	reg := Registry{Root: t.TempDir()}
	for _, v := range []struct{ version, file string }{{"1", "linear.onnx"}, {"2", "linear_v2.onnx"}, {"3", "bad_shape.onnx"}} {
		b := linearBinding()
		b.Outputs[0].Meaning = "expected amount"
		if _, err := reg.Register(modelPath(v.file), Manifest{Name: "linear", Version: v.version, Binding: b, Schema: "payments/1"}); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

func loadWeights(t *testing.T, file string) linearWeights {
	t.Helper()
	b, err := os.ReadFile(modelPath(file))
	if err != nil {
		t.Fatal(err)
	}
	var w linearWeights
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestReadFileInfo(t *testing.T) {
	tests := []struct {
		file      string
		graph     string
		opsets    string
		metadata  map[string]string
		ops       []string
		minParams int64
	}{
		{file: "linear.onnx", graph: "linear", opsets: "ai.onnx 17, ai.onnx.ml 1", ops: []string{"ai.onnx.ml:LinearRegressor"}, minParams: 0},
		{file: "linear_v2.onnx", graph: "linear_v2", opsets: "ai.onnx 17, ai.onnx.ml 1", metadata: map[string]string{"streamscore.model": "linear", "streamscore.version": "2"}},
		{file: "mlp_score.onnx", graph: "mlp_score", opsets: "ai.onnx 17", ops: []string{"Add", "MatMul", "Relu", "Sigmoid"}, minParams: 32*128 + 128 + 128*128 + 128 + 128 + 1},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(modelPath(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			info, err := ReadFileInfo(b)
			if err != nil {
				t.Fatal(err)
			}
			var opsets []string
			for _, o := range info.Opsets {
				opsets = append(opsets, o.String())
			}
			slices.Sort(opsets)
			if got := strings.Join(opsets, ", "); got != tc.opsets {
				t.Errorf("opsets = %s, want %s", got, tc.opsets)
			}
			if info.IRVersion != 8 || info.OpsetVersion() != 17 || info.ProducerName != "streamscore make_models.py" || info.GraphName != tc.graph {
				t.Errorf("ir %d opset %d producer %q graph %q", info.IRVersion, info.OpsetVersion(), info.ProducerName, info.GraphName)
			}
			for k, v := range tc.metadata {
				if info.Metadata[k] != v {
					t.Errorf("metadata[%s] = %q, want %q", k, info.Metadata[k], v)
				}
			}
			for _, op := range tc.ops {
				if info.Ops[op] == 0 {
					t.Errorf("ops %v lack %s", info.OpNames(), op)
				}
			}
			if info.Parameters < tc.minParams || info.Nodes == 0 {
				t.Errorf("nodes %d parameters %d, want ≥ %d parameters", info.Nodes, info.Parameters, tc.minParams)
			}
		})
	}
	for _, bad := range [][]byte{[]byte("not a model"), {0x08}, {}} {
		if _, err := ReadFileInfo(bad); !errors.Is(err, errNotONNX) {
			t.Errorf("ReadFileInfo(%q) = %v, want errNotONNX", bad, err)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	got := []string{"10", "2", "1.10", "1.9", "2-rc2", "2-rc1", "1"}
	slices.SortFunc(got, compareVersions)
	want := []string{"1", "1.9", "1.10", "2", "2-rc1", "2-rc2", "10"}
	if !slices.Equal(got, want) {
		t.Errorf("sorted = %v, want %v", got, want)
	}
}

func TestRegistry(t *testing.T) {
	reg := newRegistry(t)
	vs, err := reg.Versions("linear")
	if err != nil || !slices.Equal(vs, []string{"1", "2", "3"}) {
		t.Fatalf("Versions = %v, %v", vs, err)
	}
	if _, err := reg.Register(modelPath("linear.onnx"), Manifest{Name: "linear", Version: "2", Binding: linearBinding()}); err == nil || !strings.Contains(err.Error(), "immutable") {
		t.Errorf("registering an existing version = %v, want a refusal", err)
	}
	if _, err := reg.Register(modelPath("linear.onnx"), Manifest{Name: "linear", Version: "../x", Binding: linearBinding()}); err == nil {
		t.Error("registering version ../x succeeded")
	}
	if v, err := reg.Active("linear"); err != nil || v != "3" {
		t.Errorf("Active without active file = %q, %v; want the newest, 3", v, err)
	}
	if err := reg.SetActive("linear", "1"); err != nil {
		t.Fatal(err)
	}
	if err := reg.SetActive("linear", "9"); err == nil {
		t.Error("SetActive of an unregistered version succeeded")
	}

	tests := []struct {
		path          string
		name, version string
		plain         bool
	}{
		{path: filepath.Join(reg.Root, "linear"), name: "linear", version: "1"},
		{path: reg.Dir("linear", "2"), name: "linear", version: "2"},
		{path: filepath.Join(reg.Dir("linear", "2"), "model.onnx"), name: "linear", version: "2"},
		{path: modelPath("linear.onnx"), plain: true},
	}
	for _, tc := range tests {
		loc, err := Locate(tc.path)
		if err != nil {
			t.Fatalf("Locate(%s): %v", tc.path, err)
		}
		if loc.InRegistry() == tc.plain || loc.Name != tc.name || loc.Version != tc.version {
			t.Errorf("Locate(%s) = %+v, want name %q version %q plain %v", tc.path, loc, tc.name, tc.version, tc.plain)
		}
	}
	if _, err := Locate(t.TempDir()); err == nil {
		t.Error("Locate(empty folder) succeeded")
	}
}

func TestLoadDir(t *testing.T) {
	requireRuntime(t)
	reg := newRegistry(t)
	want := linearBinding()

	m, rep, err := LoadDir(t.Context(), reg.Dir("linear", "2"), LoadOptions{Want: &want, Config: Config{Sessions: 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Name() != "linear" || m.Version() != "2" || m.Manifest().Binding.Outputs[0].Meaning != "expected amount" || !slices.Equal(rep.Widths, []int{1}) {
		t.Errorf("loaded %s/%s, report %+v", m.Name(), m.Version(), rep)
	}
	x := randomRows(rand.New(rand.NewPCG(4, 4)), 5, features)
	outs, err := m.Score(t.Context(), x, 5, features)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "v2", outs[0].Values, linearScores(loadWeights(t, "linear_v2.weights.json"), x, 5), 1e-5)

	t.Run("mismatched input shape", func(t *testing.T) {
		_, _, err := LoadDir(t.Context(), reg.Dir("linear", "3"), LoadOptions{Want: &want})
		if err == nil || !strings.Contains(err.Error(), "16") || !strings.Contains(err.Error(), "32") {
			t.Fatalf("LoadDir(bad shape) = %v, want an error naming 16 and 32 features", err)
		}
	})
	t.Run("wrong sha256", func(t *testing.T) {
		dir := reg.Dir("linear", "1")
		man, err := ReadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		man.SHA256 = strings.Repeat("0", 64)
		if err := WriteManifest(dir, man); err != nil {
			t.Fatal(err)
		}
		_, _, err = LoadDir(t.Context(), dir, LoadOptions{Want: &want})
		if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "sha256") {
			t.Fatalf("LoadDir(wrong sha256) = %v, want ErrChecksum", err)
		}
	})
	t.Run("binding differs", func(t *testing.T) {
		other := linearBinding()
		other.Outputs[0].As = "amount"
		other.Features[3], other.Features[4] = other.Features[4], other.Features[3]
		_, _, err := LoadDir(t.Context(), reg.Dir("linear", "2"), LoadOptions{Want: &other})
		if err == nil || !strings.Contains(err.Error(), `"amount"`) || !strings.Contains(err.Error(), "features[3]") {
			t.Fatalf("LoadDir(other binding) = %v, want errors naming the output name and features[3]", err)
		}
	})
	t.Run("golden", func(t *testing.T) {
		greg := Registry{Root: t.TempDir()}
		b := Binding{Input: "features", Outputs: []BoundOutput{{Name: "score"}}}
		if _, err := greg.Register(modelPath("mlp_score.onnx"), Manifest{Name: "mlp", Version: "1", Binding: b, Golden: &GoldenRef{File: modelPath("mlp_score.golden.json")}}); err != nil {
			t.Fatal(err)
		}
		m, rep, err := LoadDir(t.Context(), greg.Dir("mlp", "1"), LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		m.Close()
		if rep.GoldenRows != 8 || rep.GoldenMaxDiff > 1e-5 {
			t.Errorf("golden rows %d max diff %g", rep.GoldenRows, rep.GoldenMaxDiff)
		}
		// A golden file the model does not reproduce.
		g, err := ReadGolden(modelPath("mlp_score.golden.json"))
		if err != nil {
			t.Fatal(err)
		}
		g.Outputs["score"][3][0] += 0.01
		bad := filepath.Join(t.TempDir(), "bad.json")
		raw, _ := json.Marshal(map[string]any{"input": g.Input, "outputs": g.Outputs})
		os.WriteFile(bad, raw, 0o644)
		_, _, err = LoadDir(t.Context(), greg.Dir("mlp", "1"), LoadOptions{Golden: bad, Tolerance: 1e-4})
		if err == nil || !strings.Contains(err.Error(), "row 3") {
			t.Fatalf("LoadDir with a wrong golden file = %v, want an error naming row 3", err)
		}
	})
}

func TestOptimize(t *testing.T) {
	requireRuntime(t)
	out := filepath.Join(t.TempDir(), "opt.onnx")
	if err := Optimize(Config{Path: modelPath("mlp_score.onnx")}, out); err != nil {
		t.Fatal(err)
	}
	a := openModel(t, Config{Path: modelPath("mlp_score.onnx")})
	b := openModel(t, Config{Path: out, GraphOptimization: GraphOptimizationDisable})
	x := randomRows(rand.New(rand.NewPCG(9, 9)), 16, features)
	oa, err := a.Score(t.Context(), x, 16, features)
	if err != nil {
		t.Fatal(err)
	}
	ob, err := b.Score(t.Context(), x, 16, features)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "optimized", ob[0].Values, oa[0].Values, 1e-5)
}

func TestCUDAWithoutCUDA(t *testing.T) {
	requireRuntime(t)
	m, err := Open(Config{Path: modelPath("linear.onnx"), ExecutionProvider: ProviderCUDA})
	if err == nil {
		m.Close()
		t.Skip("this ONNX Runtime and machine run CUDA; nothing to refuse")
	}
	if !strings.Contains(err.Error(), "CUDA") || !strings.Contains(err.Error(), "set cpu") {
		t.Fatalf("Open with cuda = %v, want an error that names CUDA and the fix", err)
	}
}
