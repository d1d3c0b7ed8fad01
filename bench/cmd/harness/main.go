// Command harness runs streamscore's benchmark of the standard workload on
// the real broker and writes bench/results/<date>-<host>.json and .md with
// its plots. `make bench` runs it with Kafka up and STREAMSCORE_BROKERS,
// ONNXRUNTIME_LIB and STREAMSCORE_CACHE set.
//
// In one run, so that ratios hold on a noisy machine, it measures:
//
//   - raw limits: decoding and encoding alone, ONNX Runtime alone at batch
//     sizes 1 to 4096, decode+infer+encode in process, and a kafka-go
//     pass-through (bench/cmd/passthrough) that copies the backlog with
//     streamscore's Kafka settings and does nothing else;
//   - streamscore end to end (`streamscore run` as a child process): sustained
//     throughput over a backlog, throughput against batch size, and
//     event-to-score latency at fractions of the sustained rate under an
//     open-loop producer; peak RSS;
//   - peers: the Python pipelines users write instead (bench/peers),
//     micro-batched and one inference per event, installed into a virtualenv;
//   - both batch modes: the backlog and the latency loads with
//     batch.mode adaptive (the default) and fixed, side by side;
//   - with --pinned, the pass-through, streamscore and the micro-batched
//     peer again with the broker (and the harness) on CPU 0 and the process
//     under test on CPU 1 (taskset), so that throughput compares per scorer
//     core and the broker's CPU is accounted apart.
//
// Every contender's CPU time per event is reported, and the efficiency
// ratios (a contender's CPU per event over streamscore's).
//
// All of that is the standard section. Two more sections run by default
// (--sections picks any of standard, delivery, formats):
//
//   - delivery: streamscore over the same backlog with delivery.mode
//     at_least_once and exactly_once at each --txn-batches batches per
//     transaction, alternating, counted from the group's committed input
//     offsets (what a read_committed reader sees), then each at one load
//     (--delivery-load of at_least_once's rate) for latency, read with
//     read_committed under exactly_once;
//   - formats: the standard events as JSON, Avro and Protobuf (Confluent
//     wire format, writer schemas from testdata/formats keyed by id):
//     decoding alone in process against issue 18's 0.5 µs target, and
//     streamscore end to end over a backlog in each format.
//
// Usage:
//
//	go run ./bench/cmd/harness [--events 1000000] [--quick] [--skip-peers] [--pinned] [--sections standard,delivery,formats]
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/streamscore/streamscore/bench/load"
	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/schemas"
)

// options are the harness's flags.
type options struct {
	events       int
	partitions   int
	maxRows      int
	maxWait      time.Duration
	repeat       int
	loads        []float64
	latencyDur   time.Duration
	sweep        []int
	sweepLimit   time.Duration
	peerLimit    time.Duration
	rawDur       time.Duration
	skipPeers    bool
	skipSweep    bool
	skipLatency  bool
	out          string
	variants     []string
	keepWorkDir  bool
	pythonBinary string
	profile      string
	latProfile   string
	baseline     string
	tryYAML      []string
	commit       string
	pinned       bool
	// sections to run: standard, delivery, formats.
	sections     map[string]bool
	txnBatches   []int
	txnInterval  time.Duration
	deliveryLoad float64
}

// sectionNames are the harness's sections, in the order they run.
var sectionNames = []string{"standard", "delivery", "formats"}

func parseFlags() options {
	return parseArgs(os.Args[1:])
}

