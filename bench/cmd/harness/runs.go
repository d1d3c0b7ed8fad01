package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/streamscore/streamscore/bench/load"
	"github.com/streamscore/streamscore/consumers"
)

// bench holds what every end-to-end run needs.
type bench struct {
	brokers     []string
	root        string // repository root
	work        string // configs and logs of this run
	streamscore string // binaries
	passthrough string
	python      string // the peers' interpreter; empty when peers are skipped
	schema      string
	model       string
	kafkaPid    int
	prefix      string // of every topic and group this run makes
	events      int
	partitions  int
	maxRows     int
	maxWait     time.Duration
	backlog     string
	runs        int    // runs so far, to name topics and groups
	profile     string // if set, a CPU profile of the first streamscore backlog run goes here
	latProfile  string // if set, a CPU profile of streamscore during its first latency load goes here
	// pin, if set, is the CPU list (taskset -c) every process under test
	// is pinned to once started.
	pin string
}

// starter starts a process that copies or scores topic in, from group's
// start, into topic out, and returns once it is ready to.
type starter func(ctx context.Context, name, group, in, out string) (*load.Process, error)

func (b *bench) next(name string) (group, out string) {
	b.runs++
	s := fmt.Sprintf("%s.%02d.%s", b.prefix, b.runs, name)
	return s + ".g", s + ".out"
}

// backlogRun runs one process over the backlog and measures its sustained
// throughput until it has written every event or limit has passed.
func (b *bench) backlogRun(ctx context.Context, name string, start starter, limit time.Duration) (Run, []load.RSSSample, error) {
	return b.backlogRunOn(ctx, name, start, limit, b.backlog, false)
}

// backlogRunOn is backlogRun over topic input, which holds b.events
// records. With committed, progress is the group's committed offsets on
// input rather than the output topic's end offsets: what exactly_once has
// committed, without its transaction markers.
func (b *bench) backlogRunOn(ctx context.Context, name string, start starter, limit time.Duration, input string, committed bool) (Run, []load.RSSSample, error) {
	run := Run{Name: name}
	group, out := b.next(name)
	// The dead-letter topic too: streamscore refuses to start without its
	// output topics (the pass-through ignores it).
	if err := load.CreateTopics(ctx, b.brokers, b.partitions, 0, out, out+".dlq"); err != nil {
		return run, nil, err
	}
	defer func() {
		if err := load.DeleteTopics(context.WithoutCancel(ctx), b.brokers, out, out+".dlq"); err != nil {
			logf("deleting %s: %v", out, err)
		}
	}()
	var counter load.Count
	var err error
	if committed {
		counter, err = load.NewCommittedCounter(ctx, b.brokers, group, input)
	} else {
		counter, err = load.NewCounter(ctx, b.brokers, out)
	}
	if err != nil {
		return run, nil, err
	}
	// Before the start: a run over a short backlog may be done before the
	// first reading after its warm-up.
	origin := load.Progress{At: time.Now(), CPU: []time.Duration{0}}
	if b.kafkaPid > 0 {
		u, _ := load.ReadUsage(b.kafkaPid)
		origin.CPU = append(origin.CPU, u.CPU)
	}
	p, err := start(ctx, name, group, input, out)
	if err != nil {
		return run, nil, err
	}
	if b.pin != "" {
		if err := pin(p.Pid(), b.pin); err != nil {
			p.Stop(5 * time.Second)
			return run, nil, err
		}
	}
	p.SampleRSS(250 * time.Millisecond)
	if b.profile != "" && name == "streamscore" {
		path := b.profile
		b.profile = ""
		go func() {
			time.Sleep(2 * time.Second)
			if err := load.Profile(ctx, p, 4*time.Second, path); err != nil {
				logf("%v", err)
			} else {
				logf("CPU profile of %s: %s", name, path)
			}
		}()
	}
	watch := []int{p.Pid()}
	if b.kafkaPid > 0 {
		watch = append(watch, b.kafkaPid)
	}
	th, err := load.Measure(ctx, counter, load.MeasureConfig{
		Target: int64(b.events), Limit: limit, Watch: watch, Exited: p.Done(), Origin: &origin,
	})
	u := p.Stop(15 * time.Second)
	rss := p.RSS()
	if err != nil {
		return run, rss, fmt.Errorf("%s: %w\n%s", name, err, load.Tail(filepath.Join(b.work, name+".log"), 3000))
	}
	run.Rate = th.Rate
	run.Rates = []float64{th.Rate}
	run.Events = th.To.Count - th.From.Count
	run.Seconds = th.Seconds()
	run.Complete = th.Complete
	run.StartUp = th.StartUp
	if th.StartUp {
		logf("%s: done within its warm-up; the rate counts start-up too (use more events)", name)
	}
	if run.Seconds < minWindow.Seconds() {
		logf("%s: WARNING: measured over %.1f s, under %s: the rate is not to be trusted (use more events)", name, run.Seconds, minWindow)
	}
	run.CPUMicros = float64(th.CPUPerRecord(0).Nanoseconds()) / 1e3
	if b.kafkaPid > 0 {
		run.BrokerCPUMicros = float64(th.CPUPerRecord(1).Nanoseconds()) / 1e3
	}
	run.PeakRSS = u.PeakRSS
	logf("%-22s %9.0f events/s  (%d events in %.1f s; %.1f µs CPU/event, broker %.1f µs/event; peak RSS %s)",
		name, run.Rate, run.Events, run.Seconds, run.CPUMicros, run.BrokerCPUMicros, mib(run.PeakRSS))
	return run, rss, nil
}

