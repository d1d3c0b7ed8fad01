package consumers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/schemas"
)

// TailConfig configures Tail.
type TailConfig struct {
	Brokers []string
	Topic   string
	// FromBeginning starts every partition at its first offset; otherwise
	// only records written after Tail starts are read.
	FromBeginning bool
	// Max stops after this many records; zero means no limit.
	Max int
	// Idle stops once no record arrived for this long; zero means never.
	Idle time.Duration
	// UntilEnd stops each partition at the end offset it had when Tail
	// started, so Tail returns once it has read what was there.
	UntilEnd bool
	Dialer   *kafka.Dialer
	// Isolation is how transactional records are read (see Isolation);
	// empty means kafka-go's Reader.
	Isolation Isolation
}

// Tail reads every partition of a topic without joining a group (it commits
// nothing) and calls fn for each record, one at a time, until Max, Idle, ctx,
// or an error from fn. It returns how many records fn saw.
func Tail(ctx context.Context, cfg TailConfig, fn func(schemas.Message) error) (int, error) {
	parts, err := Partitions(ctx, cfg.Dialer, cfg.Brokers, cfg.Topic)
	if err != nil {
		return 0, err
	}
	var ends map[int]int64
	if cfg.UntilEnd {
		if ends, err = EndOffsets(ctx, cfg.Dialer, cfg.Brokers, cfg.Topic, parts); err != nil {
			return 0, err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan schemas.Message, 1024)
	var wg sync.WaitGroup
	var live sync.WaitGroup
	for _, p := range parts {
		if cfg.UntilEnd && ends[p] == 0 {
			continue
		}
		live.Add(1)
		wg.Go(func() {
			defer live.Done()
			start := kafka.LastOffset
			if cfg.FromBeginning {
				start = kafka.FirstOffset
			}
			r, err := OpenPartition(PartitionReaderConfig{
				Brokers: cfg.Brokers, Dialer: cfg.Dialer, Topic: cfg.Topic, Partition: p, Offset: start,
				Isolation: cfg.Isolation, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond,
			})
			if err != nil {
				return
			}
			defer r.Close()
			for {
				if cfg.UntilEnd && r.Offset() >= ends[p] {
					return
				}
				km, err := r.FetchMessage(ctx)
				if err != nil {
					return
				}
				m := schemas.Message{Topic: km.Topic, Partition: km.Partition, Offset: km.Offset, Key: km.Key, Value: km.Value, Time: km.Time}
				for _, h := range km.Headers {
					m.Headers = append(m.Headers, schemas.Header{Key: h.Key, Value: h.Value})
				}
				select {
				case ch <- m:
				case <-ctx.Done():
					return
				}
				if cfg.UntilEnd && km.Offset+1 >= ends[p] {
					return
				}
			}
		})
	}
	defer wg.Wait()
	defer cancel()
	allDone := make(chan struct{})
	go func() {
		live.Wait()
		close(allDone)
	}()

	var idle <-chan time.Time
	var timer *time.Timer
	if cfg.Idle > 0 {
		timer = time.NewTimer(cfg.Idle)
		defer timer.Stop()
		idle = timer.C
	}
	n := 0
	for cfg.Max == 0 || n < cfg.Max {
		select {
		case m := <-ch:
			n++
			if err := fn(m); err != nil {
				return n, err
			}
			if timer != nil {
				timer.Reset(cfg.Idle)
			}
		case <-idle:
			return n, nil
		case <-allDone:
			// Every reader reached its end; take what is still queued.
			for {
				select {
				case m := <-ch:
					n++
					if err := fn(m); err != nil {
						return n, err
					}
					if cfg.Max > 0 && n >= cfg.Max {
						return n, nil
					}
				default:
					return n, nil
				}
			}
		case <-ctx.Done():
			return n, nil
		}
	}
	return n, nil
}

// Client returns a kafka-go Client for brokers that connects with d's TLS
// and SASL settings (nil d means plain connections).
func Client(d *kafka.Dialer, brokers []string, timeout time.Duration) *kafka.Client {
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: timeout}
	if d != nil && (d.TLS != nil || d.SASLMechanism != nil) {
		c.Transport = &kafka.Transport{TLS: d.TLS, SASL: d.SASLMechanism, DialTimeout: d.Timeout}
	}
	return c
}

