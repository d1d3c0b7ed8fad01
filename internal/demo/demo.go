package demo

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/internal/sample"
	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/schemas"
)

// Config is what the demo does: how many events, how fast, with which model.
type Config struct {
	// Brokers are the bootstrap brokers; empty means $STREAMSCORE_BROKERS,
	// else the configuration's default.
	Brokers []string
	// Backlog events are produced before the scorer starts (throughput);
	// Live events at Rate per second while it runs (latency).
	Backlog, Live int
	Rate          float64
	// BadRatio is the share of malformed backlog events.
	BadRatio float64
	// Model and Schema are the ONNX model and the event schema bound to it.
	Model, Schema string
	// Prefix starts the names of the topics and the group the demo creates.
	Prefix string
	// Verbose shows the scorer's logs on stderr.
	Verbose bool
	// OnnxLib is the path of libonnxruntime.so.1; empty means
	// $ONNXRUNTIME_LIB.
	OnnxLib string
}

// Scorer runs the scorer with cfg until ctx is done (then drains), calling
// started once the engine runs.
type Scorer func(ctx context.Context, cfg config.Config, log *slog.Logger, started func(*pipeline.Engine)) error

// Producer writes the JSONL file at path to topic, keyed by keyField, at
// rate events per second (0: as fast as possible).
type Producer func(ctx context.Context, brokers []string, topic, path, keyField string, rate float64) error

func step(w io.Writer, format string, a ...any) {
	fmt.Fprintf(w, "==> "+format+"\n", a...)
}

// Run tells the demo's story against the brokers of dc (see the package
// doc), printing each step to w, and fails if an event was lost. score runs
// the scorer as `run` does; produce writes a JSONL file to a topic. It
// blocks until done or ctx is done.
func Run(ctx context.Context, w io.Writer, dc Config, score Scorer, produce Producer) error {
	cfg, err := dc.config()
	if err != nil {
		return err
	}
	// Fail before producing anything if the model cannot run here.
	if err := model.Init(cfg.OnnxRuntimeLib); err != nil {
		return err
	}
	step(w, "creating topics %s, %s, %s (%d partitions) on %s", cfg.Topics.Input, cfg.Topics.Output, cfg.Topics.DLQ, cfg.Topics.Partitions, strings.Join(cfg.Brokers, ","))
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = consumers.CreateTopics(tctx, nil, cfg.Brokers, cfg.Topics.Partitions, 1, cfg.Topics.Input, cfg.Topics.Output, cfg.Topics.DLQ)
	cancel()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "streamscore-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	backlogFile := filepath.Join(dir, "backlog.jsonl")
	bad, err := sample.WriteFile(backlogFile, sample.Config{N: dc.Backlog, IDPrefix: "backlog-", Seed: 1, BadRatio: dc.BadRatio})
	if err != nil {
		return err
	}
	step(w, "producing a backlog of %d events (%d malformed on purpose)", dc.Backlog, bad)
	if err := produce(ctx, cfg.Brokers, cfg.Topics.Input, backlogFile, "user_id", 0); err != nil {
		return err
	}
	sum, err := dc.score(ctx, w, cfg, dir, score, produce)
	if err != nil {
		return err
	}
	step(w, "consuming %s and %s", cfg.Topics.Output, cfg.Topics.DLQ)
	if err := sum.consume(ctx, cfg, dc.Backlog+dc.Live, bad); err != nil {
		return err
	}
	return sum.print(w, dc)
}

