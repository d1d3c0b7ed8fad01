package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/schemas"
)

// queueCapacity bounds the requests waiting for a batch. A request that
// finds the queue full waits (until its client gives up); nothing is dropped.
const queueCapacity = 4096

// Topic and Partition are what scored events of HTTP requests name as their
// source; Offset is the event's index in its request.
const (
	Topic     = "http"
	Partition = -1
)

// Defaults for zero Config fields.
const (
	DefaultMaxRows      = 256
	DefaultMaxWait      = 2 * time.Millisecond
	DefaultMaxBodyBytes = 8 << 20
	DefaultMaxEvents    = 10000
	DefaultWorkers      = 2
)

// ErrStopped is returned by Score once Run has returned.
var ErrStopped = errors.New("scoring server stopped")

// Config configures a Server. The zero value of every field but Spec is a
// working default.
type Config struct {
	// Spec is the event schema. Required.
	Spec *schemas.Spec
	// MaxRows closes a batch once it holds this many events; 0 means 256.
	// A request is never split, so a request larger than MaxRows is a batch
	// of its own.
	MaxRows int
	// MaxWait is the longest a request waits for others to join its batch;
	// 0 means 2 ms.
	MaxWait time.Duration
	// MaxBodyBytes bounds a request body; 0 means 8 MiB.
	MaxBodyBytes int64
	// MaxEvents bounds the events of one request; 0 means 10000.
	MaxEvents int
	// Workers is how many batches are scored at once; 0 means 2.
	Workers int
	// Features, if set, fills the schema's feature-set columns before
	// scoring, as the Kafka path does (failures score with defaults and
	// flag the events, fail_open).
	Features pipeline.FeatureStore
	// Mem allocates Arrow memory; nil means the Go allocator.
	Mem memory.Allocator
	// Tracer, if set, records a server span per request (the child of the
	// request's traceparent, when it has one) and, per batch, a
	// streamscore.batch span linked to its requests' spans with the stage
	// spans decode, enrich, infer and encode under it. Nil: no tracing work.
	Tracer trace.Tracer
}

// Result is the outcome of one event.
type Result struct {
	// Scored is the scored event (JSON), or nil when Err is set.
	Scored []byte
	// Err says why the event was not scored.
	Err *EventError
}

// EventError says why one event was not scored; Reason is a dead-letter
// reason (invalid_json, missing_field, type_mismatch, non_finite,
// too_large, schema_mismatch, model_error).
type EventError struct {
	Reason string `json:"reason"`
	Field  string `json:"field,omitempty"`
	Detail string `json:"detail"`
}

// Server scores events from HTTP requests in shared micro-batches. Create it
// with New, run its batcher with Run, and serve its handler (Server is an
// http.Handler). Score and ServeHTTP are safe for concurrent use.
type Server struct {
	cfg      Config
	scorer   pipeline.Scorer
	enc      *schemas.Encoder
	decoders chan *schemas.Decoder
	queue    chan *request
	stopped  chan struct{}
	log      *slog.Logger
	m        *metrics
}

type request struct {
	// span is the caller's span context (Score's ctx), which the batch
	// span links to; queued is when the request was queued.
	span    trace.SpanContext
	queued  time.Time
	msgs    []schemas.Message
	results []Result
	err     error
	done    chan struct{}
}

