package replay

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/schemas"
)

// TopicConfig configures NewTopic.
type TopicConfig struct {
	// Brokers are the bootstrap brokers, host:port.
	Brokers []string
	// Topic is read, every partition of it.
	Topic string
	// From and To bound the replay by record timestamp, [From, To), to
	// the millisecond. A zero From means the start of each partition; a
	// zero To means the end offsets when NewTopic runs.
	From, To time.Time
	// Dialer connects the partition readers (TLS, SASL); nil means
	// kafka-go's default.
	Dialer *kafka.Dialer
	// Transport carries the offset look-ups (TLS, SASL); nil means
	// kafka-go's default.
	Transport *kafka.Transport
	// Isolation is how transactional records are read (see
	// consumers.Isolation); empty means kafka-go's Reader.
	Isolation consumers.Isolation
}

// PartitionRange is the part of one partition a replay reads: offsets in
// [Start, End).
type PartitionRange struct {
	Partition  int
	Start, End int64
}

// Topic is a bounded Source that reads one topic's records whose timestamps
// lie in [From, To), on every partition, without joining a consumer group:
// it never commits, and no group sees it. NewTopic resolves each
// partition's range once, with Kafka's offsets-for-times: Start is the first
// offset whose timestamp is at or after From; End is the first offset at
// or after To, or the partition's end offset when NewTopic ran, whichever is
// lower. So a replay ends even while producers keep writing. Records
// between Start and End whose timestamps lie outside the range (producers
// may set any CreateTime) are skipped.
//
// Run reads the partitions concurrently and merges them into one
// deterministic order: by record timestamp, then partition, then offset.
// Two replays of the same range send the same messages in the same order.
type Topic struct {
	cfg    TopicConfig
	ranges []PartitionRange

	stop     chan struct{}
	stopOnce sync.Once
}

// NewTopic looks up the topic's partitions and the offsets of the time
// range, and returns the source. It blocks on those requests until ctx is
// done.
func NewTopic(ctx context.Context, cfg TopicConfig) (*Topic, error) {
	switch {
	case len(cfg.Brokers) == 0:
		return nil, errors.New("replaying a topic: brokers are required")
	case cfg.Topic == "":
		return nil, errors.New("replaying a topic: a topic is required")
	case !cfg.From.IsZero() && !cfg.To.IsZero() && !cfg.To.After(cfg.From):
		return nil, fmt.Errorf("replaying a topic: --to (%s) must be after --from (%s)", cfg.To.Format(time.RFC3339Nano), cfg.From.Format(time.RFC3339Nano))
	}
	parts, err := consumers.Partitions(ctx, cfg.Dialer, cfg.Brokers, cfg.Topic)
	if err != nil {
		return nil, fmt.Errorf("replaying a topic: %w", err)
	}
	sort.Ints(parts)
	client := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Timeout: 15 * time.Second}
	if cfg.Transport != nil {
		client.Transport = cfg.Transport // a nil *Transport in the interface would not mean the default
	}
	ask := func(what string, req func(p int) kafka.OffsetRequest) (map[int]kafka.PartitionOffsets, error) {
		reqs := make([]kafka.OffsetRequest, len(parts))
		for i, p := range parts {
			reqs[i] = req(p)
		}
		res, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{cfg.Topic: reqs}})
		if err != nil {
			return nil, fmt.Errorf("listing %s offsets of %s: %w", what, cfg.Topic, err)
		}
		out := make(map[int]kafka.PartitionOffsets, len(parts))
		for _, po := range res.Topics[cfg.Topic] {
			if po.Error != nil {
				return nil, fmt.Errorf("listing %s offsets of %s partition %d: %w", what, cfg.Topic, po.Partition, po.Error)
			}
			out[po.Partition] = po
		}
		for _, p := range parts {
			if _, ok := out[p]; !ok {
				return nil, fmt.Errorf("listing %s offsets of %s: no answer for partition %d", what, cfg.Topic, p)
			}
		}
		return out, nil
	}
	// One request per kind: Kafka refuses a partition named twice in one.
	ends, err := ask("end", kafka.LastOffsetOf)
	if err != nil {
		return nil, err
	}
	firsts, err := ask("first", kafka.FirstOffsetOf)
	if err != nil {
		return nil, err
	}
	// atTime returns the first offset with a timestamp at or after t, or
	// the end offset when there is none.
	atTime := func(what string, t time.Time) (map[int]int64, error) {
		res, err := ask(what, func(p int) kafka.OffsetRequest { return kafka.TimeOffsetOf(p, t) })
		if err != nil {
			return nil, err
		}
		out := make(map[int]int64, len(parts))
		for _, p := range parts {
			off := ends[p].LastOffset
			for o := range res[p].Offsets {
				if o >= 0 {
					off = o
				}
			}
			out[p] = off
		}
		return out, nil
	}
	starts := map[int]int64{}
	for _, p := range parts {
		starts[p] = firsts[p].FirstOffset
	}
	if !cfg.From.IsZero() {
		if starts, err = atTime("--from", cfg.From); err != nil {
			return nil, err
		}
	}
	stops := map[int]int64{}
	for _, p := range parts {
		stops[p] = ends[p].LastOffset
	}
	if !cfg.To.IsZero() {
		if stops, err = atTime("--to", cfg.To); err != nil {
			return nil, err
		}
	}
	t := &Topic{cfg: cfg, stop: make(chan struct{})}
	for _, p := range parts {
		start := max(starts[p], firsts[p].FirstOffset)
		end := min(stops[p], ends[p].LastOffset)
		t.ranges = append(t.ranges, PartitionRange{Partition: p, Start: start, End: max(start, end)})
	}
	return t, nil
}

