package model

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

const features = 32

var modelsDir = filepath.Join("..", "..", "testdata", "models")

func modelPath(name string) string { return filepath.Join(modelsDir, name) }

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var runtimeOnce struct {
	sync.Once
	err error
}

// requireRuntime loads ONNX Runtime, or skips the test when $ONNXRUNTIME_LIB
// is unset and the loader cannot find the library (`make test` sets it).
func requireRuntime(tb testing.TB) {
	tb.Helper()
	runtimeOnce.Do(func() { runtimeOnce.err = Init("") })
	if runtimeOnce.err == nil {
		return
	}
	if os.Getenv(LibEnv) == "" {
		tb.Skipf("ONNX Runtime not found (%v); set %s or run `make test`", runtimeOnce.err, LibEnv)
	}
	tb.Fatalf("loading ONNX Runtime: %v", runtimeOnce.err)
}

func openModel(tb testing.TB, cfg Config) *Model {
	tb.Helper()
	requireRuntime(tb)
	m, err := Open(cfg)
	if err != nil {
		tb.Fatalf("Open(%+v): %v", cfg, err)
	}
	tb.Cleanup(func() {
		if err := m.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return m
}

func randomRows(rng *rand.Rand, rows, cols int) []float32 {
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

type linearWeights struct {
	Coef      []float64 `json:"coef"`
	Intercept float64   `json:"intercept"`
}

func loadLinearWeights(t *testing.T) linearWeights {
	t.Helper()
	b, err := os.ReadFile(modelPath("linear.weights.json"))
	if err != nil {
		t.Fatal(err)
	}
	var w linearWeights
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	if len(w.Coef) != features {
		t.Fatalf("linear.weights.json has %d coefficients, want %d", len(w.Coef), features)
	}
	return w
}

// linearScores computes coef·x + intercept without the code under test.
func linearScores(w linearWeights, x []float32, rows int) []float64 {
	want := make([]float64, rows)
	for r := range rows {
		s := w.Intercept
		for c, coef := range w.Coef {
			s += coef * float64(x[r*features+c])
		}
		want[r] = s
	}
	return want
}

func assertClose(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol {
			t.Fatalf("%s[%d] = %.8g, want %.8g (tolerance %g)", what, i, got[i], want[i], tol)
		}
	}
}

func TestScoreLinear(t *testing.T) {
	m := openModel(t, Config{Path: modelPath("linear.onnx"), Name: "linear", Version: "1"})
	w := loadLinearWeights(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, rows := range []int{1, 7, 1024} {
		t.Run("rows="+strconv.Itoa(rows), func(t *testing.T) {
			x := randomRows(rng, rows, features)
			outs, err := m.Score(t.Context(), x, rows, features)
			if err != nil {
				t.Fatal(err)
			}
			if len(outs) != 1 || outs[0].Name != "variable" || outs[0].Width != 1 {
				t.Fatalf("outputs = %+v, want one output variable of width 1", describe(outs))
			}
			assertClose(t, "variable", outs[0].Values, linearScores(w, x, rows), 1e-5)
		})
	}
}

func TestScoreConcurrent(t *testing.T) {
	m := openModel(t, Config{Path: modelPath("linear.onnx"), Sessions: 2})
	w := loadLinearWeights(t)
	const goroutines, iterations = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 99))
			for i := range iterations {
				rows := 1 + (g*iterations+i)%300
				x := randomRows(rng, rows, features)
				outs, err := m.Score(context.Background(), x, rows, features)
				if err != nil {
					errs <- err
					return
				}
				want := linearScores(w, x, rows)
				for r, got := range outs[0].Values {
					if math.Abs(got-want[r]) > 1e-5 {
						errs <- fmt.Errorf("goroutine %d iteration %d row %d: got %.8g, want %.8g", g, i, r, got, want[r])
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestScoreClassifier(t *testing.T) {
	m := openModel(t, Config{Path: modelPath("mlp.onnx")})
	if err := m.Check("features", features, []string{"label", "probabilities"}); err != nil {
		t.Fatal(err)
	}
	rows := 64
	x := randomRows(rand.New(rand.NewPCG(3, 4)), rows, features)
	outs, err := m.Score(t.Context(), x, rows, features)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2 || outs[0].Name != "label" || outs[0].Width != 1 || outs[1].Name != "probabilities" || outs[1].Width != 2 {
		t.Fatalf("outputs = %v, want label (width 1), probabilities (width 2)", describe(outs))
	}
	classes := map[float64]int{}
	for r := range rows {
		p := outs[1].Row(r)
		if math.Abs(p[0]+p[1]-1) > 1e-5 {
			t.Fatalf("row %d: probabilities %v sum to %v, want 1", r, p, p[0]+p[1])
		}
		label := outs[0].Values[r]
		want := 0.0
		if p[1] > p[0] {
			want = 1
		}
		if label != want && math.Abs(p[0]-p[1]) > 1e-6 {
			t.Fatalf("row %d: label %v, want %v for probabilities %v", r, label, want, p)
		}
		classes[label]++
	}
	if len(classes) != 2 {
		t.Errorf("labels over 64 random rows = %v, want both classes (is the model trained?)", classes)
	}
}

func TestScoreGolden(t *testing.T) {
	var golden struct {
		InputName  string      `json:"input_name"`
		OutputName string      `json:"output_name"`
		Input      [][]float32 `json:"input"`
		Output     [][]float64 `json:"output"`
	}
	b, err := os.ReadFile(modelPath("mlp_score.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	m := openModel(t, Config{Path: modelPath("mlp_score.onnx")})
	if err := m.Check(golden.InputName, features, []string{golden.OutputName}); err != nil {
		t.Fatal(err)
	}
	var x []float32
	var want []float64
	for i, row := range golden.Input {
		x = append(x, row...)
		want = append(want, golden.Output[i]...)
	}
	outs, err := m.Score(t.Context(), x, len(golden.Input), features)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, golden.OutputName, outs[0].Values, want, 1e-5)
}

func TestScoreWrongDeclaredShape(t *testing.T) {
	// Pretend linear.onnx declares its output [N, 2] (it computes [N, 1]):
	// ONNX Runtime refuses the pre-allocated [rows, 2] buffer, and Score
	// falls back to letting ONNX Runtime allocate the output.
	m := openModel(t, Config{Path: modelPath("linear.onnx")})
	m.outputs[0].Shape = []int64{-1, 2}
	w := loadLinearWeights(t)
	x := randomRows(rand.New(rand.NewPCG(8, 9)), 3, features)
	for i := range 2 {
		outs, err := m.Score(t.Context(), x, 3, features)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if describe(outs) != "variable/1" {
			t.Fatalf("call %d: outputs %s, want variable/1", i, describe(outs))
		}
		assertClose(t, "variable", outs[0].Values, linearScores(w, x, 3), 1e-5)
	}
	s := <-m.pool
	m.pool <- s
	if s.preallocate {
		t.Error("the session still pre-allocates outputs after the model's declared shape proved wrong")
	}
}

func TestCheck(t *testing.T) {
	requireRuntime(t)
	tests := []struct {
		name     string
		model    string
		input    string
		outputs  []string
		contains []string // empty: Check must pass
	}{
		{name: "linear fits", model: "linear.onnx", input: "features", outputs: []string{"variable"}},
		{name: "classifier fits", model: "mlp.onnx", input: "features", outputs: []string{"probabilities", "label"}},
		{name: "no outputs asked", model: "mlp_score.onnx", input: "features"},
		{name: "16 features for 32", model: "bad_shape.onnx", input: "features", outputs: []string{"variable"}, contains: []string{`"features"`, "16", "32"}},
		{name: "missing output", model: "linear.onnx", input: "features", outputs: []string{"variable", "proba"}, contains: []string{`"proba"`, "variable"}},
		{name: "wrong input name", model: "linear.onnx", input: "x", outputs: []string{"variable"}, contains: []string{`"x"`, "features"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := openModel(t, Config{Path: modelPath(tc.model)})
			err := m.Check(tc.input, features, tc.outputs)
			if len(tc.contains) == 0 {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check passed, want an error containing %q", tc.contains)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Check error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestInputsOutputs(t *testing.T) {
	m := openModel(t, Config{Path: modelPath("mlp.onnx"), Name: "mlp", Version: "3"})
	if m.Name() != "mlp" || m.Version() != "3" {
		t.Errorf("Name, Version = %q, %q; want mlp, 3", m.Name(), m.Version())
	}
	got := describeInfos(m.Inputs()) + " -> " + describeInfos(m.Outputs())
	want := "features (float32 [?, 32]) -> label (int64 [?]), probabilities (float32 [?, 2])"
	if got != want {
		t.Errorf("inputs -> outputs = %s, want %s", got, want)
	}
	if v := RuntimeVersion(); v == "" {
		t.Error("RuntimeVersion is empty after Init")
	}
}

func TestSetOutputs(t *testing.T) {
	m := openModel(t, Config{Path: modelPath("mlp.onnx"), Sessions: 2, Outputs: []string{"probabilities"}})
	x := randomRows(rand.New(rand.NewPCG(5, 6)), 3, features)
	score := func() string {
		t.Helper()
		outs, err := m.Score(t.Context(), x, 3, features)
		if err != nil {
			t.Fatal(err)
		}
		return describe(outs)
	}
	if got, want := score(), "probabilities/2"; got != want {
		t.Errorf("with Config.Outputs: outputs %s, want %s", got, want)
	}
	if err := m.SetOutputs(t.Context(), "probabilities", "label"); err != nil {
		t.Fatal(err)
	}
	if got, want := score(), "probabilities/2 label/1"; got != want {
		t.Errorf("after SetOutputs: outputs %s, want %s", got, want)
	}
	if err := m.SetOutputs(t.Context(), "nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("SetOutputs(nope) = %v, want an error naming it", err)
	}
	if err := m.SetOutputs(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := score(), "label/1 probabilities/2"; got != want {
		t.Errorf("after SetOutputs(): outputs %s, want %s", got, want)
	}
}

func TestScoreErrors(t *testing.T) {
	m := openModel(t, Config{Path: modelPath("linear.onnx")})
	x := make([]float32, 4*features)
	tests := []struct {
		name       string
		input      []float32
		rows, cols int
		contains   string
	}{
		{"short input", x[:10], 4, features, "needs 128 values, got 10"},
		{"wrong width", x[:4*16], 4, 16, "takes 32 columns, the batch has 16"},
		{"negative rows", nil, -1, features, "rows must be"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.Score(t.Context(), tc.input, tc.rows, tc.cols)
			if err == nil || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("Score = %v, want an error containing %q", err, tc.contains)
			}
		})
	}
	t.Run("zero rows", func(t *testing.T) {
		outs, err := m.Score(t.Context(), nil, 0, features)
		if err != nil || describe(outs) != "variable/1" || len(outs[0].Values) != 0 {
			t.Fatalf("Score(0 rows) = %v, %v; want variable/1 with no values", describe(outs), err)
		}
	})
}

func TestScoreWaitsForSession(t *testing.T) {
	requireRuntime(t)
	m, err := Open(Config{Path: modelPath("linear.onnx")})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, features)

	held := <-m.pool // the only session is busy
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := m.Score(ctx, x, 1, features); !errors.Is(err, context.Canceled) {
		t.Errorf("Score with a cancelled context and no free session = %v, want context.Canceled", err)
	}

	result := make(chan error, 1)
	go func() {
		_, err := m.Score(context.Background(), x, 1, features)
		result <- err
	}()
	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	if err := <-result; !errors.Is(err, ErrClosed) {
		t.Errorf("Score waiting during Close = %v, want ErrClosed", err)
	}
	m.pool <- held // Close waits for in-flight sessions
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := m.Score(context.Background(), x, 1, features); !errors.Is(err, ErrClosed) {
		t.Errorf("Score after Close = %v, want ErrClosed", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}

func TestOpenErrors(t *testing.T) {
	requireRuntime(t)
	tests := []struct {
		name     string
		cfg      Config
		contains string
	}{
		{"missing file", Config{Path: modelPath("nope.onnx")}, "nope.onnx"},
		{"not a model", Config{Path: modelPath("linear.weights.json")}, "linear.weights.json"},
		{"unknown output", Config{Path: modelPath("linear.onnx"), Outputs: []string{"score"}}, `no output "score"`},
		{"invalid config", Config{Path: modelPath("linear.onnx"), Sessions: -1}, "model.sessions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Open(tc.cfg)
			if err == nil {
				m.Close()
				t.Fatalf("Open succeeded, want an error containing %q", tc.contains)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("Open = %v, want an error containing %q", err, tc.contains)
			}
		})
	}
}

func TestInit(t *testing.T) {
	requireRuntime(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := Init(""); err != nil {
				t.Errorf("Init again: %v", err)
			}
		})
	}
	wg.Wait()
	err := Init("/nonexistent/libonnxruntime.so.1")
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/libonnxruntime.so.1") {
		t.Errorf("Init with another library = %v, want an error naming it", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		contains []string
	}{
		{name: "zero values but path", cfg: Config{Path: "m.onnx"}},
		{name: "all set", cfg: Config{Path: "m.onnx", Sessions: 2, IntraOpThreads: 2, InterOpThreads: 1, Spinning: true, GraphOptimization: "extended", Outputs: []string{"a", "b"}}},
		{name: "no path", cfg: Config{}, contains: []string{"model.path"}},
		{name: "negatives", cfg: Config{Path: "m.onnx", Sessions: -1, IntraOpThreads: -2, InterOpThreads: -3}, contains: []string{"model.sessions", "model.intra_op_threads", "model.inter_op_threads"}},
		{name: "too many sessions", cfg: Config{Path: "m.onnx", Sessions: MaxSessions + 1}, contains: []string{"model.sessions"}},
		{name: "optimisation level", cfg: Config{Path: "m.onnx", GraphOptimization: "max"}, contains: []string{"model.graph_optimization", `"max"`, "extended"}},
		{name: "outputs", cfg: Config{Path: "m.onnx", Outputs: []string{"a", "", "a"}}, contains: []string{"model.outputs[1]", `"a" twice`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.contains) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate passed, want an error containing %q", tc.contains)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Validate error %q does not contain %q", err, s)
				}
			}
		})
	}
}

// describe formats outputs as "name/width ...".
func describe(outs []Output) string {
	parts := make([]string, len(outs))
	for i, o := range outs {
		parts[i] = o.Name + "/" + strconv.Itoa(o.Width)
	}
	return strings.Join(parts, " ")
}

func describeInfos(infos []TensorInfo) string { return listInfos(infos) }

func TestNameFromPath(t *testing.T) {
	for path, want := range map[string]string{"models/fraud.onnx": "fraud", "mlp.onnx": "mlp", "/a/b/linear": "linear", "x.v2.onnx": "x.v2"} {
		if got := NameFromPath(path); got != want {
			t.Errorf("NameFromPath(%q) = %q, want %q", path, got, want)
		}
	}
}
