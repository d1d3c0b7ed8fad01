package replay

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/streamscore/streamscore/pipeline"
)

// ErrInterrupted is returned when ctx ends a replay before its source did:
// outputs are discarded and there is no report.
var ErrInterrupted = errors.New("replay interrupted")

// Run replays cfg.Source through the production engine: the same batching,
// decoding, enrichment and inference code as run, with cfg.Models as one
// scorer, a sink that commits nothing, and an observer that copies every
// scored row out. Rows go, in replay order, to cfg.Output and into the
// metrics. Run blocks until the source is exhausted and everything is
// written, then completes the output and returns the report.
//
// If ctx ends first, the engine drains what is in flight, the output is
// discarded (a file is removed) and Run returns ErrInterrupted. A failing
// output or model layout stops the replay the same way and returns its
// error.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	spec, labelCol, err := prepareSpec(cfg.Spec, cfg.Label, cfg.Features)
	if err != nil {
		return nil, err
	}
	var store pipeline.FeatureStore
	if cfg.Features == FeaturesRedis && len(spec.FeatureSets) > 0 {
		store = cfg.Store
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		failMu  sync.Mutex
		failErr error
	)
	fail := func(err error) {
		failMu.Lock()
		if failErr == nil {
			failErr = err
		}
		failMu.Unlock()
		cancel()
	}

	chunks := make(chan *rows, chunkQueue)
	ms := newModels(cfg.Models)
	col := &collector{models: ms, labelCol: labelCol, out: chunks, fail: fail}
	col.from, col.to, col.window = windowOf(cfg.From, cfg.To)
	acc := &accumulator{cfg: &cfg}
	var (
		wg     sync.WaitGroup
		layout *layout
	)
	wg.Go(func() {
		failed := false
		for r := range chunks {
			if failed {
				continue // drain, so the collector never blocks
			}
			if layout == nil {
				layout = col.layoutSnapshot()
			}
			err := acc.add(layout, r)
			if err == nil && cfg.Output != nil {
				err = cfg.Output.write(runCtx, layout, r)
			}
			if err != nil {
				failed = true
				fail(err)
			}
		}
	})

	snk := newSink(cfg.Progress)
	eng, err := pipeline.New(pipeline.Config{
		Spec:          spec,
		Policy:        cfg.Policy,
		InFlight:      cfg.InFlight,
		Mem:           cfg.Mem,
		Observers:     []pipeline.Observer{col},
		Features:      store,
		FeaturePolicy: pipeline.FailClosed, // a backtest waits out a store outage rather than scoring defaults
	}, cfg.Source, ms, snk, cfg.Log, nil)
	if err != nil {
		close(chunks)
		wg.Wait()
		return nil, fmt.Errorf("starting the replay: %w", err)
	}
	runErr := eng.Run(runCtx)
	// Observers run only inside Run: nothing sends on chunks any more.
	close(chunks)
	wg.Wait()

	failMu.Lock()
	ferr := failErr
	failMu.Unlock()
	switch {
	case ferr != nil:
		err = ferr
	case runErr != nil:
		err = fmt.Errorf("replaying: %w", runErr)
	case ctx.Err() != nil:
		err = ErrInterrupted
	}
	if cfg.Output != nil {
		if ferr := cfg.Output.finish(layout, err == nil); err == nil && ferr != nil {
			err = ferr
		}
	}
	if err != nil {
		return nil, err
	}
	events, dead, examples := snk.counts()
	return acc.report(layout, events, dead, examples), nil
}

// layoutSnapshot returns the layout the collector recorded. The collector
// sets it before it sends its first rows, and the channel send orders that
// write before this read.
func (c *collector) layoutSnapshot() *layout { return c.layout }
