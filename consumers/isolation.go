package consumers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	fetchAPI "github.com/segmentio/kafka-go/protocol/fetch"
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
// must filter with (segmentio/kafka-go#1332). So this reader sends Fetch
// requests through kafka-go's Transport and filters as the Java client
// does. One goroutine prefetches; FetchMessage is for one goroutine.
type PartitionReader struct {
	cfg    PartitionReaderConfig
	client *kafka.Client
	out    chan fetched
	cancel context.CancelFunc
	done   chan struct{}

	cur  []kafka.Message
	next int64 // the offset after the last fetched response
	err  error
}

// fetched is one response's visible messages, or the error that ended
// fetching.
type fetched struct {
	msgs []kafka.Message
	next int64
	err  error
}

// NewPartitionReader starts reading.
func NewPartitionReader(cfg PartitionReaderConfig) *PartitionReader {
	if cfg.MinBytes <= 0 {
		cfg.MinBytes = 1
	}
	if cfg.MaxBytes <= 0 || cfg.MaxBytes > maxFetchBytes {
		cfg.MaxBytes = maxFetchBytes
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 500 * time.Millisecond
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 1
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	tr := &kafka.Transport{}
	if d := cfg.Dialer; d != nil {
		tr = &kafka.Transport{TLS: d.TLS, SASL: d.SASLMechanism, DialTimeout: d.Timeout}
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &PartitionReader{
		cfg:    cfg,
		client: &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: tr},
		out:    make(chan fetched, cfg.Queue),
		cancel: cancel,
		done:   make(chan struct{}),
		next:   -1,
	}
	go r.run(ctx, tr)
	return r
}

// FetchMessage returns the next visible record, blocking until one is
// fetched, fetching fails for good, or ctx is done.
func (r *PartitionReader) FetchMessage(ctx context.Context) (kafka.Message, error) {
	for len(r.cur) == 0 {
		if r.err != nil {
			return kafka.Message{}, r.err
		}
		select {
		case f := <-r.out:
			r.cur, r.err = f.msgs, f.err
			if f.err == nil {
				r.next = f.next
			}
		case <-ctx.Done():
			return kafka.Message{}, ctx.Err()
		}
	}
	m := r.cur[0]
	r.cur = r.cur[1:]
	return m, nil
}

// Offset returns the offset of the next record FetchMessage returns, or,
// once what was fetched is read, the offset the next fetch starts at
// (past transaction markers and aborted records). It is -1 before the
// first fetch.
func (r *PartitionReader) Offset() int64 {
	if len(r.cur) > 0 {
		return r.cur[0].Offset
	}
	return r.next
}

// Close stops fetching and waits for the fetching goroutine.
func (r *PartitionReader) Close() error {
	r.cancel()
	<-r.done
	r.client.Transport.(*kafka.Transport).CloseIdleConnections()
	return nil
}

func (r *PartitionReader) run(ctx context.Context, tr *kafka.Transport) {
	defer close(r.done)
	send := func(f fetched) bool {
		select {
		case r.out <- f:
			return true
		case <-ctx.Done():
			return false
		}
	}
	offset, err := r.resolve(ctx, r.cfg.Offset)
	if err != nil {
		send(fetched{err: err})
		return
	}
	level := int8(kafka.ReadUncommitted)
	if r.cfg.Isolation == ReadCommitted {
		level = int8(kafka.ReadCommitted)
	}
	failures := 0
	for ctx.Err() == nil {
		fctx, cancel := context.WithTimeout(ctx, r.cfg.MaxWait+10*time.Second)
		res, err := tr.RoundTrip(fctx, r.client.Addr, &fetchAPI.Request{
			ReplicaID: -1, MaxWaitTime: int32(r.cfg.MaxWait / time.Millisecond),
			MinBytes: int32(r.cfg.MinBytes), MaxBytes: int32(r.cfg.MaxBytes),
			IsolationLevel: level, SessionID: -1, SessionEpoch: -1,
			Topics: []fetchAPI.RequestTopic{{Topic: r.cfg.Topic, Partitions: []fetchAPI.RequestPartition{{
				Partition: int32(r.cfg.Partition), CurrentLeaderEpoch: -1, FetchOffset: offset,
				LogStartOffset: -1, PartitionMaxBytes: int32(r.cfg.MaxBytes),
			}}}},
		})
		cancel()
		var msgs []kafka.Message
		next := offset
		if err == nil {
			msgs, next, err = r.decode(res.(*fetchAPI.Response), offset)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			if errors.Is(err, kafka.OffsetOutOfRange) {
				// The records were deleted (retention): start again at the
				// earliest, as kafka-go's Reader does.
				r.cfg.Log.Warn("fetch offset out of range; reading from the earliest offset", "topic", r.cfg.Topic, "partition", r.cfg.Partition, "offset", offset)
				if o, rerr := r.resolve(ctx, kafka.FirstOffset); rerr == nil {
					offset = o
				}
			} else if failures%10 == 1 {
				r.cfg.Log.Warn("fetching (retrying)", "topic", r.cfg.Topic, "partition", r.cfg.Partition, "offset", offset, "err", err)
			}
			t := time.NewTimer(min(50*time.Millisecond<<min(failures-1, 6), 2*time.Second))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		failures = 0
		moved := next != offset
		offset = next
		if (len(msgs) > 0 || moved) && !send(fetched{msgs: msgs, next: next}) {
			return
		}
	}
}

// resolve turns kafka.FirstOffset and kafka.LastOffset into offsets.
func (r *PartitionReader) resolve(ctx context.Context, offset int64) (int64, error) {
	if offset >= 0 {
		return offset, nil
	}
	for attempt := 1; ; attempt++ {
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		res, err := r.client.ListOffsets(lctx, &kafka.ListOffsetsRequest{
			Topics: map[string][]kafka.OffsetRequest{r.cfg.Topic: {{Partition: r.cfg.Partition, Timestamp: offset}}},
		})
		cancel()
		if err == nil {
			for _, p := range res.Topics[r.cfg.Topic] {
				if p.Partition != r.cfg.Partition {
					continue
				}
				if p.Error != nil {
					err = p.Error
					break
				}
				if offset == kafka.FirstOffset {
					return p.FirstOffset, nil
				}
				return p.LastOffset, nil
			}
			if err == nil {
				err = fmt.Errorf("no offsets for %s/%d", r.cfg.Topic, r.cfg.Partition)
			}
		}
		if ctx.Err() != nil || attempt >= 20 {
			return 0, fmt.Errorf("listing offsets of %s/%d: %w", r.cfg.Topic, r.cfg.Partition, err)
		}
		t := time.NewTimer(200 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-t.C:
		}
	}
}

// decode returns the visible records of a fetch response at or after
// offset, and the offset to fetch next. Under read_committed, a batch of a
// transactional producer is dropped when an aborted transaction of that
// producer begins at or before it and its abort marker has not been passed
// (the Java client's algorithm).
func (r *PartitionReader) decode(res *fetchAPI.Response, offset int64) ([]kafka.Message, int64, error) {
	if res.ErrorCode != 0 {
		return nil, offset, kafka.Error(res.ErrorCode)
	}
	if len(res.Topics) == 0 || len(res.Topics[0].Partitions) == 0 {
		return nil, offset, errors.New("fetch response without the partition")
	}
	p := &res.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		return nil, offset, kafka.Error(p.ErrorCode)
	}
	aborted := slices.Clone(p.AbortedTransactions)
	slices.SortFunc(aborted, func(a, b fetchAPI.ResponseTransaction) int { return int(a.FirstOffset - b.FirstOffset) })
	abortedPIDs := map[int64]bool{}
	committed := r.cfg.Isolation == ReadCommitted
	next := offset
	var out []kafka.Message
	stream, ok := p.RecordSet.Records.(*protocol.RecordStream)
	var batches []protocol.RecordReader
	if ok {
		batches = stream.Records
	} else if p.RecordSet.Records != nil {
		batches = []protocol.RecordReader{p.RecordSet.Records}
	}
	for _, b := range batches {
		switch b := b.(type) {
		case *protocol.ControlBatch:
			rec, err := b.ReadControlRecord()
			if err != nil {
				return nil, offset, fmt.Errorf("reading a transaction marker: %w", err)
			}
			if rec.Type == 0 { // abort marker
				delete(abortedPIDs, b.ProducerID)
			}
			next = max(next, b.BaseOffset+1)
			continue
		case *protocol.RecordBatch:
			if committed && b.Attributes.Transactional() {
				for len(aborted) > 0 && aborted[0].FirstOffset <= b.BaseOffset {
					abortedPIDs[aborted[0].ProducerID] = true
					aborted = aborted[1:]
				}
				if abortedPIDs[b.ProducerID] {
					last, err := drain(b)
					if err != nil {
						return nil, offset, err
					}
					next = max(next, last+1)
					continue
				}
			}
		}
		for {
			rec, err := b.ReadRecord()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, offset, fmt.Errorf("reading records: %w", err)
			}
			next = max(next, rec.Offset+1)
			if rec.Offset < offset {
				closeRecord(rec)
				continue
			}
			m, err := message(r.cfg.Topic, r.cfg.Partition, rec)
			if err != nil {
				return nil, offset, err
			}
			out = append(out, m)
		}
	}
	return out, next, nil
}

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

// message copies a record into a kafka.Message.
func message(topic string, partition int, rec *protocol.Record) (kafka.Message, error) {
	defer closeRecord(rec)
	k, err := protocol.ReadAll(rec.Key)
	if err != nil {
		return kafka.Message{}, fmt.Errorf("reading a record key: %w", err)
	}
	v, err := protocol.ReadAll(rec.Value)
	if err != nil {
		return kafka.Message{}, fmt.Errorf("reading a record value: %w", err)
	}
	var hs []kafka.Header
	if len(rec.Headers) > 0 {
		hs = slices.Clone(rec.Headers)
	}
	return kafka.Message{Topic: topic, Partition: partition, Offset: rec.Offset, Key: k, Value: v, Headers: hs, Time: rec.Time}, nil
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