// New returns a Server scoring with sc. log and reg may be nil.
func New(cfg Config, sc pipeline.Scorer, log *slog.Logger, reg prometheus.Registerer) (*Server, error) {
	if cfg.Spec == nil || sc == nil {
		return nil, errors.New("creating scoring server: a schema and a scorer are required")
	}
	if cfg.MaxRows < 0 || cfg.MaxWait < 0 || cfg.MaxBodyBytes < 0 || cfg.MaxEvents < 0 || cfg.Workers < 0 {
		return nil, errors.New("creating scoring server: limits must not be negative")
	}
	if cfg.MaxRows == 0 {
		cfg.MaxRows = DefaultMaxRows
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = DefaultMaxWait
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxEvents == 0 {
		cfg.MaxEvents = DefaultMaxEvents
	}
	if cfg.Workers == 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Mem == nil {
		cfg.Mem = memory.NewGoAllocator()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg: cfg, scorer: sc,
		enc:      schemas.NewEncoder(cfg.Spec),
		decoders: make(chan *schemas.Decoder, cfg.Workers),
		queue:    make(chan *request, queueCapacity),
		stopped:  make(chan struct{}),
		log:      log.With("component", "serve"),
		m:        newMetrics(reg),
	}
	for range cfg.Workers {
		s.decoders <- schemas.NewDecoder(cfg.Spec, cfg.Mem)
	}
	return s, nil
}

// Run gathers queued requests into batches and scores them until ctx is
// done. It then finishes the batches being scored, fails the requests still
// queued with ErrStopped, and returns nil. Call it once; it blocks.
func (s *Server) Run(ctx context.Context) error {
	work := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	sem := make(chan struct{}, s.cfg.Workers)
	defer func() {
		wg.Wait()
		close(s.stopped)
		for {
			select {
			case r := <-s.queue:
				r.err = ErrStopped
				close(r.done)
			default:
				return
			}
		}
	}()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var first *request
		select {
		case <-ctx.Done():
			return nil
		case first = <-s.queue:
		}
		batch, rows := []*request{first}, len(first.msgs)
		timer.Reset(s.cfg.MaxWait)
	collect:
		for rows < s.cfg.MaxRows {
			select {
			case r := <-s.queue:
				batch, rows = append(batch, r), rows+len(r.msgs)
			case <-timer.C:
				break collect
			case <-ctx.Done():
				break collect
			}
		}
		timer.Stop()
		// Every worker busy: keep taking requests until one frees up.
	acquire:
		for {
			if rows >= s.cfg.MaxRows {
				sem <- struct{}{}
				break
			}
			select {
			case sem <- struct{}{}:
				break acquire
			case r := <-s.queue:
				batch, rows = append(batch, r), rows+len(r.msgs)
			}
		}
		wg.Go(func() {
			defer func() { <-sem }()
			s.process(work, batch, rows)
		})
	}
}

// Score scores events (each one JSON event object) in the next batch and
// returns one Result per event, in order. A span in ctx is linked from the
// batch's span when tracing is on. It blocks until the batch is
// scored or ctx is done. An error means no event was scored: ErrStopped,
// ctx's error, or the model failing on the batch.
func (s *Server) Score(ctx context.Context, events [][]byte) ([]Result, error) {
	now := time.Now()
	r := &request{span: trace.SpanContextFromContext(ctx), queued: now, msgs: make([]schemas.Message, len(events)), done: make(chan struct{})}
	for i, ev := range events {
		r.msgs[i] = schemas.Message{Topic: Topic, Partition: Partition, Offset: int64(i), Prev: int64(i) - 1, Value: ev, Time: now}
	}
	select {
	case s.queue <- r:
	case <-s.stopped:
		return nil, ErrStopped
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.stopped:
		select {
		case <-r.done:
		default:
			return nil, ErrStopped
		}
	}
	return r.results, r.err
}

// process decodes, scores and encodes one batch and completes its requests.
func (s *Server) process(ctx context.Context, batch []*request, n int) {
	start := time.Now()
	msgs := make([]schemas.Message, 0, n)
	for _, r := range batch {
		msgs = append(msgs, r.msgs...)
		r.results = make([]Result, len(r.msgs))
	}
	// owner maps a message index to its request and position there.
	type slot struct{ req, pos int }
	owner := make([]slot, 0, n)
	for i, r := range batch {
		for j := range r.msgs {
			owner = append(owner, slot{i, j})
		}
	}
	result := func(i int) *Result {
		o := owner[i]
		return &batch[o.req].results[o.pos]
	}

	bt := s.startBatch(batch, n)
	sp := bt.Stage("decode")
	dec := <-s.decoders
	d := dec.Decode(msgs)
	s.decoders <- dec
	pipeline.EndSpan(sp, nil)
	defer d.Release()
	for _, de := range d.Errors {
		result(de.Index).Err = &EventError{Reason: string(de.Reason), Field: de.Field, Detail: de.Msg}
	}
	err := s.score(ctx, bt, msgs, d, result)
	bt.End(len(d.Errors), err)
	// The batch is counted before any of its requests is answered, so a
	// client that reads /metrics after its answer sees its batch.
	s.m.batchRows.Observe(float64(n))
	s.m.batchRequests.Observe(float64(len(batch)))
	s.m.batchSeconds.Observe(time.Since(start).Seconds())
	for _, r := range batch {
		r.err = err
		close(r.done)
	}
}

