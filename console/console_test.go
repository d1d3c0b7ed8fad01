package console

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fixture registers the metrics the console reads, under their real names
// and labels, so tests move them as a running scorer would.
type fixture struct {
	reg       *prometheus.Registry
	fetched   *prometheus.CounterVec
	scored    prometheus.Counter
	dead      *prometheus.CounterVec
	batch     prometheus.Histogram
	latency   prometheus.Histogram
	lag       *prometheus.GaugeVec
	committed *prometheus.GaugeVec
	closes    *prometheus.CounterVec
	active    *prometheus.GaugeVec
	compared  prometheus.Counter
	agreed    prometheus.Counter
	score     *prometheus.GaugeVec
	alert     *prometheus.GaugeVec
	threshold *prometheus.GaugeVec
	lookups   *prometheus.CounterVec
	hits      *prometheus.CounterVec
	fErrors   prometheus.Counter
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		reg:       prometheus.NewRegistry(),
		fetched:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: mFetched}, []string{"topic", "partition"}),
		scored:    prometheus.NewCounter(prometheus.CounterOpts{Name: mScored}),
		dead:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: mDead}, []string{"reason"}),
		batch:     prometheus.NewHistogram(prometheus.HistogramOpts{Name: mBatchRows, Buckets: prometheus.ExponentialBuckets(1, 2, 14)}),
		latency:   prometheus.NewHistogram(prometheus.HistogramOpts{Name: mLatency, Buckets: prometheus.ExponentialBuckets(0.0005, 2, 18)}),
		lag:       prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: mLag}, []string{"topic", "partition"}),
		committed: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: mCommitted}, []string{"topic", "partition"}),
		closes:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "streamscore_pipeline_batches_closed_total"}, []string{"reason"}),
		active:    prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: mModelActive}, []string{"model", "role", "version"}),
		compared:  prometheus.NewCounter(prometheus.CounterOpts{Name: mCompared}),
		agreed:    prometheus.NewCounter(prometheus.CounterOpts{Name: mAgreed}),
		score:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: mDriftScore}, []string{"model", "version", "feature", "score"}),
		alert:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: mDriftAlert}, []string{"model", "version", "feature"}),
		threshold: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: mDriftThreshold}, []string{"model", "version", "feature", "score"}),
		lookups:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: mLookups}, []string{"set"}),
		hits:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: mHits}, []string{"set"}),
		fErrors:   prometheus.NewCounter(prometheus.CounterOpts{Name: mFeatureErrors}),
	}
	f.reg.MustRegister(f.fetched, f.scored, f.dead, f.batch, f.latency, f.lag, f.committed, f.closes,
		f.active, f.compared, f.agreed, f.score, f.alert, f.threshold, f.lookups, f.hits, f.fErrors)
	return f
}

// clock is a settable clock for the console.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newConsole(t *testing.T, g prometheus.Gatherer, opts Options) (*Console, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)}
	opts.Now = c.now
	con, err := New(Default(), g, opts)
	if err != nil {
		t.Fatal(err)
	}
	return con, c
}