// config returns the demo's configuration: the defaults, fresh topic and
// group names, and the brokers of --brokers or the environment.
func (dc Config) config() (config.Config, error) {
	if dc.Backlog < 0 || dc.Live < 0 || dc.Rate <= 0 {
		return config.Config{}, errors.New("--backlog and --live must not be negative, --rate must be positive")
	}
	cfg := config.Default()
	if v := os.Getenv("STREAMSCORE_BROKERS"); v != "" {
		cfg.Brokers = config.SplitList(v)
	}
	if len(dc.Brokers) > 0 {
		cfg.Brokers = dc.Brokers
	}
	run := time.Now().Format("20060102-150405")
	cfg.Topics.Input = dc.Prefix + "." + run + ".events"
	cfg.Topics.Output = dc.Prefix + "." + run + ".scored"
	cfg.Topics.DLQ = dc.Prefix + "." + run + ".dlq"
	cfg.Group = dc.Prefix + "." + run
	cfg.Model.Path, cfg.Schema = dc.Model, dc.Schema
	cfg.Model.Name = "mlp"
	cfg.HTTP.Addr = ""
	cfg.OnnxRuntimeLib = cmp.Or(dc.OnnxLib, os.Getenv("ONNXRUNTIME_LIB"))
	cfg.Batch.MaxWait = 5 * time.Millisecond
	return cfg, cfg.Validate()
}

// summary is what the demo measured and read back.
type summary struct {
	joined, drain time.Duration
	rest          int64 // backlog events scored after the first batch
	liveStart     time.Time

	scored, dead int
	samples      []string
	latLive      []float64
	ids          map[string]int
	outcomes     map[string]int
}

