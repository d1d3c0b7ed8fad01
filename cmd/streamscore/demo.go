package main

import (
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

	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/schemas"
)

type demoConfig struct {
	brokers  []string
	backlog  int
	live     int
	rate     float64
	badRatio float64
	model    string
	schema   string
	prefix   string
	verbose  bool
}

func newDemoCmd() *cobra.Command {
	var dc demoConfig
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole produce -> score -> consume story against a broker",
		Long: `demo creates fresh topics, writes a backlog of sample events (with a few
malformed ones), starts the scorer, measures how fast it drains the backlog,
then produces live events at a fixed rate and measures event-to-score
latency, consumes the scored and dead-letter topics, and prints a sample
and a summary. make demo runs it against a local broker it starts.`,
		Example: `  streamscore demo --brokers 127.0.0.1:9092
  streamscore demo --backlog 100000 --live 20000 --rate 5000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(discardLogger())
			defer stop()
			return runDemo(ctx, cmd.OutOrStdout(), dc)
		},
	}
	f := cmd.Flags()
	brokersFlag(cmd, &dc.brokers)
	f.IntVar(&dc.backlog, "backlog", 20000, "events produced before the scorer starts (throughput)")
	f.IntVar(&dc.live, "live", 5000, "events produced at --rate while the scorer runs (latency)")
	f.Float64Var(&dc.rate, "rate", 2500, "live events per second")
	f.Float64Var(&dc.badRatio, "bad-ratio", 0.01, "share of malformed backlog events")
	f.StringVar(&dc.model, "model", "testdata/models/mlp.onnx", "ONNX model")
	f.StringVar(&dc.schema, "schema", "testdata/mlp.schema.yaml", "event schema bound to the model")
	f.StringVar(&dc.prefix, "topic-prefix", "demo", "prefix of the topics the demo creates")
	f.BoolVarP(&dc.verbose, "verbose", "v", false, "show the scorer's logs")
	return cmd
}

func step(w io.Writer, format string, a ...any) {
	fmt.Fprintf(w, "==> "+format+"\n", a...)
}

func runDemo(ctx context.Context, w io.Writer, dc demoConfig) error {
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
	bad, err := genFile(backlogFile, genConfig{N: dc.backlog, IDPrefix: "backlog-", Seed: 1, BadRatio: dc.badRatio})
	if err != nil {
		return err
	}
	step(w, "producing a backlog of %d events (%d malformed on purpose)", dc.backlog, bad)
	if _, err := produceFile(ctx, cfg.Brokers, cfg.Topics.Input, backlogFile, "user_id", 0, false); err != nil {
		return err
	}
	sum, err := dc.score(ctx, w, cfg, dir)
	if err != nil {
		return err
	}
	step(w, "consuming %s and %s", cfg.Topics.Output, cfg.Topics.DLQ)
	if err := sum.consume(ctx, cfg, dc.backlog+dc.live, bad); err != nil {
		return err
	}
	return sum.print(w, dc)
}

// config returns the demo's configuration: the defaults, fresh topic and
// group names, and the brokers of --brokers or the environment.
func (dc demoConfig) config() (config.Config, error) {
	if dc.backlog < 0 || dc.live < 0 || dc.rate <= 0 {
		return config.Config{}, errors.New("--backlog and --live must not be negative, --rate must be positive")
	}
	cfg := config.Default()
	if v := os.Getenv("STREAMSCORE_BROKERS"); v != "" {
		cfg.Brokers = config.SplitList(v)
	}
	if len(dc.brokers) > 0 {
		cfg.Brokers = dc.brokers
	}
	run := time.Now().Format("20060102-150405")
	cfg.Topics.Input = dc.prefix + "." + run + ".events"
	cfg.Topics.Output = dc.prefix + "." + run + ".scored"
	cfg.Topics.DLQ = dc.prefix + "." + run + ".dlq"
	cfg.Group = dc.prefix + "." + run
	cfg.Model.Path, cfg.Schema = dc.model, dc.schema
	cfg.Model.Name = "mlp"
	cfg.HTTP.Addr = ""
	cfg.OnnxRuntimeLib = os.Getenv("ONNXRUNTIME_LIB")
	cfg.Batch.MaxWait = 5 * time.Millisecond
	return cfg, cfg.Validate()
}

// demoSummary is what the demo measured and read back.
type demoSummary struct {
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
// at dc.rate, and stops it once every event is done.
func (dc demoConfig) score(ctx context.Context, w io.Writer, cfg config.Config, dir string) (*demoSummary, error) {
	logOut := io.Discard
	if dc.verbose {
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
		runErr <- runScorer(runCtx, cfg, log, &runHooks{started: func(e *pipeline.Engine) {
			eng.Store(e)
			close(started)
		}})
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
	sum := &demoSummary{ids: map[string]int{}, outcomes: map[string]int{}}
	sum.joined = time.Since(scoreStart)
	base, t0 := eng.Load().Completed(), time.Now()
	if err := waitFor(int64(dc.backlog), 5*time.Minute); err != nil {
		return nil, err
	}
	sum.drain = time.Since(t0)
	sum.rest = int64(dc.backlog) - base
	if sum.rest <= 0 || sum.drain <= 0 {
		sum.rest, sum.drain = int64(dc.backlog), time.Since(scoreStart)
	}
	step(w, "joined the group and scored the first batch in %s; the rest of the backlog (%d events) in %s", sum.joined.Round(time.Millisecond), sum.rest, sum.drain.Round(time.Millisecond))

	liveFile := filepath.Join(dir, "live.jsonl")
	if _, err := genFile(liveFile, genConfig{N: dc.live, IDPrefix: "live-", Seed: 2}); err != nil {
		return nil, err
	}
	step(w, "producing %d live events at %.0f events/s", dc.live, dc.rate)
	sum.liveStart = time.Now()
	if _, err := produceFile(ctx, cfg.Brokers, cfg.Topics.Input, liveFile, "user_id", dc.rate, false); err != nil {
		return nil, err
	}
	if err := waitFor(int64(dc.backlog+dc.live), 2*time.Minute); err != nil {
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
func (sum *demoSummary) consume(ctx context.Context, cfg config.Config, events, bad int) error {
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
func (sum *demoSummary) print(w io.Writer, dc demoConfig) error {
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
	events := dc.backlog + dc.live
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
			dc.rate, quantile(lat, 0.5), quantile(lat, 0.99), lat[len(lat)-1], len(lat))
	}
	tw.Flush()
	if sum.scored+sum.dead < events || len(sum.ids)+sum.dead != events {
		return fmt.Errorf("lost events: %d in, %d distinct scored, %d dead letters", events, len(sum.ids), sum.dead)
	}
	return nil
}

func genFile(path string, cfg genConfig) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	bad, err := writeEvents(f, cfg)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return bad, err
}

// quantile returns the q-quantile of sorted values (nearest rank).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
