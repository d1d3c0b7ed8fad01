package consumers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	fetchAPI "github.com/segmentio/kafka-go/protocol/fetch"
)

// FetchMode is how a consumer group's partitions are fetched.
type FetchMode string

// Fetch modes.
const (
	// FetchPerBroker fetches all of a broker's assigned partitions in one
	// Fetch request at a time, as the Java client and librdkafka do. At
	// low rates this is one request where FetchPerPartition makes one per
	// partition, and the broker pays for every request.
	FetchPerBroker FetchMode = "per_broker"
	// FetchPerPartition reads each partition with its own reader and its
	// own Fetch requests: kafka-go's Reader, or a PartitionReader when an
	// isolation level is set.
	FetchPerPartition FetchMode = "per_partition"
)

// ParseFetchMode checks a consumer.fetch value; empty means FetchPerBroker.
func ParseFetchMode(s string) (FetchMode, error) {
	switch m := FetchMode(s); m {
	case "":
		return FetchPerBroker, nil
	case FetchPerBroker, FetchPerPartition:
		return m, nil
	}
	return "", fmt.Errorf("%q is not per_broker or per_partition", s)
}

// FetcherConfig configures a Fetcher.
type FetcherConfig struct {
	Brokers []string
	// Isolation is which records of transactions are visible. Empty reads
	// as ReadUncommitted does: every data record, no transaction markers.
	Isolation Isolation
	// MinBytes and MaxWait are the Fetch request's (zero: 1 B, 500 ms).
	// MaxBytes bounds each partition's share of a response, capped at
	// 1 MiB (zero: 1 MiB); a response holds at most 8 such shares.
	MinBytes int
	MaxBytes int
	MaxWait  time.Duration
	// Queue is how many fetched responses' records wait per partition,
	// besides those being read (zero: 2). A partition whose queue is full
	// is left out of the next request until it is read.
	Queue int
	// Dialer connects to the brokers (TLS, SASL); nil means plain TCP.
	Dialer *kafka.Dialer
	Log    *slog.Logger
}

// TopicPartition is a partition to fetch and its first offset: an offset,
// or kafka.FirstOffset or kafka.LastOffset.
type TopicPartition struct {
	Topic     string
	Partition int
	Offset    int64
}

// Fetcher reads a set of partitions with one Fetch request per leader
// broker at a time, each request carrying every partition of that leader
// whose queue has room. Each partition is read through its own
// FetchedPartition. Under ReadCommitted the records of aborted
// transactions are hidden as the Java client hides them; transaction
// markers are never shown. A leadership error or a failed request makes
// it look the leaders up again.
type Fetcher struct {
	cfg    FetcherConfig
	tr     *kafka.Transport
	client *kafka.Client
	parts  []*FetchedPartition
	index  map[tpKey]*FetchedPartition
	cancel context.CancelFunc
	done   chan struct{}
	// room is closed, and replaced, when a partition's queue is read
	// from: every fetch loop waiting for room wakes.
	roomMu sync.Mutex
	room   chan struct{}
}

type tpKey struct {
	topic     string
	partition int
}

// FetchedPartition is one partition of a Fetcher. FetchMessage is for one
// goroutine.
type FetchedPartition struct {
	f         *Fetcher
	topic     string
	partition int
	out       chan fetched

	// read side
	cur  []kafka.Message
	next int64
	err  error

	// fetch side, owned by the goroutine fetching the partition
	start  int64
	pos    int64
	failed bool
}

// fetched is one response's visible messages of a partition, or the error
// that ended fetching it.
type fetched struct {
	msgs []kafka.Message
	next int64
	err  error
}

// errRegroup ends a leader's fetch loop so that leaders are looked up again.
var errRegroup = errors.New("partition leadership changed")