func TestStatusFromMetrics(t *testing.T) {
	f := newFixture(t)
	con, clk := newConsole(t, f.reg, Options{Command: "run", Ready: func() error { return errors.New("waiting for a partition assignment") }})

	f.fetched.WithLabelValues("events", "0").Add(100)
	f.fetched.WithLabelValues("events", "1").Add(100)
	f.scored.Add(190)
	con.Sample()
	clk.t = clk.t.Add(2 * time.Second)
	f.fetched.WithLabelValues("events", "0").Add(1000)
	f.fetched.WithLabelValues("events", "1").Add(1000)
	f.scored.Add(1800)
	f.dead.WithLabelValues("invalid_json").Add(7)
	f.dead.WithLabelValues("missing_field").Add(3)
	for range 10 {
		f.batch.Observe(200)
	}
	for range 99 {
		f.latency.Observe(0.003)
	}
	f.latency.Observe(0.5)
	f.lag.WithLabelValues("events", "1").Set(40)
	f.lag.WithLabelValues("events", "0").Set(2)
	f.committed.WithLabelValues("events", "0").Set(1098)
	f.closes.WithLabelValues("max_rows").Add(4)
	f.closes.WithLabelValues("idle").Add(6)
	f.active.WithLabelValues("fraud", "champion", "1").Set(1)
	f.active.WithLabelValues("fraud", "challenger", "2").Set(1)
	f.active.WithLabelValues("fraud", "canary", "3").Set(0.1)
	f.compared.Add(200)
	f.agreed.Add(150)
	f.score.WithLabelValues("mlp", "1", "amount", "psi").Set(0.05)
	f.score.WithLabelValues("mlp", "1", "amount", "ks").Set(0.02)
	f.threshold.WithLabelValues("mlp", "1", "amount", "psi").Set(0.2)
	f.score.WithLabelValues("mlp", "1", "f07", "psi").Set(0.9)
	f.threshold.WithLabelValues("mlp", "1", "f07", "psi").Set(0.2)
	f.alert.WithLabelValues("mlp", "1", "f07").Set(1)
	f.alert.WithLabelValues("mlp", "1", "amount").Set(0)
	f.score.WithLabelValues("mlp", "1", "zeta", "psi").Set(0.15)
	f.lookups.WithLabelValues("user").Add(400)
	f.hits.WithLabelValues("user").Add(300)

	st, err := con.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Command != "run" || st.Ready.OK || !strings.Contains(st.Ready.Reason, "assignment") || !st.Stream {
		t.Errorf("command/ready/stream = %q %+v %v", st.Command, st.Ready, st.Stream)
	}
	if st.Throughput.InTotal != 2200 || st.Throughput.OutTotal != 1990 || st.Throughput.DeadTotal != 10 {
		t.Errorf("totals = %+v", st.Throughput)
	}
	if st.Throughput.InRate != 1000 || st.Throughput.OutRate != 900 {
		t.Errorf("rates = in %v out %v, want 1000 and 900 per second", st.Throughput.InRate, st.Throughput.OutRate)
	}
	if st.Dead["invalid_json"] != 7 || st.Dead["missing_field"] != 3 {
		t.Errorf("dead = %v", st.Dead)
	}
	if st.Batches.Total != 10 || st.Batches.MeanRows != 200 || st.Batches.P50Rows < 128 || st.Batches.P50Rows > 256 {
		t.Errorf("batches = %+v", st.Batches)
	}
	if st.Batches.CloseReasons["max_rows"] != 4 || st.Batches.CloseReasons["idle"] != 6 {
		t.Errorf("close reasons = %v", st.Batches.CloseReasons)
	}
	if st.Latency.Count != 100 || st.Latency.P50 < 0.002 || st.Latency.P50 > 0.004 || st.Latency.P99 < 0.002 {
		t.Errorf("latency = %+v", st.Latency)
	}
	if len(st.Lag) != 2 || st.Lag[0].Partition != 0 || st.Lag[0].Lag != 2 || st.Lag[0].Committed != 1098 || st.LagTotal != 42 {
		t.Errorf("lag = %+v total %v", st.Lag, st.LagTotal)
	}
	m := st.Models
	if m == nil || len(m.Active) != 3 || m.Active[0].Role != "champion" || m.Active[0].Model != "fraud" || m.Active[1].Role != "canary" || m.Active[1].Share != 0.1 || m.Agreement != 0.75 {
		t.Errorf("models = %+v", m)
	}
	if len(st.Drift) != 3 {
		t.Fatalf("drift = %+v", st.Drift)
	}
	if d := st.Drift[0]; d.Column != "f07" || !d.Drifting || d.Score != "psi" || d.Value != 0.9 || d.Threshold != 0.2 || len(d.Spark) != 1 {
		t.Errorf("drift[0] = %+v, want the drifting column f07 first", d)
	}
	if st.Drift[1].Column != "amount" || st.Drift[2].Column != "zeta" {
		t.Errorf("drift order = %s, %s; want amount (0.25 of its threshold) before zeta (no threshold, 0.15)", st.Drift[1].Column, st.Drift[2].Column)
	}
	if fs := st.Features; fs == nil || fs.HitRatio != 0.75 || !fs.RedisOK {
		t.Errorf("features = %+v", fs)
	}
	if st.Serve != nil {
		t.Errorf("serve = %+v, want nil without its metrics", st.Serve)
	}
}

