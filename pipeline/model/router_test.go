package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/streamscore/streamscore/schemas"
)

func loadVersion(t *testing.T, reg Registry, version string) *Model {
	t.Helper()
	want := linearBinding()
	m, _, err := LoadDir(t.Context(), reg.Dir("linear", version), LoadOptions{Want: &want, Config: Config{Sessions: 2}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func keysFor(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("user-%d", i)
	}
	return keys
}

func TestInCanary(t *testing.T) {
	keys := keysFor(20000)
	in := 0
	for _, k := range keys {
		if InCanary(k, 0.1) {
			in++
			if !InCanary(k, 0.2) {
				t.Fatalf("key %s is in the canary at 0.1 but not at 0.2", k)
			}
		}
	}
	if in < 1700 || in > 2300 {
		t.Errorf("%d of 20000 keys in a 10%% canary", in)
	}
	if InCanary("x", 0) || !InCanary("x", 1) {
		t.Error("fractions 0 and 1 must take no key and every key")
	}
}

func TestRouterCanaryAndChallenger(t *testing.T) {
	requireRuntime(t)
	reg := newRegistry(t)
	w1, w2 := loadWeights(t, "linear.weights.json"), loadWeights(t, "linear_v2.weights.json")
	promReg := prometheus.NewRegistry()
	r, err := NewRouter(t.Context(), Lineup{Champion: loadVersion(t, reg, "1"), Canary: loadVersion(t, reg, "2"), CanaryFraction: 0.3, Challenger: loadVersion(t, reg, "2")}, RouterOptions{}, nil, promReg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	const rows = 500
	x := randomRows(rand.New(rand.NewPCG(5, 5)), rows, features)
	keys := keysFor(rows)
	res, err := r.Score(t.Context(), schemas.ScoreInput{Features: x, Rows: rows, Cols: features, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := linearScores(w1, x, rows), linearScores(w2, x, rows)
	canary := 0
	for i := range rows {
		want, version := s1[i], "1"
		if InCanary(keys[i], 0.3) {
			want, version = s2[i], "2"
			canary++
		}
		if res.Versions[i] != version || math.Abs(res.Scores[0].Values[i]-want) > 1e-5 {
			t.Fatalf("row %d (key %s): version %s score %v, want version %s score %v", i, keys[i], res.Versions[i], res.Scores[0].Values[i], version, want)
		}
	}
	if canary == 0 || canary == rows {
		t.Fatalf("%d of %d rows went to the canary", canary, rows)
	}
	if res.Challenger == nil || res.Challenger.Version != "2" {
		t.Fatalf("challenger result = %+v", res.Challenger)
	}
	assertClose(t, "challenger", res.Challenger.Scores[0].Values, s2, 1e-5)

	// Rows the canary scored agree with the challenger (same model);
	// champion rows differ by more than the tolerance.
	name := r.Name()
	if got := counterValue(t, r.m.compared.WithLabelValues(name)); got != rows {
		t.Errorf("compared rows = %v, want %d", got, rows)
	}
	if got := counterValue(t, r.m.agreed.WithLabelValues(name)); got != float64(canary) {
		t.Errorf("agreed rows = %v, want %d (the canary rows)", got, canary)
	}
	assertModelLabel(t, promReg, name)
}

// assertModelLabel checks that every streamscore_model_ series in reg
// names the model: a dashboard filters and groups by it.
func assertModelLabel(t *testing.T, reg *prometheus.Registry, name string) {
	t.Helper()
	if name == "" {
		t.Fatal("the router's model has no name")
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	families := 0
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "streamscore_model_") {
			continue
		}
		families++
		for _, m := range mf.GetMetric() {
			got := ""
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "model" {
					got = lp.GetValue()
				}
			}
			if got != name {
				t.Errorf("%s %v: model label %q, want %q", mf.GetName(), m.GetLabel(), got, name)
			}
		}
	}
	if families < 9 {
		t.Errorf("%d streamscore_model_ families gathered, want the router's 9", families)
	}
}

func TestRouterSwapBetweenBatches(t *testing.T) {
	requireRuntime(t)
	reg := newRegistry(t)
	w := map[string]linearWeights{"1": loadWeights(t, "linear.weights.json"), "2": loadWeights(t, "linear_v2.weights.json")}
	r, err := NewRouter(t.Context(), Lineup{Champion: loadVersion(t, reg, "1")}, RouterOptions{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	ctx, cancel := context.WithCancel(t.Context())
	var (
		wg      sync.WaitGroup
		batches atomic.Int64
		errs    = make(chan error, 8)
	)
	for g := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for ctx.Err() == nil {
				rows := 1 + rng.IntN(200)
				x := randomRows(rng, rows, features)
				res, err := r.Score(ctx, schemas.ScoreInput{Features: x, Rows: rows, Cols: features})
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
				if res.Versions != nil {
					errs <- fmt.Errorf("a batch without canary has per-row versions")
					return
				}
				want := linearScores(w[res.Version], x, rows)
				for i := range rows {
					if math.Abs(res.Scores[0].Values[i]-want[i]) > 1e-5 {
						errs <- fmt.Errorf("batch named version %s but row %d scored %v, that version gives %v", res.Version, i, res.Scores[0].Values[i], want[i])
						return
					}
				}
				batches.Add(1)
			}
		})
	}
	// Swap after every few batches, not after a span of wall time, so a
	// slow machine still scores batches between the swaps.
	scored := func(n int64) {
		for target := batches.Load() + n; batches.Load() < target && len(errs) == 0; {
			runtime.Gosched()
		}
	}
	for i := range 6 {
		scored(3)
		v := []string{"2", "1"}[i%2]
		if err := r.Swap(t.Context(), Lineup{Champion: loadVersion(t, reg, v)}); err != nil {
			t.Fatal(err)
		}
	}
	scored(3)
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if batches.Load() < 10 {
		t.Errorf("only %d batches scored during the swaps", batches.Load())
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Score(t.Context(), schemas.ScoreInput{Rows: 0, Cols: features}); !errors.Is(err, ErrRouterClosed) {
		t.Errorf("Score after Close = %v, want ErrRouterClosed", err)
	}
}

func TestDeployer(t *testing.T) {
	requireRuntime(t)
	reg := newRegistry(t)
	want := linearBinding()
	r, err := NewRouter(t.Context(), Lineup{Champion: loadVersion(t, reg, "1")}, RouterOptions{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d, err := NewDeployer(DeployerConfig{Registry: reg, Name: "linear", Load: LoadOptions{Want: &want}}, r, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()

	var refused *RefusedError
	if _, err := d.Activate(ctx, RoleChampion, "3", 0); !errors.As(err, &refused) || refused.Version != "3" {
		t.Fatalf("Activate(bad shape) = %v, want a RefusedError", err)
	}
	if _, err := d.Activate(ctx, RoleChampion, "7", 0); !errors.As(err, &refused) {
		t.Fatalf("Activate(unregistered) = %v, want a RefusedError", err)
	}
	if _, err := d.Activate(ctx, RoleCanary, "2", 1.5); !errors.As(err, &refused) {
		t.Fatalf("Activate(canary 1.5) = %v, want a RefusedError", err)
	}
	if v := r.Lineup().Champion.Version(); v != "1" {
		t.Fatalf("champion after refusals = %s, want 1", v)
	}

	if _, err := d.Activate(ctx, RoleCanary, "2", 0.25); err != nil {
		t.Fatal(err)
	}
	if l := r.Lineup(); l.Canary == nil || l.Canary.Version() != "2" || l.CanaryFraction != 0.25 {
		t.Fatalf("lineup after canary = %+v", l)
	}
	if _, err := d.Activate(ctx, RoleCanary, "2", 0.5); err != nil || r.Lineup().CanaryFraction != 0.5 {
		t.Fatalf("changing the canary fraction: %v, fraction %v", err, r.Lineup().CanaryFraction)
	}
	// Promoting the canary's version drops the canary.
	if _, err := d.Activate(ctx, RoleChampion, "2", 0); err != nil {
		t.Fatal(err)
	}
	if l := r.Lineup(); l.Champion.Version() != "2" || l.Canary != nil {
		t.Fatalf("lineup after promotion: champion %s canary %v", l.Champion.Version(), l.Canary)
	}
	if act, err := d.Activate(ctx, RoleChampion, "2", 0); err != nil || !act.Unchanged {
		t.Fatalf("activating the champion again = %+v, %v; want unchanged", act, err)
	}

	// The watch follows the active file, and leaves a refused version be.
	if err := reg.SetActive("linear", "1"); err != nil {
		t.Fatal(err)
	}
	d.poll(ctx)
	if v := r.Lineup().Champion.Version(); v != "1" {
		t.Fatalf("champion after the watch saw active=1: %s", v)
	}
	if err := reg.SetActive("linear", "3"); err != nil {
		t.Fatal(err)
	}
	d.poll(ctx)
	d.poll(ctx)
	if v := r.Lineup().Champion.Version(); v != "1" {
		t.Fatalf("champion after the watch saw active=3 (bad): %s", v)
	}
	if n := len(d.refused); n != 1 {
		t.Errorf("refused versions remembered: %d, want 1", n)
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