// EndOffsets returns each partition's end offset (the offset the next
// record written to it will get). d may be nil.
func EndOffsets(ctx context.Context, d *kafka.Dialer, brokers []string, topic string, parts []int) (map[int]int64, error) {
	client := Client(d, brokers, 10*time.Second)
	req := make([]kafka.OffsetRequest, len(parts))
	for i, p := range parts {
		req[i] = kafka.LastOffsetOf(p)
	}
	res, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: req}})
	if err != nil {
		return nil, fmt.Errorf("listing end offsets of %s: %w", topic, err)
	}
	out := make(map[int]int64, len(parts))
	for _, po := range res.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("listing end offset of %s/%d: %w", topic, po.Partition, po.Error)
		}
		out[po.Partition] = po.LastOffset
	}
	return out, nil
}

// Partitions returns the partition ids of topic.
func Partitions(ctx context.Context, d *kafka.Dialer, brokers []string, topic string) ([]int, error) {
	if d == nil {
		d = kafka.DefaultDialer
	}
	var lastErr error
	for _, b := range brokers {
		conn, err := d.DialContext(ctx, "tcp", b)
		if err != nil {
			lastErr = err
			continue
		}
		ps, err := conn.ReadPartitions(topic)
		conn.Close()
		if err != nil {
			return nil, fmt.Errorf("reading partitions of %s: %w", topic, err)
		}
		out := make([]int, 0, len(ps))
		for _, p := range ps {
			out = append(out, p.ID)
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("topic %s has no partitions (does it exist?)", topic)
		}
		return out, nil
	}
	return nil, fmt.Errorf("connecting to brokers %v: %w", brokers, lastErr)
}

// CreateTopics creates topics with the given partitions and replication
// factor; a topic that already exists is left as it is and is not an error.
func CreateTopics(ctx context.Context, d *kafka.Dialer, brokers []string, partitions, replication int, topics ...string) error {
	if d == nil {
		d = kafka.DefaultDialer
	}
	conn, err := d.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", brokers[0], err)
	}
	defer conn.Close()
	ctrl, err := conn.Controller()
	if err != nil {
		return fmt.Errorf("finding the controller: %w", err)
	}
	cc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
	if err != nil {
		return fmt.Errorf("connecting to controller: %w", err)
	}
	defer cc.Close()
	var cfgs []kafka.TopicConfig
	for _, t := range topics {
		if t == "" {
			continue
		}
		cfgs = append(cfgs, kafka.TopicConfig{Topic: t, NumPartitions: partitions, ReplicationFactor: replication})
	}
	for _, tc := range cfgs {
		if err := cc.CreateTopics(tc); err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			return fmt.Errorf("creating topic %s: %w", tc.Topic, err)
		}
	}
	// Return once every partition has a leader, so the topics can be used
	// at once.
	for _, tc := range cfgs {
		for {
			ps, err := conn.ReadPartitions(tc.Topic)
			ready := err == nil && len(ps) > 0
			ids := make([]int, 0, len(ps))
			for _, p := range ps {
				if p.Leader.Host == "" {
					ready = false
				}
				ids = append(ids, p.ID)
			}
			// A leader in the metadata may not host the partition yet; the
			// leader answering ListOffsets for every partition does.
			if ready {
				_, err := EndOffsets(ctx, d, brokers, tc.Topic, ids)
				ready = err == nil
			}
			if ready {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for topic %s to get partition leaders: %w", tc.Topic, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}