func TestStatusHistory(t *testing.T) {
	f := newFixture(t)
	con, clk := newConsole(t, f.reg, Options{Command: "run"})
	for i := range 5 {
		f.scored.Add(100)
		f.score.WithLabelValues("mlp", "1", "amount", "psi").Set(float64(i) / 10)
		f.lookups.WithLabelValues("user").Add(10)
		f.fErrors.Add(float64(i / 4)) // one error, just before the newest sample
		con.Sample()
		clk.t = clk.t.Add(time.Second)
	}
	st, err := con.Status()
	if err != nil {
		t.Fatal(err)
	}
	if got := len(st.Throughput.OutSpark); got != 5 {
		t.Errorf("out sparkline has %d points, want 5 (6 reads)", got)
	}
	if st.Throughput.OutRate != 0 {
		t.Errorf("out rate = %v, want 0: nothing scored since the last sample", st.Throughput.OutRate)
	}
	d := st.Drift[0]
	want := []Number{0, 0.1, 0.2, 0.3, 0.4, 0.4}
	if len(d.Spark) != len(want) {
		t.Fatalf("drift sparkline = %v, want %v", d.Spark, want)
	}
	for i := range want {
		if math.Abs(float64(d.Spark[i]-want[i])) > 1e-9 {
			t.Fatalf("drift sparkline = %v, want %v", d.Spark, want)
		}
	}
	// The error came before the newest sample and none since: healthy again.
	if fs := st.Features; fs == nil || !fs.RedisOK || fs.Errors != 1 || fs.RecentErrors != 0 {
		t.Errorf("features = %+v, want redis_ok with 1 error, none recent", fs)
	}
	f.fErrors.Inc()
	if st, _ = con.Status(); st.Features.RedisOK || st.Features.RecentErrors != 1 {
		t.Errorf("features = %+v, want not redis_ok after a new error", st.Features)
	}

	// The ring keeps History samples.
	for range 200 {
		con.Sample()
		clk.t = clk.t.Add(time.Second)
	}
	if n := len(con.ring); n != Default().History {
		t.Errorf("ring holds %d samples, want %d", n, Default().History)
	}
}

func TestStatusEmptyRegistry(t *testing.T) {
	con, _ := newConsole(t, prometheus.NewRegistry(), Options{Command: "serve"})
	st, err := con.Status()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatalf("marshalling a status with NaNs: %v", err)
	}
	for _, want := range []string{`"in_per_s":null`, `"p99":null`, `"drift":[]`, `"lag":[]`, `"ready":{"ok":true}`, `"stream":false`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("status %s lacks %s", b, want)
		}
	}
}

