package consumers

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// Isolation is which records of transactions a reader sees.
type Isolation string

// Isolation levels. The zero value reads with kafka-go's Reader, as
// before isolation levels existed: it shows the commit and abort markers
// of transactions as empty records and does not hide aborted records.
const (
	// ReadUncommitted shows every data record, those of aborted and open
	// transactions included, and hides transaction markers.
	ReadUncommitted Isolation = "read_uncommitted"
	// ReadCommitted shows records of committed transactions and
	// non-transactional records only, up to the last stable offset, and
	// hides transaction markers.
	ReadCommitted Isolation = "read_committed"
)

// ParseIsolation checks a --isolation flag or isolation key; empty is
// the zero value.
func ParseIsolation(s string) (Isolation, error) {
	switch i := Isolation(s); i {
	case "", ReadUncommitted, ReadCommitted:
		return i, nil
	}
	return "", fmt.Errorf("%q is not read_committed or read_uncommitted", s)
}

// PartitionReaderConfig configures a PartitionReader.
type PartitionReaderConfig struct {
	Brokers   []string
	Topic     string
	Partition int
	// Offset is the first offset to read, or kafka.FirstOffset or
	// kafka.LastOffset.
	Offset    int64
	Isolation Isolation
	// MinBytes, MaxBytes and MaxWait tune fetches as kafka-go's
	// ReaderConfig's do. Zero means 1 B, 1 MiB and 500 ms. MaxBytes is
	// capped at 1 MiB: a fetched response is held whole, decoded, while it
	// is read (kafka-go's Reader streams it instead), and with 10 MB
	// responses on 8 partitions a replica's memory tripled.
	MinBytes int
	MaxBytes int
	MaxWait  time.Duration
	// Queue is how many fetched responses wait to be read, besides the one
	// being read. Zero means 1: each may hold MaxBytes.
	Queue int
	// Dialer connects to the brokers (TLS, SASL); nil means plain TCP.
	Dialer *kafka.Dialer
	Log    *slog.Logger
}

// maxFetchBytes caps PartitionReaderConfig.MaxBytes.
const maxFetchBytes = 1 << 20

// PartitionReader reads one partition with an isolation level, hiding
// transaction markers and, under ReadCommitted, the records of aborted
// transactions. kafka-go v0.4.51's Reader does neither: it hands out
// control records as messages and, although it asks the broker for
// read_committed (which bounds the fetch at the last stable offset), it
// drops the fetch response's list of aborted transactions that a client
// must filter with (segmentio/kafka-go#1332). So this reader is a Fetcher
// of one partition, which sends Fetch requests through kafka-go's
// Transport and filters as the Java client does. One goroutine
// prefetches; FetchMessage is for one goroutine.
type PartitionReader struct {
	*FetchedPartition
	f *Fetcher
}

// NewPartitionReader starts reading.
func NewPartitionReader(cfg PartitionReaderConfig) *PartitionReader {
	f := NewFetcher(FetcherConfig{
		Brokers: cfg.Brokers, Isolation: cfg.Isolation, MinBytes: cfg.MinBytes, MaxBytes: cfg.MaxBytes,
		MaxWait: cfg.MaxWait, Queue: max(cfg.Queue, 1), Dialer: cfg.Dialer, Log: cfg.Log,
	}, []TopicPartition{{Topic: cfg.Topic, Partition: cfg.Partition, Offset: cfg.Offset}})
	return &PartitionReader{FetchedPartition: f.Partition(cfg.Topic, cfg.Partition), f: f}
}

// Close stops fetching and waits for the fetching goroutine.
func (r *PartitionReader) Close() error { return r.f.Close() }

// drain reads a dropped batch to its end and returns its last offset.
func drain(b protocol.RecordReader) (int64, error) {
	last := int64(-1)
	for {
		rec, err := b.ReadRecord()
		if err == io.EOF {
			return last, nil
		}
		if err != nil {
			return last, fmt.Errorf("reading records: %w", err)
		}
		last = rec.Offset
		closeRecord(rec)
	}
}

func closeRecord(rec *protocol.Record) {
	if rec.Key != nil {
		rec.Key.Close()
	}
	if rec.Value != nil {
		rec.Value.Close()
	}
}

// PositionedReader reads one partition: kafka-go's Reader or a
// PartitionReader.
type PositionedReader interface {
	// FetchMessage returns the next record, blocking until there is one.
	FetchMessage(ctx context.Context) (kafka.Message, error)
	// Offset returns the offset of the next record to read.
	Offset() int64
	Close() error
}

// OpenPartition returns a reader of cfg's partition from cfg.Offset:
// kafka-go's Reader when cfg.Isolation is empty (as before isolation
// levels existed), a PartitionReader otherwise.
func OpenPartition(cfg PartitionReaderConfig) (PositionedReader, error) {
	if cfg.Isolation != "" {
		return NewPartitionReader(cfg), nil
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: cfg.Brokers, Dialer: cfg.Dialer, Topic: cfg.Topic, Partition: cfg.Partition,
		MinBytes: max(cfg.MinBytes, 1), MaxBytes: cmp.Or(cfg.MaxBytes, 10<<20), MaxWait: cmp.Or(cfg.MaxWait, 500*time.Millisecond),
		ReadLagInterval: -1,
	})
	if err := r.SetOffset(cfg.Offset); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}