// parseArgs parses the harness's flags from args; a bad flag exits with a
// message saying what to fix.
func parseArgs(args []string) options {
	fs := flag.NewFlagSet("harness", flag.ExitOnError)
	var o options
	var loads, sweep, variants, sections, txnBatches string
	var quick bool
	fs.StringVar(&sections, "sections", strings.Join(sectionNames, ","), "sections to run: standard (raw limits, throughput, sweep, latency, peers), delivery (at_least_once beside exactly_once), formats (JSON, Avro, Protobuf)")
	fs.StringVar(&txnBatches, "txn-batches", "1,4,16", "delivery.batches_per_transaction values of the delivery section's exactly_once runs")
	fs.DurationVar(&o.txnInterval, "txn-interval", 0, "delivery.transaction_interval of the delivery section's exactly_once runs (0: the default, 100ms)")
	fs.Float64Var(&o.deliveryLoad, "delivery-load", 0.25, "the delivery section's latency load, a fraction of at_least_once's sustained rate")
	fs.IntVar(&o.events, "events", 1_000_000, "events in the backlog (the standard workload has 1,000,000)")
	fs.IntVar(&o.partitions, "partitions", 8, "partitions of every topic")
	fs.IntVar(&o.maxRows, "max-rows", 1024, "batch.max_rows of the standard run (and the pass-through's and peers' batch)")
	fs.DurationVar(&o.maxWait, "max-wait", 20*time.Millisecond, "batch.max_wait of the standard run")
	fs.IntVar(&o.repeat, "repeat", 2, "runs of the pass-through and of streamscore over the backlog, alternating; the best counts")
	fs.StringVar(&loads, "loads", "0.25,0.5,0.9", "latency loads, as fractions of streamscore's sustained rate")
	fs.DurationVar(&o.latencyDur, "latency-duration", 20*time.Second, "how long each latency load runs")
	fs.StringVar(&sweep, "sweep", "1,16,64,256,1024,4096", "batch sizes (max_rows) of the end-to-end sweep")
	fs.DurationVar(&o.sweepLimit, "sweep-limit", 8*time.Second, "measured time of each sweep point")
	fs.DurationVar(&o.peerLimit, "peer-limit", 40*time.Second, "measured time of each Python peer at most")
	fs.DurationVar(&o.rawDur, "raw-duration", 500*time.Millisecond, "measured time of each in-process figure")
	fs.BoolVar(&o.skipPeers, "skip-peers", false, "do not install or run the Python peers")
	fs.BoolVar(&o.skipSweep, "skip-sweep", false, "do not run the end-to-end batch-size sweep")
	fs.BoolVar(&o.skipLatency, "skip-latency", false, "do not run the latency loads")
	fs.StringVar(&o.out, "out", "bench/results", "folder of the results (relative to the repository root)")
	fs.StringVar(&variants, "variants", "base", "scorer variants to run; only base exists so far (Redis enrichment and drift join once the scorer has them)")
	fs.BoolVar(&o.keepWorkDir, "keep", false, "keep the work folder (configs and logs of every process)")
	fs.StringVar(&o.pythonBinary, "python", "python3", "the Python that creates the peers' virtualenv")
	fs.StringVar(&o.profile, "profile", "", "write a 4 s CPU profile of streamscore's first backlog run to this file")
	fs.StringVar(&o.latProfile, "latency-profile", "", "write a CPU profile of streamscore during its first (lowest) latency load to this file")
	fs.StringVar(&o.baseline, "baseline-binary", "", "also run this streamscore binary over the backlog, alternating with the current one (before/after a change)")
	fs.Func("try-yaml", "also run the current streamscore with this YAML appended to its configuration (a tuning experiment; repeatable)", func(v string) error {
		o.tryYAML = append(o.tryYAML, v)
		return nil
	})
	fs.BoolVar(&o.pinned, "pinned", false, "also run the pass-through, streamscore and the micro-batched peer pinned: broker and harness on CPU 0, the process under test on CPU 1 (needs taskset and 2+ CPUs)")
	fs.StringVar(&o.commit, "commit", "", "the commit to report (default: git rev-parse of the repository)")
	fs.BoolVar(&quick, "quick", false, "a short run for trying the harness: 100,000 events, shorter loads, one repeat, exactly_once at 1 and 4 batches per transaction")
	fs.Parse(args)
	if quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["events"] {
			o.events = 100_000
		}
		if !set["latency-duration"] {
			o.latencyDur = 8 * time.Second
		}
		if !set["repeat"] {
			o.repeat = 1
		}
		if !set["sweep-limit"] {
			o.sweepLimit = 3 * time.Second
		}
		if !set["peer-limit"] {
			o.peerLimit = 10 * time.Second
		}
		if !set["raw-duration"] {
			o.rawDur = 200 * time.Millisecond
		}
		if !set["txn-batches"] {
			txnBatches = "1,4"
		}
	}
	for _, s := range strings.Split(loads, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || v <= 0 || v > 1.5 {
			fatalf("--loads: %q is not a fraction such as 0.5", s)
		}
		o.loads = append(o.loads, v)
	}
	for _, s := range strings.Split(sweep, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || v < 1 {
			fatalf("--sweep: %q is not a batch size", s)
		}
		o.sweep = append(o.sweep, v)
	}
	for _, v := range strings.Split(variants, ",") {
		if v = strings.TrimSpace(v); v != "base" {
			fatalf("--variants: %q does not exist yet; the scorer has no Redis enrichment or drift to benchmark", v)
		}
		o.variants = append(o.variants, v)
	}
	o.sections = map[string]bool{}
	for _, v := range strings.Split(sections, ",") {
		v = strings.TrimSpace(v)
		if !slices.Contains(sectionNames, v) {
			fatalf("--sections: %q is not one of %s", v, strings.Join(sectionNames, ", "))
		}
		o.sections[v] = true
	}
	if o.sections["delivery"] {
		for _, s := range strings.Split(txnBatches, ",") {
			v, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || v < 1 {
				fatalf("--txn-batches: %q is not a number of batches per transaction (1 or more)", s)
			}
			o.txnBatches = append(o.txnBatches, v)
		}
		if o.deliveryLoad <= 0 || o.deliveryLoad > 1 {
			fatalf("--delivery-load: %g is not a fraction such as 0.25", o.deliveryLoad)
		}
	}
	if o.events < 10_000 {
		fatalf("--events: at least 10000, or the rates are start-up noise")
	}
	return o
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "harness: "+format+"\n", a...)
	os.Exit(2)
}