func TestRoutes(t *testing.T) {
	f := newFixture(t)
	f.scored.Add(5)
	cases := []struct {
		name, path, auth string
		require          bool
		want             int
		body             string
	}{
		{name: "page", path: "/", want: 200, body: `<script src="/console/console.js">`},
		{name: "script", path: "/console/console.js", want: 200, body: "/api/status"},
		{name: "style", path: "/console/console.css", want: 200, body: "@media"},
		{name: "status", path: "/api/status", want: 200, body: `"out_total":5`},
		{name: "other paths stay 404", path: "/nope", want: 404},
		{name: "status needs the token", path: "/api/status", require: true, want: 401},
		{name: "page needs the token", path: "/", require: true, want: 401},
		{name: "wrong token", path: "/api/status", auth: "Bearer nope-nope-nope-nope", require: true, want: 401},
		{name: "bearer token", path: "/api/status", auth: "Bearer s3cret-s3cret-s3cret", require: true, want: 200, body: `"out_total":5`},
		{name: "token in the page URL", path: "/?token=s3cret-s3cret-s3cret", require: true, want: 200, body: "<html"},
		{name: "assets need no token", path: "/console/console.js", require: true, want: 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Default()
			cfg.RequireToken = tc.require
			con, err := New(cfg, f.reg, Options{Command: "run", Token: []byte("s3cret-s3cret-s3cret")})
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			con.Routes(mux)
			req := httptest.NewRequest("GET", tc.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != tc.want {
				t.Fatalf("GET %s = %d, want %d: %s", tc.path, rec.Code, tc.want, body)
			}
			if !strings.Contains(string(body), tc.body) {
				t.Errorf("GET %s body lacks %q:\n%s", tc.path, tc.body, body)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{name: "default", edit: func(*Config) {}},
		{name: "refresh too short", edit: func(c *Config) { c.Refresh = time.Millisecond }, want: "refresh:"},
		{name: "history too short", edit: func(c *Config) { c.History = 1 }, want: "history:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.edit(&c)
			err := c.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate() = %v, want an error naming %q", err, tc.want)
			}
		})
	}
	cfg := Default()
	cfg.RequireToken = true
	if _, err := New(cfg, prometheus.NewRegistry(), Options{}); err == nil || !strings.Contains(err.Error(), "console.require_token") {
		t.Errorf("New without a token = %v, want an error naming console.require_token", err)
	}
}

func TestQuantile(t *testing.T) {
	h := &hist{upper: []float64{1, 2, 4, math.Inf(1)}, cum: []float64{0, 50, 100, 100}, count: 100}
	cases := []struct{ q, want float64 }{{0.25, 1.5}, {0.5, 2}, {0.75, 3}, {1, 4}}
	for _, tc := range cases {
		if got := h.quantile(tc.q); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := (*hist)(nil).quantile(0.5); !math.IsNaN(got) {
		t.Errorf("quantile of nothing = %v, want NaN", got)
	}
}

func TestRunSamplesEveryRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		con, err := New(Default(), f.reg, Options{Command: "run"})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			con.Run(ctx)
			close(done)
		}()
		for i := range 5 {
			f.scored.Add(float64(100 * (i + 1)))
			time.Sleep(Default().Refresh)
			synctest.Wait()
		}
		cancel()
		<-done
		con.mu.Lock()
		n := len(con.ring)
		con.mu.Unlock()
		if n != 6 {
			t.Fatalf("%d samples after 5 refresh intervals, want 6 (one at start)", n)
		}
		st, err := con.Status()
		if err != nil {
			t.Fatal(err)
		}
		// The newest sample is as old as now, so rates use the one before:
		// 500 events in one 2 s interval.
		if st.Throughput.OutRate != 250 {
			t.Errorf("out rate = %v, want 250/s", st.Throughput.OutRate)
		}
	})
}

// TestStatusServeOnly: serve's registry has the HTTP scoring series and
// no stream: the status says so, and counts rejected events.
func TestStatusServeOnly(t *testing.T) {
	reg := prometheus.NewRegistry()
	events := prometheus.NewCounterVec(prometheus.CounterOpts{Name: mServeEvents}, []string{"result"})
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: mServeRequests}, []string{"code"})
	reg.MustRegister(events, requests)
	requests.WithLabelValues("200").Add(12)
	events.WithLabelValues("scored").Add(40)
	events.WithLabelValues("rejected").Add(3)
	con, _ := newConsole(t, reg, Options{Command: "serve"})
	st, err := con.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Stream || st.Serve == nil || st.Serve.Requests != 12 || st.Serve.Events != 43 || st.Serve.Rejected != 3 {
		t.Errorf("stream %v, serve %+v; want no stream, 12 requests, 43 events, 3 rejected", st.Stream, st.Serve)
	}
}
