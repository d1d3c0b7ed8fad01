package model

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamscore/streamscore/schemas"
)

// result is the champion side's answer for a batch, and the
// challenger's, before the outputs are named for the scored events.
type result struct {
	outputs  []Output
	name     string
	version  string
	versions []string
	chal     *scored
}

// scored is one model's outputs for a batch.
type scored struct {
	name, version string
	outputs       []Output
}

// RouterOptions tune a Router.
type RouterOptions struct {
	// Tolerance is the relative difference under which a champion and a
	// challenger value agree, for a single-value output when the champion's
	// manifest sets no threshold; 0 means 1e-6.
	Tolerance float64
	// Names are the scored-event names of the bound outputs, in binding
	// order (the schema's model.outputs[].as); an output past the end of
	// Names keeps its graph name.
	Names []string
}

// Router scores batches with the active Lineup and swaps lineups between
// batches. Every Score call reads the lineup once, so a batch is scored by
// one lineup; Swap installs a new one atomically and closes the models the
// old one no longer needs once the calls using them are done. All methods
// are safe for concurrent use.
type Router struct {
	opts RouterOptions
	log  *slog.Logger
	m    *routerMetrics

	// mu guards cur. Score holds it only to read cur and join its
	// in-flight group, never across inference.
	mu  sync.RWMutex
	cur *activeLineup
	// swap serialises Swap and Close.
	swap   sync.Mutex
	closed bool
}

type activeLineup struct {
	Lineup
	inflight sync.WaitGroup
}

// NewRouter returns a Router serving l. log and reg may be nil. The Router
// owns l's models from now on: Swap and Close close them.
func NewRouter(ctx context.Context, l Lineup, opts RouterOptions, log *slog.Logger, reg prometheus.Registerer) (*Router, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Tolerance <= 0 {
		opts.Tolerance = 1e-6
	}
	if err := checkLineup(ctx, l); err != nil {
		return nil, err
	}
	r := &Router{opts: opts, log: log.With("component", "model"), m: newRouterMetrics(reg), cur: &activeLineup{Lineup: l}}
	r.m.setActive(l)
	return r, nil
}

// Lineup returns the active lineup. Its models belong to the Router.
func (r *Router) Lineup() Lineup {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cur.Lineup
}

// ErrRouterClosed is returned by Score and Swap after Close.
var ErrRouterClosed = errors.New("router is closed")

// Swap makes l the active lineup. It first checks that l can serve (a
// champion; a canary whose outputs match the champion's), then installs it
// atomically: calls that began before keep their lineup, calls after use l.
// It then waits for the calls on the old lineup to finish (at most one
// batch's inference) and closes the old models l does not hold. On error
// nothing changes and the caller still owns l's new models.
func (r *Router) Swap(ctx context.Context, l Lineup) error {
	if err := checkLineup(ctx, l); err != nil {
		return err
	}
	r.swap.Lock()
	defer r.swap.Unlock()
	if r.closed {
		return ErrRouterClosed
	}
	next := &activeLineup{Lineup: l}
	r.mu.Lock()
	old := r.cur
	r.cur = next
	r.mu.Unlock()
	r.m.setActive(l)
	old.inflight.Wait()
	keep := l.models()
	var errs []error
	for _, m := range old.models() {
		if !containsModel(keep, m) {
			if err := m.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		r.log.Warn("closing replaced models", "err", errors.Join(errs...))
	}
	return nil
}

// Close waits for in-flight calls and closes every model of the active
// lineup. Later calls to Score and Swap fail with ErrRouterClosed.
func (r *Router) Close() error {
	r.swap.Lock()
	defer r.swap.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	r.mu.Lock()
	cur := r.cur
	r.mu.Unlock()
	cur.inflight.Wait()
	var errs []error
	for _, m := range cur.models() {
		if err := m.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (r *Router) acquire() (*activeLineup, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return nil, ErrRouterClosed
	}
	l := r.cur
	l.inflight.Add(1)
	return l, nil
}

// Name returns the active champion's model name.
func (r *Router) Name() string { return r.Lineup().Champion.Name() }

// Version returns the active champion's version.
func (r *Router) Version() string { return r.Lineup().Champion.Version() }

// Score scores b with the active lineup: the champion (and the canary for
// its keys) and, at the same time, the challenger. Outputs are named as
// RouterOptions.Names says. A challenger failure does not fail the batch:
// the result then has no challenger outputs. A canary failure does not
// either: its rows are scored by the champion and name the champion's
// version. Score blocks until every model involved has answered or ctx is
// done. It satisfies the engine's Scorer by shape.
func (r *Router) Score(ctx context.Context, b schemas.ScoreInput) (schemas.ScoreResult, error) {
	res, err := r.score(ctx, b)
	if err != nil {
		return schemas.ScoreResult{}, err
	}
	out := schemas.ScoreResult{Scores: r.named(res.outputs), Model: res.name, Version: res.version, Versions: res.versions}
	if c := res.chal; c != nil {
		out.Challenger = &schemas.ChallengerScores{Model: c.name, Version: c.version, Scores: r.named(c.outputs)}
	}
	return out, nil
}

// named returns outs as scores named by r.opts.Names; the values alias
// outs'.
func (r *Router) named(outs []Output) []schemas.Scores {
	sc := make([]schemas.Scores, len(outs))
	for i, o := range outs {
		name := o.Name
		if i < len(r.opts.Names) {
			name = r.opts.Names[i]
		}
		bits := 64
		if o.Type == "float32" || o.Type == "float16" {
			bits = 32
		}
		vals := o.Values
		if o.Strings != nil && vals == nil {
			// A string output (class labels): no numeric value, so NaN
			// keeps Values row-aligned for the consumers that index it.
			vals = make([]float64, len(o.Strings))
			for j := range vals {
				vals[j] = math.NaN()
			}
		}
		sc[i] = schemas.Scores{Name: name, Width: o.Width, Values: vals, Bits: bits, Strings: o.Strings, Keys: o.Keys}
	}
	return sc
}

func (r *Router) score(ctx context.Context, b schemas.ScoreInput) (result, error) {
	l, err := r.acquire()
	if err != nil {
		return result{}, err
	}
	defer l.inflight.Done()

	var (
		chal    *scored
		chalDur time.Duration
		wg      sync.WaitGroup
	)
	if l.Challenger != nil && b.Rows > 0 {
		wg.Go(func() {
			start := time.Now()
			outs, err := l.Challenger.ScoreBatch(ctx, b)
			chalDur = time.Since(start)
			r.m.inference.WithLabelValues(l.Challenger.Name(), string(RoleChallenger)).Observe(chalDur.Seconds())
			if err != nil {
				r.m.challengerErrors.WithLabelValues(l.Champion.Name()).Inc()
				r.log.Warn("challenger failed on a batch; the batch is scored without it", "version", l.Challenger.Version(), "rows", b.Rows, "err", err)
				return
			}
			r.m.rows.WithLabelValues(l.Challenger.Name(), string(RoleChallenger), l.Challenger.Version()).Add(float64(b.Rows))
			chal = &scored{name: l.Challenger.Name(), version: l.Challenger.Version(), outputs: outs}
		})
	}
	start := time.Now()
	res, err := r.scoreMain(ctx, l.Lineup, b)
	mainDur := time.Since(start)
	wg.Wait()
	if err != nil {
		return result{}, err
	}
	if chal != nil {
		res.chal = chal
		r.m.latencyDiff.WithLabelValues(l.Champion.Name()).Observe((chalDur - mainDur).Seconds())
		r.compare(l.Champion, res.outputs, chal.outputs, b.Rows)
	}
	return res, nil
}
