package drift

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamscore/streamscore/schemas"
)

// Monitor folds scored batches into per-bucket histograms, flushes them to
// a Store, and evaluates the shared window. ObserveBatch is safe for
// concurrent use and never blocks on I/O; Run owns the flushing and
// evaluation and must be running for counts to reach the store.
type Monitor struct {
	cfg   Config
	base  *Baseline
	lay   *layout
	store Store
	sink  EventSink
	log   *slog.Logger
	m     *metrics

	mu      sync.Mutex
	pending map[bucketKey]*pendingBucket
	active  map[modelKey]int64 // latest bucket start observed
	sel     []int32
	down    bool // the last flush failed

	evalMu   sync.Mutex
	evalDown bool // the last evaluation failed
}

type modelKey struct{ model, version string }

type bucketKey struct {
	modelKey
	start int64
}

type pendingBucket struct {
	counts []int64
	events int64
}

// NewMonitor returns a monitor of the columns of base for batches of spec,
// writing to store and raising events on sink (nil: events are only
// logged). log and reg may be nil.
func NewMonitor(cfg Config, base *Baseline, spec *schemas.Spec, store Store, sink EventSink, log *slog.Logger, reg prometheus.Registerer) (*Monitor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configuring drift: %w", err)
	}
	cfg = cfg.WithDefaults()
	if store == nil {
		return nil, errors.New("configuring drift: a store is required")
	}
	if err := base.Validate(); err != nil {
		return nil, fmt.Errorf("configuring drift: baseline: %w", err)
	}
	lay, err := newLayout(base, spec)
	if err != nil {
		return nil, fmt.Errorf("configuring drift: %w", err)
	}
	if cfg.ReplicaID == "" {
		host, _ := os.Hostname()
		var b [4]byte
		rand.Read(b[:])
		cfg.ReplicaID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Monitor{
		cfg: cfg, base: base, lay: lay, store: store, sink: sink,
		log: log.With("component", "drift"), m: newMetrics(reg),
		pending: map[bucketKey]*pendingBucket{}, active: map[modelKey]int64{},
	}, nil
}

// Namespace returns the namespace of model's version.
func (m *Monitor) Namespace(model, version string) Namespace {
	return Namespace{Prefix: m.cfg.Prefix, Model: model, Version: version, Baseline: m.base.ID()}
}

func (m *Monitor) bucketStart(t time.Time) int64 {
	return bucketStart(t, m.cfg.Bucket)
}

func bucketStart(t time.Time, bucket time.Duration) int64 {
	ms, b := t.UnixMilli(), bucket.Milliseconds()
	r := ms % b
	if r < 0 {
		r += b
	}
	return ms - r
}

// ttl is how long a bucket's keys live: the window plus one bucket.
func (m *Monitor) ttl() time.Duration { return time.Duration(m.cfg.Window+1) * m.cfg.Bucket }

// Run flushes every Config.FlushInterval and evaluates every
// Config.EvaluateInterval until ctx is done, then flushes once more (for at
// most Config.StoreTimeout) and returns nil. Store failures are logged and
// retried; they never end Run.
func (m *Monitor) Run(ctx context.Context) error {
	ft := time.NewTicker(m.cfg.FlushInterval)
	defer ft.Stop()
	et := time.NewTicker(m.cfg.EvaluateInterval)
	defer et.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.StoreTimeout)
			err := m.Flush(fctx)
			cancel()
			if err != nil {
				n := m.Pending()
				m.m.lost.WithLabelValues("shutdown").Add(float64(n))
				m.log.Warn("final drift flush failed; these counts are lost", "events", n, "err", err)
			}
			return nil
		case <-ft.C:
			m.flushLogged(ctx)
		case <-et.C:
			m.flushLogged(ctx)
			m.EvaluateAll(ctx)
		}
	}
}
