package load

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

	"github.com/streamscore/streamscore/producers"
)

// backlogChunk is how many events one WriteMessages call of Backlog carries,
// and backlogWriters how many calls are in flight at once.
const (
	backlogChunk   = 4096
	backlogWriters = 3
)

// BacklogResult says what Backlog wrote.
type BacklogResult struct {
	Events  int64
	Bytes   int64
	Elapsed time.Duration
}

// Backlog writes n standard events to topic as fast as the broker takes
// them, keyed by user, acknowledged by all in-sync replicas. It blocks until
// all are acknowledged or ctx is done.
func Backlog(ctx context.Context, brokers []string, topic string, n int, ev *Events) (BacklogResult, error) {
	return backlog(ctx, brokers, topic, n, func(size int, now time.Time) []kafka.Message {
		return ev.Messages(topic, size, func(int) time.Time { return now })
	})
}

// BacklogOf writes n records to topic as Backlog does, cycling through pool
// (the same records again once pool is used up), for events whose encoding
// costs more than the broker's time to take them (Pool).
func BacklogOf(ctx context.Context, brokers []string, topic string, n int, pool []kafka.Message) (BacklogResult, error) {
	if len(pool) == 0 {
		return BacklogResult{}, errors.New("backlog: the pool of records is empty")
	}
	next := 0
	return backlog(ctx, brokers, topic, n, func(size int, _ time.Time) []kafka.Message {
		msgs := make([]kafka.Message, size)
		for i := range msgs {
			m := pool[next]
			msgs[i] = kafka.Message{Topic: topic, Key: m.Key, Value: m.Value}
			next = (next + 1) % len(pool)
		}
		return msgs
	})
}

// backlog writes n records that records(size, now) returns, in chunks.
func backlog(ctx context.Context, brokers []string, topic string, n int, records func(size int, now time.Time) []kafka.Message) (BacklogResult, error) {
	// kafka-go allocates BatchSize messages for every batch it opens, so a
	// batch size far above what one partition gets per call costs more in
	// zeroed memory than the records themselves.
	pc := producers.Config{Brokers: brokers, Topic: topic, Transport: newTransport(), BatchSize: backlogChunk}
	w := pc.NewKafkaWriter()
	defer w.Close()
	defer pc.Transport.CloseIdleConnections()
	start := time.Now()
	chunks := make(chan []kafka.Message, backlogWriters)
	var total atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(chunks)
		now := time.Now()
		for done := 0; done < n; {
			size := min(backlogChunk, n-done)
			msgs := records(size, now)
			for i := range msgs {
				total.Add(int64(len(msgs[i].Value)))
			}
			select {
			case chunks <- msgs:
			case <-gctx.Done():
				return gctx.Err()
			}
			done += size
		}
		return nil
	})
	for range backlogWriters {
		g.Go(func() error {
			for msgs := range chunks {
				if err := w.WriteMessages(gctx, msgs...); err != nil {
					return fmt.Errorf("writing the backlog to %s: %w", topic, err)
				}
			}
			return nil
		})
	}
	err := g.Wait()
	return BacklogResult{Events: int64(n), Bytes: total.Load(), Elapsed: time.Since(start)}, err
}

// newTransport returns a transport of its own for one writer: kafka-go's
// shared default transport caches the cluster's metadata for 6 s, so a
// writer on it refuses a topic created after that cache was filled.
func newTransport() *kafka.Transport {
	return &kafka.Transport{}
}

// RateResult says what a Rate run sent.
type RateResult struct {
	// Sent counts events handed to the writer, Failed those it could not
	// deliver.
	Sent, Failed int64
	Start        time.Time
	Elapsed      time.Duration
}

// tick is how often the open-loop producer wakes to send what is due.
const tick = time.Millisecond

// Rate writes standard events to topic at a fixed rate (events per second)
// for d, open loop: event i is due at start + i/rate whatever happened to
// the ones before it, and carries that due time as its send time, so a
// producer that falls behind shows up as latency rather than as a lower
// rate. Each leader broker has one produce request in flight at a time,
// for all its partitions, and what comes due meanwhile goes in its next
// one (see openLoop). Rate blocks
// until d has passed and every event is acknowledged or has failed, or ctx
// is done.
func Rate(ctx context.Context, brokers []string, topic string, rate float64, d time.Duration, ev *Events) (RateResult, error) {
	if rate <= 0 {
		return RateResult{}, errors.New("rate: must be positive")
	}
	w, err := newOpenLoop(ctx, brokers, topic)
	if err != nil {
		return RateResult{}, err
	}
	defer w.tr.CloseIdleConnections()
	res := RateResult{Start: time.Now()}
	t := time.NewTicker(tick)
	defer t.Stop()
	total := int64(rate * d.Seconds())
	interval := float64(time.Second) / rate
loop:
	for res.Sent < total {
		select {
		case <-ctx.Done():
			err = ctx.Err()
			break loop
		case <-t.C:
		}
		due := min(total, int64(float64(time.Since(res.Start))/interval)+1)
		if due <= res.Sent {
			continue
		}
		first := res.Sent
		msgs := ev.Messages(topic, int(due-first), func(i int) time.Time {
			return res.Start.Add(time.Duration(float64(first+int64(i)) * interval))
		})
		w.add(msgs)
		res.Sent += int64(len(msgs))
	}
	var werr error
	res.Failed, werr = w.close()
	res.Elapsed = time.Since(res.Start)
	if err == nil && werr != nil {
		err = fmt.Errorf("writing to %s: %d events failed: %w", topic, res.Failed, werr)
	}
	return res, err
}