func main() {
	o := parseFlags()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	started := time.Now()
	brokers := os.Getenv("STREAMSCORE_BROKERS")
	lib := os.Getenv("ONNXRUNTIME_LIB")
	if brokers == "" || lib == "" {
		return errors.New("STREAMSCORE_BROKERS and ONNXRUNTIME_LIB must be set: run `make bench`, or `make up && source .run/env` first")
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "streamscore-bench-")
	if err != nil {
		return err
	}
	if o.keepWorkDir {
		logf("work folder: %s", work)
	} else {
		defer os.RemoveAll(work)
	}

	host, _ := os.Hostname()
	res := &Results{
		Date: started.UTC().Format("2006-01-02"), Host: host, Variants: o.variants, startedAt: started,
		Machine: machine(),
		Commit:  cmp.Or(o.commit, gitCommit(root)),
		Workload: Workload{Events: o.events, Partitions: o.partitions, Features: load.Features,
			Model: "testdata/models/mlp_score.onnx (MLP 32→128→128→1)", MaxRows: o.maxRows, MaxWaitMs: float64(o.maxWait) / 1e6},
	}
	b := &bench{
		brokers: strings.Split(brokers, ","), root: root, work: work,
		schema: filepath.Join(root, "bench/testdata/standard.schema.yaml"), model: filepath.Join(root, "testdata/models/mlp_score.onnx"),
		kafkaPid: kafkaPid(), prefix: fmt.Sprintf("bench.%d", started.Unix()), events: o.events, partitions: o.partitions,
		maxRows: o.maxRows, maxWait: o.maxWait, profile: o.profile, latProfile: o.latProfile,
	}
	res.Config = b.scorerConfig("GROUP", "INPUT", "OUTPUT").YAML()

	logf("building streamscore and the pass-through")
	b.streamscore = filepath.Join(work, "streamscore")
	b.passthrough = filepath.Join(work, "passthrough")
	if err := goBuild(ctx, root, b.streamscore, "./cmd/streamscore"); err != nil {
		return err
	}
	if err := goBuild(ctx, root, b.passthrough, "./bench/cmd/passthrough"); err != nil {
		return err
	}
	if !filepath.IsAbs(o.out) {
		o.out = filepath.Join(root, o.out)
	}
	// The version of the ONNX Runtime library every run loads.
	if err := model.Init(lib); err != nil {
		return err
	}
	res.Machine.ORT = model.RuntimeVersion()
	standard := o.sections["standard"]
	if standard && !o.skipPeers {
		logf("installing the Python peers' virtualenv")
		py, versions, err := ensureVenv(ctx, root, o.pythonBinary)
		if err != nil {
			return fmt.Errorf("installing the Python peers (or pass --skip-peers): %w", err)
		}
		b.python = py
		res.Peers.Versions = versions
	}

	if standard {
		if err := b.rawLimits(ctx, res, o, lib); err != nil {
			return err
		}
	}

	if standard || o.sections["delivery"] {
		// The backlog every throughput run reads.
		b.backlog = b.prefix + ".backlog"
		if err := load.CreateTopics(ctx, b.brokers, o.partitions, 0, b.backlog); err != nil {
			return err
		}
		defer func() {
			if err := load.DeleteTopics(context.WithoutCancel(ctx), b.brokers, b.backlog); err != nil {
				logf("deleting %s: %v", b.backlog, err)
			}
		}()
		logf("writing the backlog: %d events to %s", o.events, b.backlog)
		bl, err := load.Backlog(ctx, b.brokers, b.backlog, o.events, load.NewEvents(1))
		if err != nil {
			return err
		}
		res.Backlog = Backlog{Events: bl.Events, Seconds: bl.Elapsed.Seconds(), Rate: float64(bl.Events) / bl.Elapsed.Seconds()}
		res.Workload.EventBytes = float64(bl.Bytes) / float64(bl.Events)
		logf("backlog written at %.0f events/s; %.0f bytes per event", res.Backlog.Rate, res.Workload.EventBytes)
	}

	if standard {
		if err := b.standardRuns(ctx, res, o); err != nil {
			return err
		}
	} else {
		res.Skipped = append(res.Skipped, "standard section")
	}
	if o.sections["delivery"] {
		if err := b.deliverySection(ctx, res, o); err != nil {
			return err
		}
	}
	if o.sections["formats"] {
		if err := b.formatsSection(ctx, res, o); err != nil {
			return err
		}
	}

	res.Elapsed = time.Since(started).Seconds()
	res.compare()
	return res.write(o.out)
}

