package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"github.com/streamscore/streamscore/internal/letterlog"
	"github.com/streamscore/streamscore/schemas"
)

// Channel capacities between stages. Together with Config.InFlight they bound
// the memory the engine holds: at most messageQueue messages waiting to be
// batched plus InFlight batches between each pair of stages.
const (
	messageQueue     = 4096
	defaultInFlight  = 2
	defaultPublishes = 4
)

// ErrDrainTimeout is the cause of a hard stop when draining took longer than
// Config.DrainTimeout.
var ErrDrainTimeout = errors.New("drain timeout")

// Config configures an Engine.
type Config struct {
	// Spec is the event schema. Required.
	Spec *schemas.Spec
	// Policy closes batches. Zero fields take DefaultPolicy's.
	Policy Policy
	// InFlight is the capacity of each channel between stages, in batches.
	// Zero means 2.
	InFlight int
	// Publishes is how many batches may await the broker's acknowledgement
	// at once when the Sink is an AsyncSink. Zero means 4; 1 publishes one
	// batch at a time.
	Publishes int
	// DrainTimeout bounds a graceful stop: after it, in-flight batches are
	// abandoned (never committed, so scored again after a restart). Zero
	// means 30 s.
	DrainTimeout time.Duration
	// Mem allocates Arrow memory. Nil means the Go allocator.
	Mem memory.Allocator
	// Observers see every scored batch, in order, on the inference stage.
	Observers []Observer
	// Features, if set, fills feature-set columns before inference; the
	// schema must declare feature sets.
	Features FeatureStore
	// FeaturePolicy applies when Features fails; empty means FailOpen.
	FeaturePolicy FeaturePolicy
	// Shadow, if set, receives the challenger's scored events of every
	// batch a challenger scored (schemas.ScoreResult.Challenger), encoded
	// as the champion's are, with the challenger's model and version.
	Shadow ShadowSink
	// CopyHeaders names input record headers copied onto each scored
	// event, beside traceparent and tracestate, which are always copied.
	// Dead letters carry all of the input's headers.
	CopyHeaders []string
	// Encoder writes each scored event; nil means schemas.NewEncoder(Spec),
	// JSON.
	Encoder schemas.EventEncoder
	// Tracer, if set, records one span per batch (linked to the input
	// events' traceparent contexts) with a child span per stage: decode,
	// enrich, infer, publish. Nil turns tracing off: the stages then do no
	// tracing work at all.
	Tracer trace.Tracer
}

// Engine runs the scoring pipeline. Create it with New and call Run once.
type Engine struct {
	cfg    Config
	src    Source
	scorer Scorer
	sink   Sink
	log    *slog.Logger
	m      *metrics
	enc    schemas.EventEncoder
	// load tells the batcher how busy the stages after it are.
	load *stagesLoad
	hdrs headerFilter
	// arenas recycles the encoded events' memory between batches.
	arenas arenaPool
	// letters logs dead letters as rate-limited summaries.
	letters *letterlog.Log

	batched atomic.Int64
	acked   atomic.Int64
}

// New returns an engine; log and reg may be nil.
func New(cfg Config, src Source, scorer Scorer, sink Sink, log *slog.Logger, reg prometheus.Registerer) (*Engine, error) {
	if cfg.Spec == nil {
		return nil, errors.New("pipeline: a schema is required")
	}
	if src == nil || scorer == nil || sink == nil {
		return nil, errors.New("pipeline: a source, a scorer and a sink are required")
	}
	cfg.Policy = cfg.Policy.WithDefaults()
	if err := cfg.Policy.Validate(); err != nil {
		return nil, err
	}
	if cfg.InFlight <= 0 {
		cfg.InFlight = defaultInFlight
	}
	if cfg.Publishes <= 0 {
		cfg.Publishes = defaultPublishes
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 30 * time.Second
	}
	if cfg.Mem == nil {
		cfg.Mem = memory.NewGoAllocator()
	}
	// The policy's value is checked where it is configured
	// (features.Config.Validate); the engine only fills the default.
	if cfg.FeaturePolicy == "" {
		cfg.FeaturePolicy = FailOpen
	}
	if cfg.Features != nil && len(cfg.Spec.FeatureSets) == 0 {
		return nil, errors.New("pipeline: a feature store is configured but the schema declares no feature_sets")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "engine")
	if cfg.Encoder == nil {
		cfg.Encoder = schemas.NewEncoder(cfg.Spec)
	}
	return &Engine{
		cfg: cfg, src: src, scorer: scorer, sink: sink,
		log:  log,
		m:    newMetrics(reg),
		enc:  cfg.Encoder,
		load: newStagesLoad(),
		hdrs: newHeaderFilter(cfg.CopyHeaders),

		letters: letterlog.New(log, letterlog.Full, letterlog.Interval, "dead letter", "dead letters since the last summary"),
	}, nil
}

