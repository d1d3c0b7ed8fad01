package load

import (
	"context"
	"math"
	"testing"
	"time"
)

func TestSentMicros(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int64
		ok   bool
	}{
		{"scored event", `{"event_id":"b-1","passthrough":{"merchant":"m-1","sent_us":1732462400123456}}`, 1732462400123456, true},
		{"input event", `{"f31":0.5,"sent_us":42}`, 42, true},
		{"missing", `{"event_id":"b-1"}`, 0, false},
		{"not a number", `{"sent_us":"x"}`, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := SentMicros([]byte(tc.in))
			if got != tc.want || ok != tc.ok {
				t.Fatalf("SentMicros = %d, %v; want %d, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestQuantileAndCDF(t *testing.T) {
	vals := make([]int64, 1000)
	for i := range vals {
		vals[i] = int64(i + 1)
	}
	tests := []struct {
		q    float64
		want float64
	}{{0.5, 500}, {0.99, 990}, {1, 1000}, {0, 1}}
	for _, tc := range tests {
		if got := Quantile(vals, tc.q); got != tc.want {
			t.Errorf("Quantile(%g) = %g, want %g", tc.q, got, tc.want)
		}
	}
	if !math.IsNaN(Quantile(nil, 0.5)) {
		t.Error("Quantile of nothing is not NaN")
	}
	cdf := CDF(vals, 50)
	if last := cdf[len(cdf)-1]; last.Value != 1000 || last.Fraction != 1 {
		t.Errorf("CDF ends at %+v, want the maximum at 1", last)
	}
	for i := 1; i < len(cdf); i++ {
		if cdf[i].Value < cdf[i-1].Value || cdf[i].Fraction < cdf[i-1].Fraction {
			t.Fatalf("CDF not monotonic at %d: %+v then %+v", i, cdf[i-1], cdf[i])
		}
	}
}

func TestWindow(t *testing.T) {
	base := time.UnixMicro(1_000_000)
	var s []Sample
	for i := range 10 {
		s = append(s, Sample{SentMicros: base.UnixMicro() + int64(i)*1000, LatencyMicros: int64(10 - i)})
	}
	got := Window(s, base.Add(2*time.Millisecond), base.Add(5*time.Millisecond))
	want := []int64{6, 7, 8}
	if len(got) != len(want) {
		t.Fatalf("Window = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Window = %v, want %v", got, want)
		}
	}
}

func TestParseProc(t *testing.T) {
	rss, hwm := parseStatus([]byte("Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n"))
	if rss != 1024<<10 || hwm != 2048<<10 {
		t.Errorf("parseStatus = %d, %d", rss, hwm)
	}
	cpu, err := parseStatCPU([]byte("42 (a b) S 1 2 3 4 5 6 7 8 9 10 150 50 0 0"))
	if err != nil || cpu != 2*time.Second {
		t.Errorf("parseStatCPU = %v, %v; want 2s", cpu, err)
	}
}

func TestEventsMessages(t *testing.T) {
	ev := NewEvents(1)
	now := time.UnixMicro(1732462400123456)
	msgs := ev.Messages("t", 3, func(int) time.Time { return now })
	for _, m := range msgs {
		if sent, ok := SentMicros(m.Value); !ok || sent != now.UnixMicro() {
			t.Fatalf("event %s carries sent %d, %v", m.Value, sent, ok)
		}
		if len(m.Key) == 0 || string(m.Key[:2]) != "u-" {
			t.Fatalf("key %q", m.Key)
		}
	}
}

// doneCount is a Count whose run is already complete at the first reading.
type doneCount int64

func (c doneCount) Count(context.Context) (int64, error) { return int64(c), nil }

func TestMeasureDoneWithinWarmup(t *testing.T) {
	ctx := context.Background()
	if _, err := Measure(ctx, doneCount(1000), MeasureConfig{Target: 1000}); err == nil {
		t.Fatal("Measure without an origin measured a run that ended at its first reading")
	}
	origin := Progress{At: time.Now().Add(-time.Second)}
	th, err := Measure(ctx, doneCount(1000), MeasureConfig{Target: 1000, Origin: &origin})
	if err != nil {
		t.Fatalf("Measure from the origin: %v", err)
	}
	if !th.StartUp || !th.Complete {
		t.Fatalf("StartUp %v, Complete %v; want both", th.StartUp, th.Complete)
	}
	// 1000 records in a little over a second.
	if th.Rate <= 500 || th.Rate > 1000 {
		t.Fatalf("rate %.0f/s, want 1000 records over about a second", th.Rate)
	}
}
