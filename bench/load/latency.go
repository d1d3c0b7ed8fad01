package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/consumers"
)

// Sample is one scored event's timing: when its input was due to be sent and
// how long after that the scored event could be read from the output topic.
type Sample struct {
	SentMicros    int64
	LatencyMicros int64
}

// Collector reads every partition of a scored-event topic from its first
// offset and records, for each scored event, the time from the send time
// its input carried (SentField, passed through) to the moment the collector
// read it. Scored events without a send time are counted but not sampled.
type Collector struct {
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	samples []Sample
	missing int64
	errs    []error
	// seen and sampled count records as they are read (samples and missing
	// are merged when reading ends).
	seen, sampled atomic.Int64
}

// Collect starts reading topic in the background, uncommitted records
// included; Stop ends it.
func Collect(ctx context.Context, brokers []string, topic string) (*Collector, error) {
	return CollectIsolated(ctx, brokers, topic, "")
}

// CollectIsolated is Collect reading at isolation level: with
// consumers.ReadCommitted a scored event is read (and its latency taken)
// once the transaction that wrote it has committed, as an exactly-once
// pipeline's downstream reads it. It reads every partition with one
// Fetch request per broker at a time (consumers.Fetcher), as the Java
// client and librdkafka do, so that the reader's own requests do not
// load the broker more than a real downstream would; transaction markers
// are never records.
func CollectIsolated(ctx context.Context, brokers []string, topic string, level consumers.Isolation) (*Collector, error) {
	parts, err := consumers.Partitions(ctx, nil, brokers, topic)
	if err != nil {
		return nil, err
	}
	tps := make([]consumers.TopicPartition, len(parts))
	for i, p := range parts {
		tps[i] = consumers.TopicPartition{Topic: topic, Partition: p, Offset: kafka.FirstOffset}
	}
	f := consumers.NewFetcher(consumers.FetcherConfig{Brokers: brokers, Isolation: level, MinBytes: 1, MaxWait: 500 * time.Millisecond}, tps)
	ctx, cancel := context.WithCancel(ctx)
	c := &Collector{cancel: cancel}
	var readers sync.WaitGroup
	for _, p := range parts {
		readers.Go(func() { c.read(ctx, f.Partition(topic, p), topic, p) })
	}
	c.wg.Go(func() {
		readers.Wait()
		f.Close()
	})
	return c, nil
}

// messageReader is what Collector reads a partition with.
type messageReader interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
}

func (c *Collector) read(ctx context.Context, r messageReader, topic string, partition int) {
	var local []Sample
	var missing int64
	defer func() {
		c.mu.Lock()
		c.samples = append(c.samples, local...)
		c.missing += missing
		c.mu.Unlock()
	}()
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
				c.mu.Lock()
				c.errs = append(c.errs, fmt.Errorf("reading %s/%d: %w", topic, partition, err))
				c.mu.Unlock()
			}
			return
		}
		now := time.Now().UnixMicro()
		c.seen.Add(1)
		sent, ok := SentMicros(m.Value)
		if !ok {
			missing++
			continue
		}
		c.sampled.Add(1)
		local = append(local, Sample{SentMicros: sent, LatencyMicros: now - sent})
	}
}

var sentKey = []byte(`"` + SentField + `":`)

// SentMicros finds the send time in a scored event (or an input event).
func SentMicros(v []byte) (int64, bool) {
	i := bytes.LastIndex(v, sentKey)
	if i < 0 {
		return 0, false
	}
	var n int64
	digits := 0
	for _, c := range v[i+len(sentKey):] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
		digits++
	}
	return n, digits > 0
}

// Stop ends the reading, waits for it, and returns the samples in send
// order, how many scored events had no send time, and the first read error.
func (c *Collector) Stop() ([]Sample, int64, error) {
	c.cancel()
	c.wg.Wait()
	slices.SortFunc(c.samples, func(a, b Sample) int {
		switch {
		case a.SentMicros < b.SentMicros:
			return -1
		case a.SentMicros > b.SentMicros:
			return 1
		}
		return 0
	})
	return c.samples, c.missing, errors.Join(c.errs...)
}

// Count returns how many scored events have been read so far.
func (c *Collector) Count() int64 { return c.seen.Load() }

// Sampled returns how many scored events with a send time have been read
// so far.
func (c *Collector) Sampled() int64 { return c.sampled.Load() }

// Window returns the latencies of the samples sent in [from, to), sorted
// ascending, in microseconds. samples must be in send order.
func Window(samples []Sample, from, to time.Time) []int64 {
	lo, _ := slices.BinarySearchFunc(samples, from.UnixMicro(), func(s Sample, t int64) int { return cmp64(s.SentMicros, t) })
	hi, _ := slices.BinarySearchFunc(samples, to.UnixMicro(), func(s Sample, t int64) int { return cmp64(s.SentMicros, t) })
	out := make([]int64, 0, hi-lo)
	for _, s := range samples[lo:hi] {
		out = append(out, s.LatencyMicros)
	}
	slices.Sort(out)
	return out
}

func cmp64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) of sorted values by the
// nearest-rank method; NaN when there are none.
func Quantile(sorted []int64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	return float64(sorted[i])
}

// CDFPoint is one point of a cumulative distribution: the fraction of
// values at or below Value.
type CDFPoint struct {
	Value    float64 `json:"value"`
	Fraction float64 `json:"fraction"`
}

// CDF returns about n points of the distribution of sorted values, denser
// in the tail (fractions 1-10^-k), always ending at the maximum.
func CDF(sorted []int64, n int) []CDFPoint {
	if len(sorted) == 0 {
		return nil
	}
	var qs []float64
	for i := range n / 2 {
		qs = append(qs, float64(i)/float64(n/2)*0.9)
	}
	// The tail from 0.9 to 1 on a log scale of 1-q.
	tail := n - len(qs)
	for i := range tail {
		qs = append(qs, 1-0.1*math.Pow(10, -4*float64(i)/float64(tail-1)))
	}
	qs = append(qs, 1)
	out := make([]CDFPoint, 0, len(qs))
	for _, q := range qs {
		v := Quantile(sorted, q)
		if q == 0 {
			v = float64(sorted[0])
		}
		if len(out) > 0 && out[len(out)-1].Value == v && q < 1 {
			out[len(out)-1].Fraction = q
			continue
		}
		out = append(out, CDFPoint{Value: v, Fraction: q})
	}
	return out
}