// NewFetcher starts fetching parts.
func NewFetcher(cfg FetcherConfig, parts []TopicPartition) *Fetcher {
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
		cfg.Queue = 2
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Fetcher{
		cfg:    cfg,
		index:  make(map[tpKey]*FetchedPartition, len(parts)),
		cancel: cancel,
		done:   make(chan struct{}),
		room:   make(chan struct{}),
	}
	for _, tp := range parts {
		p := &FetchedPartition{f: f, topic: tp.Topic, partition: tp.Partition, out: make(chan fetched, cfg.Queue), next: -1, start: tp.Offset}
		f.parts = append(f.parts, p)
		f.index[tpKey{tp.Topic, tp.Partition}] = p
	}
	f.connect()
	go f.run(ctx)
	return f
}

// connect gives the Fetcher a transport of its own. kafka-go's Transport
// routes each request by its cached metadata (refreshed every 6 s) and
// answers Metadata requests from that cache, so after a leader moves only
// a new transport sees the move at once.
func (f *Fetcher) connect() {
	if f.tr != nil {
		f.tr.CloseIdleConnections()
	}
	f.tr = newTransport(f.cfg.Dialer)
	f.client = &kafka.Client{Addr: kafka.TCP(f.cfg.Brokers...), Transport: f.tr}
}

// Partition returns the reader of topic's partition, nil when it is not
// one of the Fetcher's.
func (f *Fetcher) Partition(topic string, partition int) *FetchedPartition {
	return f.index[tpKey{topic, partition}]
}

// Close stops fetching and waits for it to stop.
func (f *Fetcher) Close() error {
	f.cancel()
	<-f.done
	f.tr.CloseIdleConnections()
	return nil
}

// FetchMessage returns the next visible record, blocking until one is
// fetched, fetching the partition fails for good, or ctx is done.
func (p *FetchedPartition) FetchMessage(ctx context.Context) (kafka.Message, error) {
	for len(p.cur) == 0 {
		if p.err != nil {
			return kafka.Message{}, p.err
		}
		select {
		case f := <-p.out:
			p.f.roomMade()
			p.cur, p.err = f.msgs, f.err
			if f.err == nil {
				p.next = f.next
			}
		case <-ctx.Done():
			return kafka.Message{}, ctx.Err()
		}
	}
	m := p.cur[0]
	p.cur[0] = kafka.Message{}
	p.cur = p.cur[1:]
	return m, nil
}

// roomMade wakes every fetch loop waiting for room in a queue.
func (f *Fetcher) roomMade() {
	f.roomMu.Lock()
	close(f.room)
	f.room = make(chan struct{})
	f.roomMu.Unlock()
}

// roomSignal returns the channel roomMade closes next.
func (f *Fetcher) roomSignal() <-chan struct{} {
	f.roomMu.Lock()
	defer f.roomMu.Unlock()
	return f.room
}

// Offset returns the offset of the next record FetchMessage returns, or,
// once what was fetched is read, the offset the next fetch starts at
// (past transaction markers and aborted records). It is -1 before the
// first fetch.
func (p *FetchedPartition) Offset() int64 {
	if len(p.cur) > 0 {
		return p.cur[0].Offset
	}
	return p.next
}

// Close does nothing: the Fetcher's Close stops fetching.
func (p *FetchedPartition) Close() error { return nil }

func (f *Fetcher) run(ctx context.Context) {
	defer close(f.done)
	if err := f.resolveStarts(ctx); err != nil {
		for _, p := range f.parts {
			if p.pos < 0 {
				f.fail(p, err)
			}
		}
	}
	failures := 0
	for regroup := false; ctx.Err() == nil; {
		if regroup {
			f.connect()
		}
		regroup = true
		groups, err := f.leaders(ctx)
		if err != nil {
			failures++
			if failures%10 == 1 {
				f.cfg.Log.Warn("looking up partition leaders (retrying)", "err", err)
			}
			if !sleep(ctx, backoff(failures)) {
				return
			}
			continue
		}
		if len(groups) == 0 {
			<-ctx.Done()
			return
		}
		failures = 0
		gctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, ps := range groups {
			wg.Go(func() {
				if f.fetchLoop(gctx, ps) == errRegroup {
					cancel()
				}
			})
		}
		wg.Wait()
		cancel()
	}
}