// Ranges returns each partition's offset range, by partition.
func (t *Topic) Ranges() []PartitionRange { return append([]PartitionRange(nil), t.ranges...) }

// Count returns how many offsets the ranges span: an upper bound of the
// records Run sends (compaction and out-of-range timestamps make fewer).
func (t *Topic) Count(context.Context) (int64, error) {
	var n int64
	for _, r := range t.ranges {
		n += r.End - r.Start
	}
	return n, nil
}

// Describe names the topic and the time range.
func (t *Topic) Describe() string {
	from, to := "start", "end"
	if !t.cfg.From.IsZero() {
		from = t.cfg.From.UTC().Format(time.RFC3339Nano)
	}
	if !t.cfg.To.IsZero() {
		to = t.cfg.To.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("topic %s [%s, %s)", t.cfg.Topic, from, to)
}

// StopFetching makes Run stop sending and return. It does not block.
func (t *Topic) StopFetching() { t.stopOnce.Do(func() { close(t.stop) }) }

// Ack does nothing: a replay commits no offsets.
func (t *Topic) Ack([]schemas.Span) {}

// partitionQueue bounds the records read ahead per partition.
const partitionQueue = 512

// Run reads every partition's range and sends the records to out, merged
// by (timestamp, partition, offset), then closes out and returns. It
// returns early, with nil, after StopFetching or when ctx is done, and with
// an error if a partition cannot be read.
func (t *Topic) Run(ctx context.Context, out chan<- schemas.Message) error {
	defer close(out)
	g, gctx := errgroup.WithContext(ctx)
	gctx, cancel := context.WithCancel(gctx)
	defer cancel()
	var chans []chan schemas.Message
	for _, r := range t.ranges {
		if r.Start >= r.End {
			continue
		}
		ch := make(chan schemas.Message, partitionQueue)
		chans = append(chans, ch)
		g.Go(func() error {
			defer close(ch)
			return t.readPartition(gctx, r, ch)
		})
	}
	t.merge(gctx, chans, out)
	// Readers return nil when cancelled, so what Wait returns is a real
	// read failure (which also ended the merge, through gctx).
	cancel()
	if err := g.Wait(); err != nil {
		return fmt.Errorf("replaying %s: %w", t.cfg.Topic, err)
	}
	return nil
}

// merge sends the partitions' records to out in (time, partition, offset)
// order until every partition is read, StopFetching, or ctx is done.
func (t *Topic) merge(ctx context.Context, chans []chan schemas.Message, out chan<- schemas.Message) {
	heads := make([]schemas.Message, len(chans))
	have := make([]bool, len(chans))
	open := make([]bool, len(chans))
	for i := range open {
		open[i] = true
	}
	for {
		// Every open partition needs its next record before the earliest
		// one can be chosen.
		for i, ch := range chans {
			if !open[i] || have[i] {
				continue
			}
			select {
			case m, ok := <-ch:
				if !ok {
					open[i] = false
					continue
				}
				heads[i], have[i] = m, true
			case <-t.stop:
				return
			case <-ctx.Done():
				return
			}
		}
		best := -1
		for i := range heads {
			if have[i] && (best < 0 || before(&heads[i], &heads[best])) {
				best = i
			}
		}
		if best < 0 {
			return
		}
		select {
		case out <- heads[best]:
			have[best] = false
		case <-t.stop:
			return
		case <-ctx.Done():
			return
		}
	}
}

// before orders records by timestamp, partition, offset.
func before(a, b *schemas.Message) bool {
	ta, tb := a.Time.UnixMilli(), b.Time.UnixMilli()
	if ta != tb {
		return ta < tb
	}
	if a.Partition != b.Partition {
		return a.Partition < b.Partition
	}
	return a.Offset < b.Offset
}

// readPartition reads offsets [r.Start, r.End) of one partition with a
// plain partition reader (no group), keeping records in the time range.
func (t *Topic) readPartition(ctx context.Context, r PartitionRange, out chan<- schemas.Message) error {
	rd, err := consumers.OpenPartition(consumers.PartitionReaderConfig{
		Brokers: t.cfg.Brokers, Topic: t.cfg.Topic, Partition: r.Partition, Dialer: t.cfg.Dialer, Offset: r.Start,
		Isolation: t.cfg.Isolation, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 250 * time.Millisecond,
	})
	if err != nil {
		return fmt.Errorf("partition %d: seeking to offset %d: %w", r.Partition, r.Start, err)
	}
	defer rd.Close()
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !t.cfg.From.IsZero() {
		lo = t.cfg.From.UnixMilli()
	}
	if !t.cfg.To.IsZero() {
		hi = t.cfg.To.UnixMilli()
	}
	prev := r.Start - 1
	for {
		if t.cfg.Isolation != "" && rd.Offset() >= r.End {
			// Transaction markers and aborted records end the range.
			return nil
		}
		km, err := rd.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("partition %d: reading at offset %d: %w", r.Partition, prev+1, err)
		}
		if km.Offset >= r.End {
			return nil
		}
		if ts := km.Time.UnixMilli(); ts >= lo && ts < hi {
			m := schemas.Message{
				Topic: km.Topic, Partition: km.Partition, Offset: km.Offset, Prev: prev,
				Key: km.Key, Value: km.Value, Time: km.Time,
			}
			for _, h := range km.Headers {
				m.Headers = append(m.Headers, schemas.Header{Key: h.Key, Value: h.Value})
			}
			select {
			case out <- m:
			case <-ctx.Done():
				return nil
			}
		}
		prev = km.Offset
		if km.Offset >= r.End-1 {
			return nil
		}
	}
}