func (s *Server) score(ctx context.Context, bt *pipeline.BatchTrace, msgs []schemas.Message, d *schemas.Decoded, result func(int) *Result) error {
	rows := int(d.Record.NumRows())
	if rows == 0 {
		return nil
	}
	cols := s.cfg.Spec.Columns()
	keyCol := d.Record.Column(1).(*array.String)
	in := pipeline.ScoreInput{Features: d.Features(), Rows: rows, Cols: cols, Keys: make([]string, rows), Columns: d.Record}
	for r := range rows {
		in.Keys[r] = keyCol.Value(r)
	}
	var missing []bool
	if s.cfg.Features != nil && len(s.cfg.Spec.FeatureSets) > 0 {
		sp := bt.Stage("enrich")
		missing = s.enrich(ctx, d, in)
		in.Columns = d.Record // enrich replaces it when it fills string features
		pipeline.EndSpan(sp, nil)
	}
	sp := bt.Stage("infer")
	res, err := s.scorer.Score(ctx, in)
	pipeline.EndSpan(sp, err)
	if err != nil {
		s.m.modelErrors.Inc()
		s.log.Warn("model failed on a batch", "rows", rows, "err", err)
		return fmt.Errorf("scoring: %w", err)
	}
	bt.Model(res.Model, res.Version)
	sp = bt.Stage("encode")
	defer pipeline.EndSpan(sp, nil)
	sb := schemas.ScoredBatch{
		Msgs: msgs, Decoded: d, Scores: res.Scores,
		Model: res.Model, ModelVersion: res.Version, Versions: res.Versions,
		FeaturesMissing: missing, ScoredAt: time.Now(),
	}
	arena := make([]byte, 0, rows*256)
	ends := make([]int, rows)
	for r := range rows {
		arena = s.enc.Append(arena, &sb, r)
		ends[r] = len(arena)
	}
	prev := 0
	for r := range rows {
		result(d.Rows[r]).Scored = arena[prev:ends[r]:ends[r]]
		prev = ends[r]
	}
	return nil
}

// enrich fills the feature-set columns; on failure the rows keep their
// defaults and are flagged.
func (s *Server) enrich(ctx context.Context, d *schemas.Decoded, in pipeline.ScoreInput) []bool {
	ein := pipeline.EnrichInput{Features: in.Features, Rows: in.Rows, Cols: in.Cols, Keys: make([][]string, len(s.cfg.Spec.FeatureSets)), Decoded: d}
	for i := range ein.Keys {
		col := d.SetKeys(i)
		keys := make([]string, in.Rows)
		for r := range keys {
			keys[r] = col.Value(r)
		}
		ein.Keys[i] = keys
	}
	res, err := s.cfg.Features.Enrich(ctx, ein)
	if err != nil {
		s.log.Warn("feature store failed; scoring with defaults", "rows", in.Rows, "err", err)
		missing := make([]bool, in.Rows)
		for i := range missing {
			missing[i] = true
		}
		return missing
	}
	return res.Missing
}