// resolveStarts sets each partition's fetch position, turning
// kafka.FirstOffset and kafka.LastOffset into offsets.
func (f *Fetcher) resolveStarts(ctx context.Context) error {
	var todo []*FetchedPartition
	for _, p := range f.parts {
		p.pos = p.start
		if p.start < 0 {
			todo = append(todo, p)
		}
	}
	return f.resolve(ctx, todo, func(p *FetchedPartition) int64 { return p.start })
}

// resolve lists the offsets that which(p) names (kafka.FirstOffset or
// kafka.LastOffset) for ps, in one request, and sets their positions;
// it tries 20 times, 200 ms apart, before it gives up.
func (f *Fetcher) resolve(ctx context.Context, ps []*FetchedPartition, which func(*FetchedPartition) int64) error {
	if len(ps) == 0 {
		return nil
	}
	for attempt := 1; ; attempt++ {
		req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
		for _, p := range ps {
			req.Topics[p.topic] = append(req.Topics[p.topic], kafka.OffsetRequest{Partition: p.partition, Timestamp: which(p)})
		}
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		res, err := f.client.ListOffsets(lctx, req)
		cancel()
		if err == nil {
			got := map[tpKey]kafka.PartitionOffsets{}
			for topic, offs := range res.Topics {
				for _, o := range offs {
					got[tpKey{topic, o.Partition}] = o
				}
			}
			for _, p := range ps {
				o, ok := got[tpKey{p.topic, p.partition}]
				switch {
				case !ok:
					err = fmt.Errorf("no offsets for %s/%d", p.topic, p.partition)
				case o.Error != nil:
					err = fmt.Errorf("%s/%d: %w", p.topic, p.partition, o.Error)
				}
				if err != nil {
					break
				}
			}
			if err == nil {
				for _, p := range ps {
					o := got[tpKey{p.topic, p.partition}]
					p.pos = o.LastOffset
					if which(p) == kafka.FirstOffset {
						p.pos = o.FirstOffset
					}
				}
				return nil
			}
		}
		if ctx.Err() != nil || attempt >= 20 {
			return fmt.Errorf("listing offsets: %w", err)
		}
		if !sleep(ctx, 200*time.Millisecond) {
			return ctx.Err()
		}
	}
}

// fail ends p's fetching with err, which its reader returns. It is
// called before p's first fetch, so its queue has room.
func (f *Fetcher) fail(p *FetchedPartition, err error) {
	p.failed = true
	p.out <- fetched{err: err}
}