// rawLimits measures the raw limits in process, first, while nothing else
// runs: decode and encode alone, ONNX Runtime alone, and decode, infer and
// encode by batch size.
func (b *bench) rawLimits(ctx context.Context, res *Results, o options, lib string) error {
	spec, err := schemas.Load(b.schema)
	if err != nil {
		return err
	}
	logf("in process: decode and encode alone")
	if res.Raw.Decode, res.Raw.Encode, err = codecRates(spec, o.rawDur*2); err != nil {
		return err
	}
	logf("decode %.0f rows/s (%.0f ns/row), encode %.0f rows/s (%.0f ns/row)",
		res.Raw.Decode.RowsPerSec, res.Raw.Decode.NsPerRow, res.Raw.Encode.RowsPerSec, res.Raw.Encode.NsPerRow)
	m, err := openModel(lib, b.model)
	if err != nil {
		return err
	}
	res.Machine.ORT = model.RuntimeVersion()
	var sizes []int
	for s := 1; s <= 4096; s *= 2 {
		sizes = append(sizes, s)
	}
	logf("in process: ONNX Runtime alone at batch sizes 1 to 4096")
	if res.Raw.ORT, err = inferenceRates(ctx, m, sizes, o.rawDur); err != nil {
		return err
	}
	logf("in process: decode, infer and encode by batch size")
	if res.Raw.InProcess, err = inProcessRates(ctx, spec, m, o.sweep, o.rawDur); err != nil {
		return err
	}
	m.Close()

	return nil
}

