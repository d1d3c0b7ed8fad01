package model

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/prometheus/client_golang/prometheus"
)

// Role is a model's part in a Lineup.
type Role string

// Roles.
const (
	// RoleChampion scores every row the canary does not take.
	RoleChampion Role = "champion"
	// RoleCanary scores a stable fraction of keys (Lineup.CanaryFraction).
	RoleCanary Role = "canary"
	// RoleChallenger scores every batch in the shadow: its outputs are
	// returned beside the champion's and never replace them.
	RoleChallenger Role = "challenger"
)

// Lineup is the set of models that scores a batch.
type Lineup struct {
	// Champion is required.
	Champion *Model
	// Canary, if set, scores the rows whose key falls in CanaryFraction
	// (see InCanary); it must return the champion's outputs, of the same
	// widths.
	Canary         *Model
	CanaryFraction float64
	// Challenger, if set, scores every batch too; its outputs go beside the
	// champion's.
	Challenger *Model
}

func (l Lineup) models() []*Model {
	var out []*Model
	for _, m := range []*Model{l.Champion, l.Canary, l.Challenger} {
		if m != nil {
			out = append(out, m)
		}
	}
	return out
}

// InCanary reports whether key goes to the canary at fraction: the 64-bit
// FNV-1a hash of the key's bytes, modulo 10000, is below fraction × 10000.
// The same key always lands on the same side, in every process and replica,
// and raising the fraction only moves keys from champion to canary.
func InCanary(key string, fraction float64) bool {
	if fraction <= 0 {
		return false
	}
	if fraction >= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return float64(h.Sum64()%10000) < fraction*10000
}

// Batch is one batch for a Router: Rows×Cols float32 values row-major and
// each row's entity key (for canary routing). Both are read during Score
// only.
type Batch struct {
	Features   []float32
	Rows, Cols int
	Keys       []string
	// Columns, for a model with typed inputs (Model.SetFeeds), is the
	// decoded record the inputs are filled from; Select, if not nil, maps
	// batch row r to record row Select[r] (Features is then already
	// gathered).
	Columns arrow.Record
	Select  []int
}

// Result is a Router's answer for a batch.
type Result struct {
	// Outputs are the champion's (and the canary's, row by row) outputs.
	Outputs []Output
	// Name is the model name; Version the version that scored every row,
	// unless Versions (one per row) is set because a canary took some.
	Name     string
	Version  string
	Versions []string
	// Challenger holds the challenger's outputs, or nil when there is no
	// challenger or it failed on this batch (counted and logged).
	Challenger *Scored
}

// Scored is one model's outputs for a batch.
type Scored struct {
	Name, Version string
	Outputs       []Output
}