// leaders groups the partitions still fetched by their leader broker.
// With one partition there is nothing to group, and no request is sent.
func (f *Fetcher) leaders(ctx context.Context) ([][]*FetchedPartition, error) {
	var live []*FetchedPartition
	topics := map[string]bool{}
	for _, p := range f.parts {
		if !p.failed {
			live = append(live, p)
			topics[p.topic] = true
		}
	}
	if len(live) <= 1 {
		if len(live) == 0 {
			return nil, nil
		}
		return [][]*FetchedPartition{live}, nil
	}
	mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := f.client.Metadata(mctx, &kafka.MetadataRequest{Topics: slices.Collect(maps.Keys(topics))})
	if err != nil {
		return nil, err
	}
	leader := map[tpKey]int{}
	for _, t := range res.Topics {
		if t.Error != nil {
			return nil, fmt.Errorf("topic %s: %w", t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			leader[tpKey{t.Name, p.ID}] = p.Leader.ID
		}
	}
	byLeader := map[int][]*FetchedPartition{}
	var order []int
	for _, p := range live {
		id, ok := leader[tpKey{p.topic, p.partition}]
		if !ok {
			return nil, fmt.Errorf("no leader for %s/%d", p.topic, p.partition)
		}
		if _, seen := byLeader[id]; !seen {
			order = append(order, id)
		}
		byLeader[id] = append(byLeader[id], p)
	}
	groups := make([][]*FetchedPartition, 0, len(order))
	for _, id := range order {
		groups = append(groups, byLeader[id])
	}
	return groups, nil
}

// leadership reports whether a partition error means its leader moved.
func leadership(code int16) bool {
	switch kafka.Error(code) {
	case kafka.UnknownTopicOrPartition, kafka.LeaderNotAvailable, kafka.NotLeaderForPartition,
		kafka.FencedLeaderEpoch, kafka.UnknownLeaderEpoch, kafka.ReplicaNotAvailable:
		return true
	}
	return false
}

// fetchLoop fetches ps, which share a leader, until ctx is done or a
// leadership error or failed request calls for the leaders again.
func (f *Fetcher) fetchLoop(ctx context.Context, ps []*FetchedPartition) error {
	level := int8(kafka.ReadUncommitted)
	if f.cfg.Isolation == ReadCommitted {
		level = int8(kafka.ReadCommitted)
	}
	failures := 0
	var s slab
	for ctx.Err() == nil {
		// Taken before the queues are looked at, so that room made after
		// the look is not missed.
		room := f.roomSignal()
		byTopic := map[string][]fetchAPI.RequestPartition{}
		held := false
		for _, p := range ps {
			if p.failed {
				continue
			}
			if len(p.out) == cap(p.out) {
				held = true
				continue
			}
			byTopic[p.topic] = append(byTopic[p.topic], fetchAPI.RequestPartition{
				Partition: int32(p.partition), CurrentLeaderEpoch: -1, FetchOffset: p.pos,
				LogStartOffset: -1, PartitionMaxBytes: int32(f.cfg.MaxBytes),
			})
		}
		if len(byTopic) == 0 {
			if !held {
				<-ctx.Done()
				return nil
			}
			select {
			case <-room:
			case <-ctx.Done():
				return nil
			}
			continue
		}
		topics := make([]fetchAPI.RequestTopic, 0, len(byTopic))
		n := 0
		for t, rp := range byTopic {
			topics = append(topics, fetchAPI.RequestTopic{Topic: t, Partitions: rp})
			n += len(rp)
		}
		wait := f.cfg.MaxWait
		if held {
			// A partition left out for a full queue joins the next
			// request only: do not let idle partitions hold it back.
			wait = min(wait, 10*time.Millisecond)
		}
		fctx, cancel := context.WithTimeout(ctx, wait+10*time.Second)
		res, err := f.tr.RoundTrip(fctx, f.client.Addr, &fetchAPI.Request{
			ReplicaID: -1, MaxWaitTime: int32(wait / time.Millisecond),
			MinBytes: int32(f.cfg.MinBytes), MaxBytes: int32(f.cfg.MaxBytes * min(n, 8)),
			IsolationLevel: level, SessionID: -1, SessionEpoch: -1, Topics: topics,
		})
		cancel()
		if err == nil {
			if r := res.(*fetchAPI.Response); r.ErrorCode != 0 {
				err = kafka.Error(r.ErrorCode)
			} else {
				err = f.deliver(ctx, r, &s)
			}
		}
		if err == nil {
			failures = 0
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		failures++
		if failures%10 == 1 && err != errRegroup {
			f.cfg.Log.Warn("fetching (retrying)", "partitions", len(ps), "err", err)
		}
		if !sleep(ctx, backoff(failures)) {
			return nil
		}
		if err == errRegroup || len(ps) > 1 {
			return errRegroup
		}
	}
	return nil
}

// deliver queues each partition's visible records. It returns errRegroup
// after a leadership error, another partition error after handling the
// rest, nil when all went well.
func (f *Fetcher) deliver(ctx context.Context, res *fetchAPI.Response, s *slab) error {
	var perr error
	for ti := range res.Topics {
		t := &res.Topics[ti]
		for pi := range t.Partitions {
			rp := &t.Partitions[pi]
			p := f.index[tpKey{t.Topic, int(rp.Partition)}]
			if p == nil {
				continue
			}
			if rp.ErrorCode != 0 {
				switch err := kafka.Error(rp.ErrorCode); {
				case err == kafka.OffsetOutOfRange:
					// The records were deleted (retention): start again at
					// the earliest, as kafka-go's Reader does.
					f.cfg.Log.Warn("fetch offset out of range; reading from the earliest offset", "topic", p.topic, "partition", p.partition, "offset", p.pos)
					if rerr := f.resolve(ctx, []*FetchedPartition{p}, func(*FetchedPartition) int64 { return kafka.FirstOffset }); rerr != nil {
						perr = rerr
					}
				case leadership(rp.ErrorCode):
					perr = errRegroup
				default:
					if perr == nil {
						perr = fmt.Errorf("%s/%d: %w", p.topic, p.partition, err)
					}
				}
				continue
			}
			msgs, next, err := visible(rp, p.topic, p.partition, f.cfg.Isolation == ReadCommitted, p.pos, s)
			if err != nil {
				if perr == nil {
					perr = fmt.Errorf("%s/%d: %w", p.topic, p.partition, err)
				}
				continue
			}
			moved := next != p.pos
			p.pos = next
			if len(msgs) > 0 || moved {
				// Only this loop sends to p.out, and p was in the request
				// because its queue had room.
				p.out <- fetched{msgs: msgs, next: next}
			}
		}
	}
	return perr
}

// visible returns a fetched partition's visible records at or after
// offset, and the offset to fetch next. Under read_committed (committed),
// a batch of a transactional producer is dropped when an aborted
// transaction of that producer begins at or before it and its abort
// marker has not been passed (the Java client's algorithm).
func visible(p *fetchAPI.ResponsePartition, topic string, partition int, committed bool, offset int64, s *slab) ([]kafka.Message, int64, error) {
	aborted := slices.Clone(p.AbortedTransactions)
	slices.SortFunc(aborted, func(a, b fetchAPI.ResponseTransaction) int { return int(a.FirstOffset - b.FirstOffset) })
	abortedPIDs := map[int64]bool{}
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
			m, err := s.message(topic, partition, rec)
			if err != nil {
				return nil, offset, err
			}
			out = append(out, m)
		}
	}
	return out, next, nil
}