// minWindow is the shortest measured window whose rate the harness
// trusts: a backlog consumed faster than that measures the ramp-up and the
// broker's caches more than the steady rate (300,000 events gave windows of
// 0.4–1.7 s and rates no longer run could hold).
const minWindow = 5 * time.Second

// best merges repeated runs: the fastest one's figures, every rate kept.
func best(runs []Run) Run {
	var out Run
	var rates []float64
	for _, r := range runs {
		rates = append(rates, r.Rate)
		if r.Rate > out.Rate || out.Name == "" {
			peak := max(out.PeakRSS, r.PeakRSS)
			out = r
			out.PeakRSS = peak
		} else {
			out.PeakRSS = max(out.PeakRSS, r.PeakRSS)
		}
	}
	out.Rates = rates
	return out
}

func (b *bench) logFile(name string) (*os.File, error) {
	return os.Create(filepath.Join(b.work, name+".log"))
}

// startPassthrough starts the kafka-go pass-through.
func (b *bench) startPassthrough(ctx context.Context, name, group, in, out string) (*load.Process, error) {
	logf, err := b.logFile(name)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, b.passthrough, "--brokers", strings.Join(b.brokers, ","), "--group", group,
		"--input", in, "--output", out, "--max-rows", strconv.Itoa(b.maxRows), "--max-wait", b.maxWait.String())
	cmd.Stdout, cmd.Stderr = logf, logf
	p, err := load.Start(name, cmd)
	if err != nil {
		return nil, err
	}
	// It has no readiness endpoint; give it the time a group join takes.
	if err := waitJoined(ctx, b.brokers, group, p); err != nil {
		p.Stop(5 * time.Second)
		return nil, err
	}
	return p, nil
}

// scorerConfig is the standard workload's streamscore.yaml, reading input.
func (b *bench) scorerConfig(group, input, out string) load.ScorerConfig {
	return load.ScorerConfig{
		Brokers: b.brokers, Group: group, Input: input, Output: out, DLQ: out + ".dlq",
		Schema: b.schema, Model: b.model, MaxRows: b.maxRows, MaxBytes: 1 << 20, MaxWait: b.maxWait,
	}
}

// scorer returns a starter of `streamscore run` over the backlog with the
// batch size rows (0: the standard one).
func (b *bench) scorer(rows int) starter {
	return func(ctx context.Context, name, group, in, out string) (*load.Process, error) {
		cfg := b.scorerConfig(group, in, out)
		cfg.Pprof = b.profile != "" || b.latProfile != ""
		if rows > 0 {
			cfg.MaxRows = rows
			cfg.MaxBytes = max(1<<20, rows*1024)
		}
		return load.StartScorer(ctx, b.streamscore, b.work, name, cfg, 2*time.Minute)
	}
}

// scorerMode returns a starter of `streamscore run` over the backlog with
// batch.mode mode.
func (b *bench) scorerMode(mode string) starter {
	return func(ctx context.Context, name, group, in, out string) (*load.Process, error) {
		cfg := b.scorerConfig(group, in, out)
		cfg.BatchMode = mode
		return load.StartScorer(ctx, b.streamscore, b.work, name, cfg, 2*time.Minute)
	}
}

// scorerSchema returns a starter of `streamscore run` over the backlog
// with the schema spec at path instead of the standard one.
func (b *bench) scorerSchema(path string) starter {
	return func(ctx context.Context, name, group, in, out string) (*load.Process, error) {
		cfg := b.scorerConfig(group, in, out)
		cfg.Schema = path
		return load.StartScorer(ctx, b.streamscore, b.work, name, cfg, 2*time.Minute)
	}
}