// RouterOptions tune a Router.
type RouterOptions struct {
	// Tolerance is the relative difference under which a champion and a
	// challenger value agree, for a single-value output when the champion's
	// manifest sets no threshold; 0 means 1e-6.
	Tolerance float64
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

func containsModel(ms []*Model, m *Model) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

// checkLineup refuses a lineup that cannot serve: no champion, a canary
// fraction out of range, or a canary whose outputs differ from the
// champion's (names, or widths on a one-row probe).
func checkLineup(ctx context.Context, l Lineup) error {
	if l.Champion == nil {
		return errors.New("checking lineup: a champion is required")
	}
	if l.Canary == nil {
		return nil
	}
	if l.CanaryFraction <= 0 || l.CanaryFraction > 1 {
		return fmt.Errorf("checking lineup: canary fraction %v must be in (0, 1]", l.CanaryFraction)
	}
	a, err := probe(ctx, l.Champion)
	if err != nil {
		return fmt.Errorf("checking lineup: champion: %w", err)
	}
	b, err := probe(ctx, l.Canary)
	if err != nil {
		return fmt.Errorf("checking lineup: canary: %w", err)
	}
	if len(a) != len(b) {
		return fmt.Errorf("checking lineup: the canary (version %s) returns %d outputs, the champion (version %s) %d", l.Canary.Version(), len(b), l.Champion.Version(), len(a))
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Width != b[i].Width {
			return fmt.Errorf("checking lineup: canary output %s/%d differs from the champion's %s/%d: a canary must produce what the champion produces", b[i].Name, b[i].Width, a[i].Name, a[i].Width)
		}
	}
	return nil
}

// probe scores one row of zeros.
func probe(ctx context.Context, m *Model) ([]Output, error) {
	if len(m.inputs) != 1 || len(m.inputs[0].Shape) != 2 {
		return nil, fmt.Errorf("model %s: Score feeds one [N, F] input; it has %s", m.cfg.Path, listInfos(m.inputs))
	}
	cols := int(m.inputs[0].Shape[1])
	if cols < 0 {
		cols = 1
	}
	return m.Score(ctx, make([]float32, cols), 1, cols)
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

// Score scores b with the active lineup: the champion (and the canary for
// its keys) and, at the same time, the challenger. A challenger failure does
// not fail the batch: the result then has no challenger outputs. A canary
// failure does not either: its rows are scored by the champion and name the
// champion's version. Score blocks until every model involved has answered
// or ctx is done.
func (r *Router) Score(ctx context.Context, b Batch) (Result, error) {
	l, err := r.acquire()
	if err != nil {
		return Result{}, err
	}
	defer l.inflight.Done()

	var (
		chal    *Scored
		chalDur time.Duration
		wg      sync.WaitGroup
	)
	if l.Challenger != nil && b.Rows > 0 {
		wg.Go(func() {
			start := time.Now()
			outs, err := l.Challenger.ScoreBatch(ctx, b)
			chalDur = time.Since(start)
			r.m.inference.WithLabelValues(string(RoleChallenger)).Observe(chalDur.Seconds())
			if err != nil {
				r.m.challengerErrors.Inc()
				r.log.Warn("challenger failed on a batch; the batch is scored without it", "version", l.Challenger.Version(), "rows", b.Rows, "err", err)
				return
			}
			r.m.rows.WithLabelValues(string(RoleChallenger), l.Challenger.Version()).Add(float64(b.Rows))
			chal = &Scored{Name: l.Challenger.Name(), Version: l.Challenger.Version(), Outputs: outs}
		})
	}
	start := time.Now()
	res, err := r.scoreMain(ctx, l.Lineup, b)
	mainDur := time.Since(start)
	wg.Wait()
	if err != nil {
		return Result{}, err
	}
	if chal != nil {
		res.Challenger = chal
		r.m.latencyDiff.Observe((chalDur - mainDur).Seconds())
		r.compare(l.Champion, res.Outputs, chal.Outputs, b.Rows)
	}
	return res, nil
}

// scoreMain scores b with the champion, or split between champion and
// canary by key.
func (r *Router) scoreMain(ctx context.Context, l Lineup, b Batch) (Result, error) {
	res := Result{Name: l.Champion.Name(), Version: l.Champion.Version()}
	var canaryRows []int
	if l.Canary != nil && b.Rows > 0 {
		for i := range b.Rows {
			key := ""
			if i < len(b.Keys) {
				key = b.Keys[i]
			}
			if InCanary(key, l.CanaryFraction) {
				canaryRows = append(canaryRows, i)
			}
		}
	}
	if len(canaryRows) == 0 {
		outs, err := r.timed(ctx, RoleChampion, l.Champion, b)
		res.Outputs = outs
		return res, err
	}
	if len(canaryRows) == b.Rows {
		outs, err := r.timed(ctx, RoleCanary, l.Canary, b)
		if err == nil {
			res.Outputs, res.Version = outs, l.Canary.Version()
			return res, nil
		}
		r.canaryFailed(l, b.Rows, err)
		outs, err = r.timed(ctx, RoleChampion, l.Champion, b)
		res.Outputs = outs
		return res, err
	}

	// Split: gather each side's rows, score both at once, merge by row.
	champRows := make([]int, 0, b.Rows-len(canaryRows))
	for i, j := 0, 0; i < b.Rows; i++ {
		if j < len(canaryRows) && canaryRows[j] == i {
			j++
			continue
		}
		champRows = append(champRows, i)
	}
	var (
		canOuts []Output
		canErr  error
		wg      sync.WaitGroup
	)
	wg.Go(func() {
		canOuts, canErr = r.timed(ctx, RoleCanary, l.Canary, b.take(canaryRows))
	})
	champOuts, err := r.timed(ctx, RoleChampion, l.Champion, b.take(champRows))
	wg.Wait()
	if err != nil {
		return Result{}, err
	}
	if canErr == nil {
		canErr = sameShape(champOuts, canOuts)
	}
	if canErr != nil {
		r.canaryFailed(l, len(canaryRows), canErr)
		canOuts, err = r.timed(ctx, RoleChampion, l.Champion, b.take(canaryRows))
		if err != nil {
			return Result{}, err
		}
		res.Outputs = merge(b.Rows, champRows, champOuts, canaryRows, canOuts)
		return res, nil
	}
	res.Outputs = merge(b.Rows, champRows, champOuts, canaryRows, canOuts)
	res.Versions = make([]string, b.Rows)
	for _, i := range champRows {
		res.Versions[i] = l.Champion.Version()
	}
	for _, i := range canaryRows {
		res.Versions[i] = l.Canary.Version()
	}
	return res, nil
}

func (r *Router) canaryFailed(l Lineup, rows int, err error) {
	r.m.canaryFallbacks.Add(float64(rows))
	r.log.Warn("canary failed; its rows are scored by the champion", "canary_version", l.Canary.Version(), "champion_version", l.Champion.Version(), "rows", rows, "err", err)
}

func (r *Router) timed(ctx context.Context, role Role, m *Model, b Batch) ([]Output, error) {
	rows := b.Rows
	start := time.Now()
	outs, err := m.ScoreBatch(ctx, b)
	r.m.inference.WithLabelValues(string(role)).Observe(time.Since(start).Seconds())
	if err == nil {
		r.m.rows.WithLabelValues(string(role), m.Version()).Add(float64(rows))
	}
	return outs, err
}

func sameShape(a, b []Output) error {
	if len(a) != len(b) {
		return fmt.Errorf("the canary returned %d outputs, the champion %d", len(b), len(a))
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Width != b[i].Width {
			return fmt.Errorf("the canary returned %s/%d where the champion returned %s/%d", b[i].Name, b[i].Width, a[i].Name, a[i].Width)
		}
	}
	return nil
}

// merge lays two sides' outputs back in row order.
func merge(rows int, aRows []int, a []Output, bRows []int, b []Output) []Output {
	out := make([]Output, len(a))
	for i := range a {
		w := a[i].Width
		o := Output{Name: a[i].Name, Width: w, Type: a[i].Type, Values: make([]float64, rows*w)}
		for k, r := range aRows {
			copy(o.Values[r*w:(r+1)*w], a[i].Values[k*w:(k+1)*w])
		}
		for k, r := range bRows {
			copy(o.Values[r*w:(r+1)*w], b[i].Values[k*w:(k+1)*w])
		}
		out[i] = o
	}
	return out
}

// compare counts, on the first output, the rows where champion and
// challenger agree: for one value per row, on the same side of the
// champion's threshold when its manifest sets one, else equal within the
// relative tolerance; for several values (class probabilities), the same
// arg-max.
func (r *Router) compare(champion *Model, a, b []Output, rows int) {
	if len(a) == 0 || len(b) == 0 || a[0].Width != b[0].Width || len(a[0].Values) != len(b[0].Values) {
		r.m.challengerErrors.Inc()
		return
	}
	var threshold *float64
	if man := champion.Manifest(); man != nil {
		threshold = man.Threshold
	}
	w := a[0].Width
	agreed := 0
	for row := range rows {
		x, y := a[0].Values[row*w:(row+1)*w], b[0].Values[row*w:(row+1)*w]
		var diff float64
		for j := range x {
			diff = max(diff, math.Abs(x[j]-y[j]))
		}
		r.m.absDiff.Observe(diff)
		var ok bool
		switch {
		case w > 1:
			ok = argmax(x) == argmax(y)
		case threshold != nil:
			ok = (x[0] >= *threshold) == (y[0] >= *threshold)
		default:
			ok = diff <= r.opts.Tolerance*max(1, math.Abs(x[0]))
		}
		if ok {
			agreed++
		}
	}
	r.m.compared.Add(float64(rows))
	r.m.agreed.Add(float64(agreed))
}

func argmax(v []float64) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}

type routerMetrics struct {
	inference        *prometheus.HistogramVec
	rows             *prometheus.CounterVec
	active           *prometheus.GaugeVec
	compared         prometheus.Counter
	agreed           prometheus.Counter
	absDiff          prometheus.Histogram
	latencyDiff      prometheus.Histogram
	challengerErrors prometheus.Counter
	canaryFallbacks  prometheus.Counter
}

func newRouterMetrics(reg prometheus.Registerer) *routerMetrics {
	m := &routerMetrics{
		inference: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "streamscore_model_inference_duration_seconds",
			Help:    "Time one model takes to score its part of a batch, by role (champion, canary, challenger).",
			Buckets: prometheus.ExponentialBuckets(0.00002, 2, 18),
		}, []string{"role"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamscore_model_scored_rows_total",
			Help: "Rows scored, by role and model version.",
		}, []string{"role", "version"}),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "streamscore_model_active",
			Help: "1 for each model version in the active lineup, by role; the canary's value is its fraction.",
		}, []string{"role", "version"}),
		compared: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_model_challenger_compared_rows_total",
			Help: "Rows scored by both champion and challenger and compared.",
		}),
		agreed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_model_challenger_agreed_rows_total",
			Help: "Compared rows where champion and challenger agree (same decision at the threshold, same class, or equal within tolerance).",
		}),
		absDiff: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamscore_model_challenger_abs_difference",
			Help:    "Per row, the largest absolute difference between champion and challenger on the first output.",
			Buckets: []float64{1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 10},
		}),
		latencyDiff: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamscore_model_challenger_latency_difference_seconds",
			Help:    "Per batch, challenger inference time minus champion inference time (negative: the challenger was faster).",
			Buckets: []float64{-0.1, -0.01, -0.001, -0.0001, -0.00001, 0, 0.00001, 0.0001, 0.001, 0.01, 0.1},
		}),
		challengerErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_model_challenger_errors_total",
			Help: "Batches the challenger failed to score (the champion's results were still published).",
		}),
		canaryFallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_model_canary_fallback_rows_total",
			Help: "Canary rows scored by the champion because the canary failed.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.inference, m.rows, m.active, m.compared, m.agreed, m.absDiff, m.latencyDiff, m.challengerErrors, m.canaryFallbacks)
	}
	return m
}

func (m *routerMetrics) setActive(l Lineup) {
	m.active.Reset()
	m.active.WithLabelValues(string(RoleChampion), l.Champion.Version()).Set(1)
	if l.Canary != nil {
		m.active.WithLabelValues(string(RoleCanary), l.Canary.Version()).Set(l.CanaryFraction)
	}
	if l.Challenger != nil {
		m.active.WithLabelValues(string(RoleChallenger), l.Challenger.Version()).Set(1)
	}
}