// slabChunk is the size of the chunks a slab carves keys and values from.
const slabChunk = 64 << 10

// slab copies records' keys and values into shared chunks, one allocation
// per chunk instead of two per record. A chunk is kept alive by any of its
// slices; each slice's capacity ends at its length, so an append to one
// never writes into the next.
type slab struct{ buf []byte }

func (s *slab) read(b protocol.Bytes) ([]byte, error) {
	if b == nil {
		return nil, nil
	}
	n := b.Len()
	if n > slabChunk/4 {
		return protocol.ReadAll(b)
	}
	if cap(s.buf)-len(s.buf) < n || s.buf == nil {
		s.buf = make([]byte, 0, slabChunk)
	}
	at := len(s.buf)
	s.buf = s.buf[:at+n]
	out := s.buf[at : at+n : at+n]
	if _, err := io.ReadFull(b, out); err != nil {
		return nil, err
	}
	return out, nil
}

// message copies a record into a kafka.Message.
func (s *slab) message(topic string, partition int, rec *protocol.Record) (kafka.Message, error) {
	defer closeRecord(rec)
	k, err := s.read(rec.Key)
	if err != nil {
		return kafka.Message{}, fmt.Errorf("reading a record key: %w", err)
	}
	v, err := s.read(rec.Value)
	if err != nil {
		return kafka.Message{}, fmt.Errorf("reading a record value: %w", err)
	}
	var hs []kafka.Header
	if len(rec.Headers) > 0 {
		hs = slices.Clone(rec.Headers)
	}
	return kafka.Message{Topic: topic, Partition: partition, Offset: rec.Offset, Key: k, Value: v, Headers: hs, Time: rec.Time}, nil
}

// sleep waits d or until ctx is done, reporting whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// backoff is the wait after the n-th failure in a row: 50 ms doubling to 2 s.
func backoff(n int) time.Duration {
	return min(50*time.Millisecond<<min(max(n, 1)-1, 6), 2*time.Second)
}