// standardRuns runs the standard section's end-to-end runs over the
// backlog: the pass-through and streamscore in both batch modes
// alternating, the batch sweep, the latency loads, the Python peers and,
// with --pinned, the pinned runs.
func (b *bench) standardRuns(ctx context.Context, res *Results, o options) error {
	// Pass-through and streamscore alternate, so drift in the machine's
	// speed hits both alike.
	var pass, score, fixed, base []Run
	tried := make([][]Run, len(o.tryYAML))
	for i := range o.repeat {
		if o.baseline != "" {
			r, _, err := b.backlogRun(ctx, "streamscore-baseline", b.scorerWith(o.baseline, ""), 0)
			if err != nil {
				return err
			}
			base = append(base, r)
		}
		for j, y := range o.tryYAML {
			r, _, err := b.backlogRun(ctx, fmt.Sprintf("streamscore-tried-%d", j+1), b.scorerWith(b.streamscore, y), 0)
			if err != nil {
				return err
			}
			tried[j] = append(tried[j], r)
		}
		r, _, err := b.backlogRun(ctx, "streamscore-fixed", b.scorerMode("fixed"), 0)
		if err != nil {
			return err
		}
		fixed = append(fixed, r)
		r, _, err = b.backlogRun(ctx, "passthrough", b.startPassthrough, 0)
		if err != nil {
			return err
		}
		pass = append(pass, r)
		r, rss, err := b.backlogRun(ctx, "streamscore", b.scorer(0), 0)
		if err != nil {
			return err
		}
		score = append(score, r)
		if i == 0 {
			res.rssSeries = append(res.rssSeries, rssSeries{"streamscore (backlog)", rss})
		}
	}
	res.Raw.PassThrough = best(pass)
	if len(base) > 0 {
		r := best(base)
		res.Scorer.Baseline = &r
	}
	for j, runs := range tried {
		r := best(runs)
		r.Name = triedName(o.tryYAML[j])
		res.Scorer.Tried = append(res.Scorer.Tried, r)
	}
	res.Scorer.Max = best(score)
	res.Scorer.Fixed = best(fixed)
	res.Scorer.PeakRSS = res.Scorer.Max.PeakRSS

	if !o.skipSweep {
		for _, rows := range o.sweep {
			if rows == o.maxRows {
				r := res.Scorer.Max
				r.Name = fmt.Sprintf("streamscore-batch-%d", rows)
				res.Scorer.Sweep = append(res.Scorer.Sweep, r)
				continue
			}
			r, _, err := b.backlogRun(ctx, fmt.Sprintf("streamscore-batch-%d", rows), b.scorer(rows), o.sweepLimit)
			if err != nil {
				r.Err = err.Error()
				logf("sweep at batch %d: %v", rows, err)
			}
			res.Scorer.Sweep = append(res.Scorer.Sweep, r)
			res.Scorer.PeakRSS = max(res.Scorer.PeakRSS, r.PeakRSS)
		}
	} else {
		res.Skipped = append(res.Skipped, "batch sweep")
	}

	if !o.skipLatency {
		pts, _, _, err := b.latency(ctx, "passthrough-latency", b.startPassthrough, res.Scorer.Max.Rate, o.loads, o.latencyDur, false)
		if err != nil {
			return fmt.Errorf("latency of the pass-through: %w", err)
		}
		res.Raw.PassThroughLatency = pts
		// Both batch modes at the same rates: the adaptive run's sustained
		// rate sets them.
		pts, lr, rss, err := b.latency(ctx, "streamscore-latency", b.scorer(0), res.Scorer.Max.Rate, o.loads, o.latencyDur, false)
		if err != nil {
			return fmt.Errorf("latency: %w", err)
		}
		res.Scorer.Latency = pts
		res.Scorer.PeakRSS = max(res.Scorer.PeakRSS, lr.PeakRSS)
		res.rssSeries = append(res.rssSeries, rssSeries{"streamscore (latency loads)", rss})
		pts, lr, _, err = b.latency(ctx, "streamscore-fixed-latency", b.scorerMode("fixed"), res.Scorer.Max.Rate, o.loads, o.latencyDur, false)
		if err != nil {
			return fmt.Errorf("latency of batch.mode fixed: %w", err)
		}
		res.Scorer.LatencyFixed = pts
		res.Scorer.PeakRSS = max(res.Scorer.PeakRSS, lr.PeakRSS)
		for j, y := range o.tryYAML {
			pts, _, _, err := b.latency(ctx, fmt.Sprintf("streamscore-tried-%d-latency", j+1), b.scorerWith(b.streamscore, y), res.Scorer.Max.Rate, o.loads, o.latencyDur, false)
			if err != nil {
				return fmt.Errorf("latency with %s: %w", y, err)
			}
			res.Scorer.TriedLatency = append(res.Scorer.TriedLatency, NamedLatency{triedName(y), pts})
		}
	} else {
		res.Skipped = append(res.Skipped, "latency")
	}

	if b.python != "" {
		for _, p := range []struct {
			dst    *Run
			name   string
			script string
		}{
			{&res.Peers.MicroBatch, "python-microbatch", "microbatch.py"},
			{&res.Peers.PerEvent, "python-per-event", "per_event.py"},
		} {
			r, _, err := b.backlogRun(ctx, p.name, b.peer(p.script), o.peerLimit)
			if err != nil {
				return err
			}
			*p.dst = best([]Run{r})
		}
	} else {
		res.Skipped = append(res.Skipped, "python peers")
	}

	if o.pinned {
		if err := b.pinnedRuns(ctx, res, o); err != nil {
			return fmt.Errorf("pinned runs: %w", err)
		}
	}

	return nil
}

// triedName names a --try-yaml run on one line (a table row).
func triedName(yaml string) string {
	return "streamscore with: " + strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(yaml), "\n", "; ")), " ")
}

// repoRoot finds the folder holding go.mod, from the working directory up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run the harness inside the streamscore repository (no go.mod found)")
		}
		dir = parent
	}
}

func goBuild(ctx context.Context, root, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// kafkaPid is the broker's pid from deployments/local's state, or 0.
func kafkaPid() int {
	run := os.Getenv("STREAMSCORE_RUN")
	if run == "" {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(run, "kafka", "kafka.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if _, err := load.ReadUsage(pid); err != nil {
		return 0
	}
	return pid
}

func gitCommit(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		c += "+changes"
	}
	return c
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), Kafka: kafkaVersion()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.MemoryGiB = int((kb + 1<<19) >> 20)
		}
	}
	return m
}

// kafkaVersion reads the broker's version from the jar deployments/local
// runs, or returns "".
func kafkaVersion() string {
	cache := os.Getenv("STREAMSCORE_CACHE")
	if cache == "" {
		return ""
	}
	matches, _ := filepath.Glob(filepath.Join(cache, "kafka-*", "libs", "kafka_2.13-*.jar"))
	if len(matches) == 0 {
		return ""
	}
	v := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(matches[0]), "kafka_2.13-"), ".jar")
	return v
}

// writeJSON writes v to path, indented.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