// scorerWith returns a starter of binary bin with extra YAML appended to the
// standard configuration.
func (b *bench) scorerWith(bin, extra string) starter {
	return func(ctx context.Context, name, group, in, out string) (*load.Process, error) {
		cfg := b.scorerConfig(group, in, out)
		cfg.Extra = extra
		if extra != "" && !strings.HasSuffix(extra, "\n") {
			cfg.Extra += "\n"
		}
		return load.StartScorer(ctx, bin, b.work, name, cfg, 2*time.Minute)
	}
}

// peer returns a starter of a Python peer script.
func (b *bench) peer(script string) starter {
	return func(ctx context.Context, name, group, in, out string) (*load.Process, error) {
		logf, err := b.logFile(name)
		if err != nil {
			return nil, err
		}
		defer logf.Close()
		cmd := exec.CommandContext(ctx, b.python, filepath.Join(b.root, "bench/peers", script),
			"--brokers", strings.Join(b.brokers, ","), "--group", group, "--input", in, "--output", out,
			"--model", b.model, "--batch", strconv.Itoa(b.maxRows), "--max-wait", strconv.FormatFloat(b.maxWait.Seconds(), 'f', -1, 64))
		cmd.Stdout, cmd.Stderr = logf, logf
		return load.Start(name, cmd)
	}
}

// waitJoined waits until group has a member holding partitions, or p exits.
func waitJoined(ctx context.Context, brokers []string, group string, p *load.Process) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if ok, err := load.GroupAssigned(ctx, brokers, group); err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.Done():
			return fmt.Errorf("%s exited before joining its group", p.Name)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not join group %s within a minute", p.Name, group)
}