// ServeHTTP handles POST /v1/score. The body is one JSON event object or a
// JSON array of them.
//
// For one object the answer is its scored event (200), or, if it cannot be
// scored, {"error": {"reason", "field", "detail"}} with 422. For an array it
// is an array in the same order (200) whose elements are scored events or
// {"index": i, "error": {...}}. A body that is neither is a 400; a model
// failure a 500; a stopped server a 503.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	r, sp := s.startRequest(r)
	code := s.serve(w, r)
	endRequest(sp, code)
	s.m.requests.WithLabelValues(fmt.Sprint(code)).Inc()
	s.m.requestSeconds.Observe(time.Since(start).Seconds())
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) int {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return writeError(w, http.StatusMethodNotAllowed, "use POST with a JSON event or array of events")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over %d bytes: send fewer events per request", s.cfg.MaxBodyBytes))
		}
		return writeError(w, http.StatusBadRequest, "reading the body: "+err.Error())
	}
	events, single, err := splitEvents(body, s.cfg.MaxEvents)
	if err != nil {
		return writeError(w, http.StatusBadRequest, err.Error())
	}
	if s.cfg.Tracer != nil {
		trace.SpanFromContext(r.Context()).SetAttributes(attribute.Int(attrEvents, len(events)))
	}
	results, err := s.Score(r.Context(), events)
	switch {
	case errors.Is(err, ErrStopped):
		return writeError(w, http.StatusServiceUnavailable, "the scorer is shutting down")
	case r.Context().Err() != nil:
		return 499 // the client went away; nothing to write
	case err != nil:
		return writeError(w, http.StatusInternalServerError, err.Error())
	}
	s.m.events.WithLabelValues("scored").Add(float64(countScored(results)))
	s.m.events.WithLabelValues("rejected").Add(float64(len(results) - countScored(results)))
	w.Header().Set("Content-Type", "application/json")
	if single {
		res := results[0]
		if res.Err != nil {
			b, _ := json.Marshal(struct {
				Error *EventError `json:"error"`
			}{res.Err})
			w.WriteHeader(http.StatusUnprocessableEntity)
			w.Write(append(b, '\n'))
			return http.StatusUnprocessableEntity
		}
		w.Write(append(res.Scored, '\n'))
		return http.StatusOK
	}
	size := 2
	for _, res := range results {
		size += len(res.Scored) + 1
	}
	out := make([]byte, 0, size)
	out = append(out, '[')
	for i, res := range results {
		if i > 0 {
			out = append(out, ',')
		}
		if res.Err != nil {
			b, _ := json.Marshal(struct {
				Index int         `json:"index"`
				Error *EventError `json:"error"`
			}{i, res.Err})
			out = append(out, b...)
			continue
		}
		out = append(out, res.Scored...)
	}
	out = append(out, ']', '\n')
	w.Write(out)
	return http.StatusOK
}

func countScored(rs []Result) int {
	n := 0
	for _, r := range rs {
		if r.Err == nil {
			n++
		}
	}
	return n
}

func writeError(w http.ResponseWriter, code int, msg string) int {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
	return code
}

type metrics struct {
	requests       *prometheus.CounterVec
	requestSeconds prometheus.Histogram
	events         *prometheus.CounterVec
	batchRows      prometheus.Histogram
	batchRequests  prometheus.Histogram
	batchSeconds   prometheus.Histogram
	modelErrors    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamscore_serve_requests_total",
			Help: "HTTP scoring requests, by status code (499: the client went away).",
		}, []string{"code"}),
		requestSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamscore_serve_request_duration_seconds",
			Help:    "From reading an HTTP scoring request to its answer being written.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamscore_serve_events_total",
			Help: "Events received over HTTP, by result (scored, rejected).",
		}, []string{"result"}),
		batchRows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamscore_serve_batch_rows",
			Help:    "Events per HTTP scoring batch (gathered across requests).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14),
		}),
		batchRequests: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamscore_serve_batch_requests",
			Help:    "Requests sharing one HTTP scoring batch.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14),
		}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamscore_serve_batch_duration_seconds",
			Help:    "Time to decode, score and encode one HTTP scoring batch.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16),
		}),
		modelErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_serve_model_errors_total",
			Help: "HTTP scoring batches the model failed on (their requests got a 500).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.requestSeconds, m.events, m.batchRows, m.batchRequests, m.batchSeconds, m.modelErrors)
	}
	return m
}
