//go:build integration

package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/consumers"
)

// readPartitions reads every partition of topic from its first offset,
// each in a goroutine of its own, at isolation iso (empty: uncommitted
// too), fetching with maxWait, and calls fn with each record; fn must be
// safe for concurrent use. A reader stops when ctx is done, or with idle
// above zero at the first fetch that waited that long (everything is
// written: an idle reader is at the end) or failed; without idle, a failed
// fetch is tried again after 100 ms. It returns a function that waits for
// every reader to stop.
func readPartitions(ctx context.Context, t *testing.T, brokers []string, topic string, iso consumers.Isolation, maxWait, idle time.Duration, fn func(kafka.Message)) (wait func()) {
	t.Helper()
	parts, err := consumers.Partitions(ctx, nil, brokers, topic)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Go(func() {
			r, err := consumers.OpenPartition(consumers.PartitionReaderConfig{Brokers: brokers, Topic: topic, Partition: p, Offset: kafka.FirstOffset, MaxWait: maxWait, Isolation: iso})
			if err != nil {
				t.Error(err)
				return
			}
			defer r.Close()
			for {
				fctx, cancel := ctx, context.CancelFunc(func() {})
				if idle > 0 {
					fctx, cancel = context.WithTimeout(ctx, idle)
				}
				m, err := r.FetchMessage(fctx)
				cancel()
				switch {
				case err == nil:
					fn(m)
				case ctx.Err() != nil || idle > 0:
					return
				default:
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
	return wg.Wait
}