// score runs the scorer over the backlog, then over live events produced
// at dc.Rate, and stops it once every event is done.
func (dc Config) score(ctx context.Context, w io.Writer, cfg config.Config, dir string, score Scorer, produce Producer) (*summary, error) {
	logOut := io.Discard
	if dc.Verbose {
		logOut = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var eng atomic.Pointer[pipeline.Engine]
	started := make(chan struct{})
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	runErr := make(chan error, 1)
	scoreStart := time.Now()
	step(w, "starting the scorer (model %s, micro-batches of up to %d events or %s)", cfg.Model.Path, cfg.Batch.MaxRows, cfg.Batch.MaxWait)
	go func() {
		runErr <- score(runCtx, cfg, log, func(e *pipeline.Engine) {
			eng.Store(e)
			close(started)
		})
	}()
	select {
	case <-started:
	case err := <-runErr:
		return nil, err
	}
	waitFor := func(n int64, timeout time.Duration) error {
		deadline := time.Now().Add(timeout)
		for eng.Load().Completed() < n {
			if time.Now().After(deadline) {
				return fmt.Errorf("the scorer finished only %d of %d events in %s", eng.Load().Completed(), n, timeout)
			}
			select {
			case err := <-runErr:
				return fmt.Errorf("the scorer stopped: %v", err)
			case <-time.After(5 * time.Millisecond):
			}
		}
		return nil
	}
	// Joining the group (on a fresh broker: creating its offsets topic) takes
	// a few seconds that say nothing about scoring speed, so the rate is
	// measured from the first acknowledged batch.
	if err := waitFor(1, 2*time.Minute); err != nil {
		return nil, err
	}
	sum := &summary{ids: map[string]int{}, outcomes: map[string]int{}}
	sum.joined = time.Since(scoreStart)
	base, t0 := eng.Load().Completed(), time.Now()
	if err := waitFor(int64(dc.Backlog), 5*time.Minute); err != nil {
		return nil, err
	}
	sum.drain = time.Since(t0)
	sum.rest = int64(dc.Backlog) - base
	if sum.rest <= 0 || sum.drain <= 0 {
		sum.rest, sum.drain = int64(dc.Backlog), time.Since(scoreStart)
	}
	step(w, "joined the group and scored the first batch in %s; the rest of the backlog (%d events) in %s", sum.joined.Round(time.Millisecond), sum.rest, sum.drain.Round(time.Millisecond))

	liveFile := filepath.Join(dir, "live.jsonl")
	if _, err := sample.WriteFile(liveFile, sample.Config{N: dc.Live, IDPrefix: "live-", Seed: 2}); err != nil {
		return nil, err
	}
	step(w, "producing %d live events at %.0f events/s", dc.Live, dc.Rate)
	sum.liveStart = time.Now()
	if err := produce(ctx, cfg.Brokers, cfg.Topics.Input, liveFile, "user_id", dc.Rate); err != nil {
		return nil, err
	}
	if err := waitFor(int64(dc.Backlog+dc.Live), 2*time.Minute); err != nil {
		return nil, err
	}
	step(w, "stopping the scorer (drain, publish, commit)")
	stopRun()
	if err := <-runErr; err != nil {
		return nil, err
	}
	return sum, nil
}

// consume reads the scored events and the dead letters back.
func (sum *summary) consume(ctx context.Context, cfg config.Config, events, bad int) error {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	_, err := consumers.Tail(cctx, consumers.TailConfig{Brokers: cfg.Brokers, Topic: cfg.Topics.Output, FromBeginning: true, Max: events - bad, Idle: 10 * time.Second},
		func(m schemas.Message) error {
			var ev struct {
				ID       string `json:"event_id"`
				InputTS  int64  `json:"input_ts"`
				ScoredAt int64  `json:"scored_at"`
			}
			if err := json.Unmarshal(m.Value, &ev); err != nil {
				return fmt.Errorf("scored event is not JSON: %w", err)
			}
			sum.scored++
			sum.ids[ev.ID]++
			if len(sum.samples) < 3 {
				sum.samples = append(sum.samples, string(m.Value))
			}
			if time.UnixMilli(ev.InputTS).After(sum.liveStart.Add(-time.Millisecond)) {
				sum.latLive = append(sum.latLive, float64(ev.ScoredAt-ev.InputTS))
			}
			return nil
		})
	if err != nil {
		return err
	}
	_, err = consumers.Tail(cctx, consumers.TailConfig{Brokers: cfg.Brokers, Topic: cfg.Topics.DLQ, FromBeginning: true, Max: bad, Idle: 5 * time.Second},
		func(m schemas.Message) error {
			sum.dead++
			for _, h := range m.Headers {
				if h.Key == schemas.HeaderReason {
					sum.outcomes[string(h.Value)]++
				}
			}
			return nil
		})
	return err
}

// print writes samples and the summary, and fails if an event was lost.
func (sum *summary) print(w io.Writer, dc Config) error {
	dups := 0
	for _, n := range sum.ids {
		if n > 1 {
			dups += n - 1
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "sample scored events:")
	for _, s := range sum.samples {
		fmt.Fprintln(w, "  "+s)
	}
	fmt.Fprintln(w)
	events := dc.Backlog + dc.Live
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "summary\t")
	fmt.Fprintf(tw, "  events in\t%d\n", events)
	fmt.Fprintf(tw, "  scored\t%d (%d distinct ids, %d duplicates)\n", sum.scored, len(sum.ids), dups)
	reasons := make([]string, 0, len(sum.outcomes))
	for r, n := range sum.outcomes {
		reasons = append(reasons, fmt.Sprintf("%s=%d", r, n))
	}
	sort.Strings(reasons)
	fmt.Fprintf(tw, "  dead letters (bad input)\t%d (%s)\n", sum.dead, strings.Join(reasons, ", "))
	fmt.Fprintf(tw, "  backlog throughput\t%.0f events/s (%d events in %s, after the first batch)\n", float64(sum.rest)/sum.drain.Seconds(), sum.rest, sum.drain.Round(time.Millisecond))
	if lat := sum.latLive; len(lat) > 0 {
		slices.Sort(lat)
		fmt.Fprintf(tw, "  event-to-score latency at %.0f/s\tp50 %.0f ms, p99 %.0f ms, max %.0f ms (%d live events)\n",
			dc.Rate, quantile(lat, 0.5), quantile(lat, 0.99), lat[len(lat)-1], len(lat))
	}
	tw.Flush()
	if sum.scored+sum.dead < events || len(sum.ids)+sum.dead != events {
		return fmt.Errorf("lost events: %d in, %d distinct scored, %d dead letters", events, len(sum.ids), sum.dead)
	}
	return nil
}

// quantile returns the q-quantile of sorted values (nearest rank).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