// InFlight returns how many events have been batched but not yet
// acknowledged.
func (e *Engine) InFlight() int64 { return e.batched.Load() - e.acked.Load() }

// Completed returns how many events ended as a scored event or a dead
// letter acknowledged by the sink.
func (e *Engine) Completed() int64 { return e.acked.Load() }

// Run scores until the source ends or ctx is done. When ctx is done it drains:
// it stops fetching, flushes the partial batch, publishes and acknowledges
// everything in flight, lets the source commit, and returns nil; if that
// takes longer than DrainTimeout it stops hard and returns ErrDrainTimeout.
// Run blocks until every goroutine it started has returned.
func (e *Engine) Run(ctx context.Context) error {
	hard, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)

	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		e.log.Info("draining: fetching stopped, finishing in-flight batches", "in_flight_events", e.InFlight(), "deadline", e.cfg.DrainTimeout)
		e.src.StopFetching()
		t := time.NewTimer(e.cfg.DrainTimeout)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			cancel(ErrDrainTimeout)
		}
	}()

	g, gctx := errgroup.WithContext(hard)
	msgs := make(chan schemas.Message, messageQueue)
	batches := make(chan *Batch, e.cfg.InFlight)
	decoded := make(chan *Batch, e.cfg.InFlight)
	encoded := make(chan *Batch, e.cfg.InFlight)

	g.Go(func() error {
		if err := e.src.Run(gctx, msgs); err != nil {
			return fmt.Errorf("consuming: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		defer close(batches)
		return e.cfg.Policy.run(gctx, msgs, batches, e.load, func(reason string, rows int) {
			e.m.closed.WithLabelValues(reason).Inc()
			e.m.batchRows.Observe(float64(rows))
		})
	})
	g.Go(func() error {
		defer close(decoded)
		dec := schemas.NewDecoder(e.cfg.Spec, e.cfg.Mem)
		return stage(gctx, batches, decoded, func(b *Batch) error {
			e.decode(dec, b)
			return nil
		})
	})
	toInfer := decoded
	if e.cfg.Features != nil {
		enriched := make(chan *Batch, e.cfg.InFlight)
		toInfer = enriched
		g.Go(func() error {
			defer close(enriched)
			return stage(gctx, decoded, enriched, func(b *Batch) error {
				sp := b.trace.stage("enrich")
				err := e.enrich(gctx, b)
				endSpan(sp, err)
				return err
			})
		})
	}
	g.Go(func() error {
		defer close(encoded)
		return stage(gctx, toInfer, encoded, func(b *Batch) error {
			sp := b.trace.stage("infer")
			err := e.infer(gctx, b)
			endSpan(sp, err)
			return err
		})
	})
	g.Go(func() error {
		if ts, ok := e.sink.(TxnSink); ok {
			return e.publishTxn(gctx, ts, encoded)
		}
		if as, ok := e.sink.(AsyncSink); ok && e.cfg.Publishes > 1 {
			return e.publishAsync(gctx, as, encoded)
		}
		for b := range encoded {
			if err := e.publish(gctx, b); err != nil {
				return err
			}
		}
		return nil
	})
	err := g.Wait()
	e.letters.Close()
	// Release what a hard stop left behind in the channels.
	for _, ch := range []chan *Batch{batches, decoded, toInfer, encoded} {
		for b := range ch {
			b.release()
		}
	}
	if cause := context.Cause(hard); cause != nil {
		abandoned := e.InFlight()
		e.log.Warn("stopped hard; abandoned in-flight events are not committed and will be scored again", "cause", cause, "abandoned_events", abandoned)
		if errors.Is(cause, ErrDrainTimeout) {
			return ErrDrainTimeout
		}
		if err == nil || errors.Is(err, context.Canceled) {
			return cause
		}
	}
	if err != nil {
		return err
	}
	e.log.Info("stopped", "scored_or_dead_lettered", e.acked.Load())
	return nil
}

// stage runs fn on every batch from in and forwards it to out.
func stage(ctx context.Context, in <-chan *Batch, out chan<- *Batch, fn func(*Batch) error) error {
	for b := range in {
		if err := fn(b); err != nil {
			b.release()
			return err
		}
		select {
		case out <- b:
		case <-ctx.Done():
			b.release()
			return ctx.Err()
		}
	}
	return nil
}

func (b *Batch) release() {
	if b.decoded != nil {
		b.decoded.Release()
		b.decoded = nil
	}
}

func (e *Engine) deadLetter(m *schemas.Message, r schemas.Reason, field, detail string) schemas.DeadLetter {
	return schemas.DeadLetter{
		Msg: *m, Reason: r, Field: field, Detail: detail,
		Schema: e.cfg.Spec.String(), Model: e.scorer.Name(), ModelVersion: e.scorer.Version(),
		At: time.Now(),
	}
}

func (e *Engine) decode(dec *schemas.Decoder, b *Batch) {
	start := time.Now()
	b.trace = e.startTrace(context.Background(), b)
	sp := b.trace.stage("decode")
	defer endSpan(sp, nil)
	e.batched.Add(int64(len(b.Msgs)))
	b.decoded = dec.Decode(b.Msgs)
	for _, de := range b.decoded.Errors {
		m := &b.Msgs[de.Index]
		b.dead = append(b.dead, e.deadLetter(m, de.Reason, de.Field, de.Msg))
		e.letters.Add(&b.dead[len(b.dead)-1])
	}
	e.m.defaulted.Add(float64(b.decoded.Defaulted))
	b.work += time.Since(start)
	e.m.stage.WithLabelValues("decode").Observe(time.Since(start).Seconds())
}

// enrich fills the batch's feature-set columns from the FeatureStore. Under
// FailClosed it retries until the store answers or ctx is done; under
// FailOpen a failure leaves defaults and flags every row.
func (e *Engine) enrich(ctx context.Context, b *Batch) error {
	rows := int(b.decoded.Record.NumRows())
	if rows == 0 {
		return nil
	}
	start := time.Now()
	in := EnrichInput{Features: b.decoded.Features(), Rows: rows, Cols: e.cfg.Spec.Columns(), Keys: make([][]string, len(e.cfg.Spec.FeatureSets)), Decoded: b.decoded}
	for i := range in.Keys {
		col := b.decoded.SetKeys(i)
		keys := make([]string, rows)
		for r := range rows {
			keys[r] = col.Value(r)
		}
		in.Keys[i] = keys
	}
	for attempt := 1; ; attempt++ {
		res, err := e.cfg.Features.Enrich(ctx, in)
		if err == nil {
			if attempt > 1 {
				e.log.Info("feature store is back; scoring resumes", "attempts", attempt)
				e.m.featurePaused.Set(0)
			}
			b.missing = res.Missing
			e.m.featureMissing.Add(float64(res.MissingValues))
			e.m.stage.WithLabelValues("enrich").Observe(time.Since(start).Seconds())
			if attempt == 1 {
				// Retries wait out an outage; they are not what scoring costs.
				b.work += time.Since(start)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		e.m.featureErrors.Inc()
		if e.cfg.FeaturePolicy == FailOpen {
			e.log.Warn("feature store failed; scoring with defaults (fail_open)", "rows", rows, "err", err)
			b.missing = make([]bool, rows)
			for i := range b.missing {
				b.missing[i] = true
			}
			return nil
		}
		d := min(50*time.Millisecond<<min(attempt-1, 7), 5*time.Second)
		if attempt == 1 {
			e.log.Warn("feature store failed; pausing (fail_closed) and retrying", "err", err)
		}
		e.m.featurePaused.Set(1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// infer scores the batch and encodes its scored events. A model failure on
// the whole batch is retried row by row, so only the rows the model rejects
// become dead letters.
func (e *Engine) infer(ctx context.Context, b *Batch) error {
	defer b.release()
	rows := int(b.decoded.Record.NumRows())
	if rows == 0 {
		return nil
	}
	cols := e.cfg.Spec.Columns()
	keys := b.decoded.Record.Column(1).(*array.String)
	in := ScoreInput{Features: b.decoded.Features(), Rows: rows, Cols: cols, Keys: make([]string, rows), Columns: b.decoded.Record}
	for r := range rows {
		in.Keys[r] = keys.Value(r)
	}
	start := time.Now()
	res, err := e.scorer.Score(ctx, in)
	var ok []bool
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		e.log.Warn("model failed on a batch; scoring its rows one by one", "rows", rows, "err", err)
		ok = make([]bool, rows)
		res, err = e.scoreRows(ctx, b, in, ok)
		if err != nil {
			return err
		}
	}
	e.m.stage.WithLabelValues("infer").Observe(time.Since(start).Seconds())
	b.work += time.Since(start)
	b.trace.model(res.Model, res.Version)

	start = time.Now()
	sb := schemas.ScoredBatch{
		Msgs: b.Msgs, Decoded: b.decoded, Scores: res.WithChallenger(), OK: ok,
		Model: res.Model, ModelVersion: res.Version, Versions: res.Versions, ScoredAt: time.Now(),
		FeaturesMissing: b.missing,
	}
	for _, o := range e.cfg.Observers {
		o.ObserveBatch(&sb)
	}
	b.out, b.arena = e.encode(&sb, keys, e.arenas.get(len(b.Msgs)), false)
	if c := res.Challenger; c != nil && e.cfg.Shadow != nil {
		shadow := sb
		shadow.Scores, shadow.Model, shadow.ModelVersion, shadow.Versions = c.Scores, c.Model, c.Version, nil
		msgs, _ := e.encode(&shadow, keys, nil, true)
		e.cfg.Shadow.Offer(msgs)
	}
	e.m.stage.WithLabelValues("encode").Observe(time.Since(start).Seconds())
	b.work += time.Since(start)
	e.load.cost.observe(len(b.Msgs), b.work)
	return nil
}

// encode appends the scored events of sb's scored rows to arena and
// returns them (their values alias the returned arena) in row order, keyed
// by the input's key, else the schema's key field, and carrying the input
// headers that Config.CopyHeaders allows. With own the keys and header
// values are copies; otherwise they may alias the input, released with the
// batch.
func (e *Engine) encode(sb *schemas.ScoredBatch, keys *array.String, arena []byte, own bool) ([]schemas.Message, []byte) {
	rows := int(sb.Decoded.Record.NumRows())
	ends := make([]int, 0, rows)
	for r := 0; r < rows; r++ {
		if !sb.RowOK(r) {
			continue
		}
		arena = e.enc.Append(arena, sb, r)
		ends = append(ends, len(arena))
	}
	out := make([]schemas.Message, 0, len(ends))
	var hdrArena []schemas.Header
	prev, n := 0, 0
	for r := 0; r < rows; r++ {
		if !sb.RowOK(r) {
			continue
		}
		m := &sb.Msgs[sb.Decoded.Rows[r]]
		key := m.Key
		if len(key) == 0 && e.cfg.Spec.Key != "" {
			key = []byte(keys.Value(r))
		} else if own {
			key = append([]byte(nil), key...)
		}
		end := ends[n]
		var hs []schemas.Header
		hdrArena, hs = e.hdrs.appendAllowed(hdrArena, m, (len(ends)-n)*len(e.hdrs))
		if own {
			hs = ownHeaders(hs)
		}
		out = append(out, schemas.Message{Key: key, Value: arena[prev:end:end], Headers: hs, Time: m.Time, Origin: m})
		prev = end
		n++
	}
	return out, arena
}

// scoreRows scores each row of in alone, marking in ok the rows the model
// accepts and dead-lettering the others.
func (e *Engine) scoreRows(ctx context.Context, b *Batch, in ScoreInput, ok []bool) (ScoreResult, error) {
	out := ScoreResult{Model: e.scorer.Name(), Version: e.scorer.Version()}
	cols := in.Cols
	for r := range in.Rows {
		one := ScoreInput{Features: in.Features[r*cols : (r+1)*cols], Rows: 1, Cols: cols, Keys: in.Keys[r : r+1]}
		if in.Columns != nil {
			one.Columns = in.Columns.NewSlice(int64(r), int64(r+1))
		}
		res, err := e.scorer.Score(ctx, one)
		if one.Columns != nil {
			one.Columns.Release()
		}
		if err != nil {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			m := &b.Msgs[b.decoded.Rows[r]]
			b.dead = append(b.dead, e.deadLetter(m, schemas.ReasonModelError, "", err.Error()))
			e.letters.Add(&b.dead[len(b.dead)-1])
			continue
		}
		if out.Scores == nil {
			out.Scores = rowsLike(res.Scores, in.Rows)
			if res.Challenger != nil {
				out.Challenger = &schemas.ChallengerScores{Model: res.Challenger.Model, Version: res.Challenger.Version, Scores: rowsLike(res.Challenger.Scores, in.Rows)}
			}
		}
		copyRow(out.Scores, res.Scores, r)
		if c := res.Challenger; out.Challenger != nil && c != nil && c.Version == out.Challenger.Version && len(c.Scores) == len(out.Challenger.Scores) {
			copyRow(out.Challenger.Scores, c.Scores, r)
		} else {
			// A row without the challenger's outputs: the batch goes
			// without them, as when the challenger fails on a batch.
			out.Challenger = nil
		}
		if res.Versions != nil || res.Version != out.Version {
			if out.Versions == nil {
				out.Versions = make([]string, in.Rows)
				for j := range out.Versions {
					out.Versions[j] = out.Version
				}
			}
			out.Versions[r] = res.Version
			if res.Versions != nil {
				out.Versions[r] = res.Versions[0]
			}
		}
		ok[r] = true
	}
	return out, nil
}

// rowsLike returns zeroed scores shaped as like for rows rows.
func rowsLike(like []schemas.Scores, rows int) []schemas.Scores {
	out := make([]schemas.Scores, len(like))
	for i, s := range like {
		out[i] = schemas.Scores{Name: s.Name, Width: s.Width, Bits: s.Bits, Values: make([]float64, rows*s.Width), Keys: s.Keys}
		if s.Strings != nil {
			out[i].Strings = make([]string, rows*s.Width)
		}
	}
	return out
}

// copyRow copies one row's scores (src) into row r of dst.
func copyRow(dst, src []schemas.Scores, r int) {
	for i := range min(len(dst), len(src)) {
		copy(dst[i].Values[r*dst[i].Width:(r+1)*dst[i].Width], src[i].Values)
		if dst[i].Strings != nil && src[i].Strings != nil {
			copy(dst[i].Strings[r*dst[i].Width:(r+1)*dst[i].Width], src[i].Strings)
		}
	}
}

func (e *Engine) publish(ctx context.Context, b *Batch) error {
	start := time.Now()
	sp := b.trace.stage("publish")
	if err := e.sink.Publish(ctx, b.out, b.dead); err != nil {
		endSpan(sp, err)
		b.trace.end(len(b.dead), err)
		return fmt.Errorf("publishing batch: %w", err)
	}
	endSpan(sp, nil)
	e.published(b, start)
	return nil
}

// awaitSlots waits until every slot is free, that is until every publish in
// flight has ended, and returns the failure one of them reported, if any. A
// hard stop (ctx done) abandons what is still in flight: it is never
// acknowledged, so it is scored again after a restart.
func awaitSlots(ctx context.Context, slots chan struct{}, failed <-chan error) error {
	for range cap(slots) {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case err := <-failed:
		return err
	default:
		return nil
	}
}

// publishAsync keeps up to Publishes batches awaiting acknowledgement, so
// the broker's round trip overlaps with the next batches. Acks may arrive
// out of order; the source's watermark commits only contiguous offsets.
func (e *Engine) publishAsync(ctx context.Context, as AsyncSink, in <-chan *Batch) error {
	slots := make(chan struct{}, e.cfg.Publishes)
	failed := make(chan error, 1)
	wait := func() error { return awaitSlots(ctx, slots, failed) }
	for b := range in {
		select {
		case slots <- struct{}{}:
		case err := <-failed:
			wait()
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
		start := time.Now()
		sp := b.trace.stage("publish")
		as.PublishAsync(ctx, b.out, b.dead, func(err error) {
			endSpan(sp, err)
			if err != nil {
				e.load.done()
				b.trace.end(len(b.dead), err)
				select {
				case failed <- fmt.Errorf("publishing batch: %w", err):
				default:
				}
			} else {
				e.published(b, start)
			}
			<-slots
		})
	}
	return wait()
}

// publishTxn hands batches to a TxnSink, up to Publishes awaiting their
// transaction's end. A batch whose transaction aborted is released
// without acknowledgement and the Source rewinds to the last committed
// offsets; only a fatal error (a fenced producer) stops the engine.
func (e *Engine) publishTxn(ctx context.Context, ts TxnSink, in <-chan *Batch) error {
	slots := make(chan struct{}, e.cfg.Publishes)
	failed := make(chan error, 1)
	wait := func() error { return awaitSlots(ctx, slots, failed) }
	rw, _ := e.src.(Rewinder)
	for b := range in {
		select {
		case slots <- struct{}{}:
		case err := <-failed:
			wait()
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
		start := time.Now()
		sp := b.trace.stage("publish")
		ts.PublishTxn(ctx, b.out, b.dead, b.Spans, func(err error) {
			endSpan(sp, err)
			var ab interface{ Aborted() bool }
			switch {
			case err == nil:
				e.published(b, start)
			case errors.As(err, &ab) && ab.Aborted():
				e.load.done()
				b.trace.end(len(b.dead), err)
				e.m.aborted.Add(float64(len(b.Msgs)))
				e.batched.Add(-int64(len(b.Msgs)))
				if rw != nil {
					for _, s := range b.Spans {
						rw.Rewind(s.Epoch)
					}
				}
			default:
				e.load.done()
				b.trace.end(len(b.dead), err)
				select {
				case failed <- fmt.Errorf("publishing batch: %w", err):
				default:
				}
			}
			<-slots
		})
	}
	return wait()
}

// published acknowledges a batch whose results the sink holds.
func (e *Engine) published(b *Batch, start time.Time) {
	e.load.done()
	e.m.stage.WithLabelValues("publish").Observe(time.Since(start).Seconds())
	e.src.Ack(b.Spans)
	e.acked.Add(int64(len(b.Msgs)))
	now := time.Now()
	for i := range b.out {
		e.m.latency.Observe(now.Sub(b.out[i].Time).Seconds())
	}
	e.m.scored.Add(float64(len(b.out)))
	for i := range b.dead {
		e.m.dead.WithLabelValues(string(b.dead[i].Reason)).Inc()
	}
	b.trace.end(len(b.dead), nil)
	// The sink acknowledged every scored event: their memory is free.
	e.arenas.put(b.arena)
	b.out, b.arena = nil, nil
}
