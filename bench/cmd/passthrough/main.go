// Command passthrough is the raw Kafka limit of the streamscore benchmark:
// it copies every record of the input topic to the output topic, same key,
// same bytes, doing no other work, with kafka-go configured as streamscore
// configures it: a consumer-group Reader with streamscore's fetch settings,
// batches closed at max-rows or max-wait, one WriteMessages per batch through
// a Writer with streamscore's producer settings (acks from all in-sync
// replicas), and offsets committed once the batch is written.
//
// It runs until SIGINT or SIGTERM.
//
//	passthrough --brokers 127.0.0.1:9092 --group g --input events --output copied
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

	"github.com/streamscore/streamscore/producers"
)

// Queue capacities, as in the engine: fetched messages waiting to be batched,
// and batches waiting to be written.
const (
	messageQueue = 4096
	inFlight     = 2
)

func main() {
	brokers := flag.String("brokers", os.Getenv("STREAMSCORE_BROKERS"), "Kafka brokers, comma-separated")
	group := flag.String("group", "passthrough", "consumer group")
	input := flag.String("input", "", "input topic")
	output := flag.String("output", "", "output topic")
	maxRows := flag.Int("max-rows", 1024, "records per batch at most")
	maxWait := flag.Duration("max-wait", 20*time.Millisecond, "longest a batch waits after its first record")
	flag.Parse()
	if *brokers == "" || *input == "" || *output == "" {
		fmt.Fprintln(os.Stderr, "passthrough: --brokers, --input and --output are required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, strings.Split(*brokers, ","), *group, *input, *output, *maxRows, *maxWait); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "passthrough:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, brokers []string, group, input, output string, maxRows int, maxWait time.Duration) error {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:         brokers,
		GroupID:         group,
		Topic:           input,
		StartOffset:     kafka.FirstOffset,
		MinBytes:        1,
		MaxBytes:        10 << 20,
		MaxWait:         time.Second,
		QueueCapacity:   1000,
		ReadLagInterval: -1,
		CommitInterval:  100 * time.Millisecond,
	})
	defer r.Close()
	pc := producers.Config{Brokers: brokers, Topic: output}
	w := pc.NewKafkaWriter()
	defer w.Close()

	g, ctx := errgroup.WithContext(ctx)
	msgs := make(chan kafka.Message, messageQueue)
	batches := make(chan []kafka.Message, inFlight)
	g.Go(func() error {
		defer close(msgs)
		for {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				return fmt.Errorf("fetching: %w", err)
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	})
	g.Go(func() error {
		defer close(batches)
		return batch(ctx, msgs, batches, maxRows, maxWait)
	})
	g.Go(func() error {
		for in := range batches {
			out := make([]kafka.Message, len(in))
			for i := range in {
				out[i] = kafka.Message{Topic: output, Key: in[i].Key, Value: in[i].Value}
			}
			if err := w.WriteMessages(ctx, out...); err != nil {
				return fmt.Errorf("writing: %w", err)
			}
			if err := r.CommitMessages(ctx, in...); err != nil {
				return fmt.Errorf("committing: %w", err)
			}
		}
		return nil
	})
	return g.Wait()
}

// batch closes a batch at maxRows records or maxWait after its first.
func batch(ctx context.Context, in <-chan kafka.Message, out chan<- []kafka.Message, maxRows int, maxWait time.Duration) error {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var cur []kafka.Message
	flush := func() error {
		if len(cur) == 0 {
			return nil
		}
		select {
		case out <- cur:
		case <-ctx.Done():
			return ctx.Err()
		}
		cur = nil
		return nil
	}
	for {
		select {
		case m, ok := <-in:
			if !ok {
				return flush()
			}
			if len(cur) == 0 {
				cur = make([]kafka.Message, 0, maxRows)
				timer.Reset(maxWait)
			}
			cur = append(cur, m)
			if len(cur) >= maxRows {
				timer.Stop()
				if err := flush(); err != nil {
					return err
				}
			}
		case <-timer.C:
			if err := flush(); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