// latency runs one process on a fresh topic and feeds it at each load (a
// fraction of maxRate) for d, open loop, recording event-to-score latency.
// With committed, scored events are read with read_committed, as an
// exactly_once pipeline's downstream reads them.
func (b *bench) latency(ctx context.Context, name string, start starter, maxRate float64, loads []float64, d time.Duration, committed bool) ([]LoadPoint, Run, []load.RSSSample, error) {
	group, out := b.next(name)
	in := out + ".in"
	run := Run{Name: name}
	if err := load.CreateTopics(ctx, b.brokers, b.partitions, 0, in, out, out+".dlq"); err != nil {
		return nil, run, nil, err
	}
	defer func() {
		if err := load.DeleteTopics(context.WithoutCancel(ctx), b.brokers, in, out, out+".dlq"); err != nil {
			logf("deleting the latency topics: %v", err)
		}
	}()
	p, err := start(ctx, name, group, in, out)
	if err != nil {
		return nil, run, nil, err
	}
	p.SampleRSS(time.Second)
	defer p.Stop(15 * time.Second)
	var level consumers.Isolation
	if committed {
		level = consumers.ReadCommitted
	}
	col, err := load.CollectIsolated(ctx, b.brokers, out, level)
	if err != nil {
		return nil, run, nil, fmt.Errorf("reading scored events: %w", err)
	}
	ev := load.NewEvents(3)
	// A short warm-up at the lowest load, not measured.
	if _, err := load.Rate(ctx, b.brokers, in, loads[0]*maxRate, 2*time.Second, ev); err != nil {
		return nil, run, nil, fmt.Errorf("warming up: %w", err)
	}
	type window struct{ from, to time.Time }
	var windows []window
	var sent int64
	points := make([]LoadPoint, len(loads))
	const settle = time.Second // of each load, not measured
	for i, l := range loads {
		rate := l * maxRate
		if i == 0 && name == "streamscore-latency" && b.latProfile != "" && d > 3*time.Second {
			path := b.latProfile
			go func() {
				time.Sleep(time.Second)
				if err := load.Profile(ctx, p, d-2*time.Second, path); err != nil {
					logf("%v", err)
				} else {
					logf("CPU profile of %s at load %.0f%%: %s", name, l*100, path)
				}
			}()
		}
		before := b.usage(p)
		res, err := load.Rate(ctx, b.brokers, in, rate, d, ev)
		if err != nil {
			return nil, run, nil, err
		}
		after := b.usage(p)
		sent += res.Sent
		windows = append(windows, window{res.Start.Add(settle), res.Start.Add(d)})
		points[i] = LoadPoint{Load: l, Rate: rate, Sent: res.Sent}
		per := func(j int) float64 { return float64((after[j] - before[j]).Nanoseconds()) / 1e3 / float64(res.Sent) }
		points[i].CPUMicros, points[i].BrokerCPUMicros, points[i].HarnessCPUMicros = per(0), per(1), per(2)
		logf("%s: load %.0f%% (%.0f events/s): sent %d in %.1f s; CPU µs/event: %.1f, broker %.1f, harness %.1f",
			name, l*100, rate, res.Sent, res.Elapsed.Seconds(), points[i].CPUMicros, points[i].BrokerCPUMicros, points[i].HarnessCPUMicros)
		time.Sleep(time.Second)
	}
	// Wait for the last scored events.
	counter, err := load.NewCounter(ctx, b.brokers, out)
	if err != nil {
		return nil, run, nil, err
	}
	want := sent + int64(loads[0]*maxRate*2)
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		// The end offsets count transaction markers too: under
		// exactly_once every scored event read is the test.
		n, err := counter.Count(ctx)
		if (err == nil && n >= want && col.Count() >= n) || col.Sampled() >= want {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	samples, missing, err := col.Stop()
	if err != nil {
		return nil, run, nil, err
	}
	if missing > 0 {
		logf("latency: %d scored events had no send time", missing)
	}
	u := p.Stop(15 * time.Second)
	run.PeakRSS = u.PeakRSS
	for i, w := range windows {
		lat := load.Window(samples, w.from, w.to)
		pt := &points[i]
		pt.Scored = len(lat)
		ms := func(q float64) float64 { return load.Quantile(lat, q) / 1e3 }
		pt.P50, pt.P95, pt.P99, pt.Max = ms(0.50), ms(0.95), ms(0.99), ms(1)
		cdf := load.CDF(lat, 120)
		for j := range cdf {
			cdf[j].Value /= 1e3
		}
		pt.CDF = cdf
		expect := int(pt.Rate * w.to.Sub(w.from).Seconds())
		logf("%s: load %.0f%%: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms (%d scored of about %d sent in the window)",
			name, pt.Load*100, pt.P50, pt.P95, pt.P99, pt.Max, pt.Scored, expect)
	}
	return points, run, p.RSS(), nil
}

// usage returns the CPU time used so far by p, the broker and the harness.
func (b *bench) usage(p *load.Process) [3]time.Duration {
	var out [3]time.Duration
	for i, pid := range []int{p.Pid(), b.kafkaPid, os.Getpid()} {
		if pid > 0 {
			u, _ := load.ReadUsage(pid)
			out[i] = u.CPU
		}
	}
	return out
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", a...)
}

// pin sets the CPU affinity of every thread of process pid to cpus (a
// taskset CPU list); threads it starts later inherit it.
func pin(pid int, cpus string) error {
	out, err := exec.Command("taskset", "-a", "-p", "-c", cpus, strconv.Itoa(pid)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("taskset -a -p -c %s %d: %w: %s", cpus, pid, err, out)
	}
	return nil
}

// pinnedRuns runs the pass-through, streamscore and the micro-batched peer
// over the backlog with the broker and the harness on CPU 0 and the process
// under test on CPU 1, then gives every CPU back to the broker and the
// harness.
func (b *bench) pinnedRuns(ctx context.Context, res *Results, o options) error {
	n := runtime.NumCPU()
	if n < 2 {
		return fmt.Errorf("--pinned needs 2 CPUs, this machine has %d", n)
	}
	if b.kafkaPid == 0 {
		return errors.New("--pinned needs the broker's pid (STREAMSCORE_RUN from deployments/local)")
	}
	all := fmt.Sprintf("0-%d", n-1)
	for _, pid := range []int{b.kafkaPid, os.Getpid()} {
		if err := pin(pid, "0"); err != nil {
			return err
		}
	}
	defer func() {
		for _, pid := range []int{b.kafkaPid, os.Getpid()} {
			if err := pin(pid, all); err != nil {
				logf("giving the CPUs back: %v", err)
			}
		}
	}()
	b.pin = "1"
	defer func() { b.pin = "" }()
	logf("pinned: broker and harness on CPU 0, each process under test on CPU 1")
	for _, c := range []struct {
		dst   *Run
		name  string
		start starter
		limit time.Duration
	}{
		{&res.Pinned.PassThrough, "pinned-passthrough", b.startPassthrough, 0},
		{&res.Pinned.Scorer, "pinned-streamscore", b.scorer(0), 0},
		{&res.Pinned.MicroBatch, "pinned-python-microbatch", b.peer("microbatch.py"), o.peerLimit},
	} {
		if c.name == "pinned-python-microbatch" && b.python == "" {
			continue
		}
		r, _, err := b.backlogRun(ctx, c.name, c.start, c.limit)
		if err != nil {
			return err
		}
		*c.dst = best([]Run{r})
	}
	res.Pinned.Ran = true
	return nil
}
