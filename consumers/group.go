package consumers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/schemas"
)

// Config configures a Group. Names follow kafka-go's where they are its
// settings.
type Config struct {
	// Brokers are the bootstrap brokers, host:port.
	Brokers []string
	// GroupID is the consumer group; replicas sharing it split the partitions.
	GroupID string
	// Topic is the input topic.
	Topic string
	// StartOffset is where a partition with no committed offset starts:
	// kafka.FirstOffset (the zero value means FirstOffset) or kafka.LastOffset.
	StartOffset int64
	// MinBytes, MaxBytes and MaxWait tune fetches (kafka-go ReaderConfig).
	// Zero means 1 B, 10 MB and 1 s. Fetching per broker, MaxBytes is each
	// partition's share of a response, capped at 1 MiB (see FetcherConfig).
	// MaxWait only delays fetches from idle partitions; fetching per
	// partition, kafka-go also uses it as the socket deadline of a fetch,
	// so below a few hundred milliseconds a busy broker's answers time out
	// and the reader reconnects.
	MinBytes int
	MaxBytes int
	MaxWait  time.Duration
	// QueueCapacity is how many fetched messages each partition reader
	// buffers when fetching per partition (kafka-go ReaderConfig). Zero
	// means 1000. Fetching per broker, two responses queue per partition.
	QueueCapacity int
	// SessionTimeout, RebalanceTimeout and HeartbeatInterval tune group
	// membership (kafka-go ConsumerGroupConfig). Zero means kafka-go's defaults
	// (30 s, 30 s, 3 s).
	SessionTimeout    time.Duration
	RebalanceTimeout  time.Duration
	HeartbeatInterval time.Duration
	// CommitInterval is the least time between two offset commits; acks in
	// between are coalesced. Zero means 100 ms.
	CommitInterval time.Duration
	// RevokeTimeout bounds how long a rebalance waits for in-flight messages
	// of revoked partitions to be acknowledged before committing what is done
	// and letting them go (the rest is scored again by the new owner). Zero
	// means 10 s. It must stay under RebalanceTimeout.
	RevokeTimeout time.Duration
	// JoinGroupBackoff is how long kafka-go waits before joining again after
	// a failed join (the coordinator unreachable during a broker restart).
	// Zero means 500 ms, not kafka-go's 5 s, which alone delayed recovery
	// after a restart by up to 5 s.
	JoinGroupBackoff time.Duration
	// Dialer connects to the brokers (TLS, SASL). Nil means kafka-go's default.
	Dialer *kafka.Dialer
	// Isolation is how the input is read: read_committed or
	// read_uncommitted. Fetching per broker, empty reads as
	// read_uncommitted; fetching per partition, empty means kafka-go's
	// Reader (which shows transaction markers as records and cannot hide
	// aborted records) and a level means a PartitionReader.
	Isolation Isolation
	// Fetch is how partitions are fetched: FetchPerBroker (the default,
	// one Fetch request per broker for all of its assigned partitions) or
	// FetchPerPartition (a reader and its own requests per partition).
	Fetch FetchMode
	// Transactional means the sink commits the consumed offsets in its
	// transactions (exactly-once delivery): the group never commits, and
	// Rewind fetches again from the committed offsets after an aborted
	// transaction.
	Transactional bool
	// Settle, with Transactional, is called at the start of every
	// assignment and before every rewind; it must return once no
	// transaction of the sink is open or in doubt (producers.Txn.Settle).
	// The group then reads the committed offsets itself.
	Settle func(ctx context.Context) error
}

// WithDefaults returns c with its zero fields replaced by the defaults.
func (c Config) WithDefaults() Config {
	o := c
	if o.StartOffset == 0 {
		o.StartOffset = kafka.FirstOffset
	}
	if o.MinBytes == 0 {
		o.MinBytes = 1
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = 10 << 20
	}
	if o.MaxWait == 0 {
		o.MaxWait = time.Second
	}
	if o.QueueCapacity == 0 {
		o.QueueCapacity = 1000
	}
	if o.CommitInterval == 0 {
		o.CommitInterval = 100 * time.Millisecond
	}
	if o.RevokeTimeout == 0 {
		o.RevokeTimeout = 10 * time.Second
	}
	if o.JoinGroupBackoff == 0 {
		o.JoinGroupBackoff = 500 * time.Millisecond
	}
	if o.Fetch == "" {
		o.Fetch = FetchPerBroker
	}
	return o
}

// Validate reports the first configuration problem.
func (c *Config) Validate() error {
	switch {
	case len(c.Brokers) == 0:
		return errors.New("brokers: at least one broker address is required")
	case c.GroupID == "":
		return errors.New("group: a consumer group id is required")
	case c.Topic == "":
		return errors.New("topics.input: the input topic is required")
	case c.StartOffset != 0 && c.StartOffset != kafka.FirstOffset && c.StartOffset != kafka.LastOffset:
		return errors.New("consumer.start_offset: must be earliest or latest")
	case c.MinBytes < 0 || c.MaxBytes < 0 || c.QueueCapacity < 0:
		return errors.New("consumer: min_bytes, max_bytes and queue_capacity must not be negative")
	case c.MaxBytes != 0 && c.MinBytes > c.MaxBytes:
		return errors.New("consumer.min_bytes: must not exceed consumer.max_bytes")
	}
	if _, err := ParseIsolation(string(c.Isolation)); err != nil {
		return fmt.Errorf("consumer.isolation: %w", err)
	}
	if _, err := ParseFetchMode(string(c.Fetch)); err != nil {
		return fmt.Errorf("consumer.fetch: %w", err)
	}
	return nil
}

// Group is a Kafka consumer-group source. Run it once; Ack and StopFetching
// are safe to call from any goroutine while it runs.
type Group struct {
	cfg Config
	log *slog.Logger
	m   *metrics

	stop     chan struct{}
	stopOnce sync.Once
	kick     chan struct{}

	mu    sync.Mutex
	wm    *Watermark
	owned map[int]bool // partitions of the current assignment
	// carry holds, per partition, the offset up to which the last
	// assignment's messages were all acknowledged (their results are
	// durable) but not committed, because the generation ended first (a
	// broker restart). The next assignment of the partition starts there
	// and commits it, instead of scoring those messages again.
	carry   map[int]int64
	epoch   uint64
	stopped bool
	senders sync.WaitGroup

	ready atomic.Bool

	// member is the current generation's membership (nil between
	// assignments); rewind carries the epochs to fetch again, aborted the
	// highest epoch abandoned after an aborted transaction.
	member  atomic.Pointer[Membership]
	rewind  chan uint64
	aborted atomic.Uint64
}

// Membership is this member's place in the consumer group: what a
// transactional sink commits offsets under (KIP-447).
type Membership struct {
	// GenerationID and MemberID identify the group generation.
	GenerationID int
	MemberID     string
	// Epoch is the assignment epoch of the messages fetched now
	// (schemas.Message.Epoch).
	Epoch uint64
}

// Membership returns the current membership, false between assignments.
func (g *Group) Membership() (Membership, bool) {
	m := g.member.Load()
	if m == nil {
		return Membership{}, false
	}
	return *m, true
}

// Rewind restarts fetching of assignment epoch from the offsets after the
// last acknowledged messages, in a new epoch (see pipeline.Rewinder). It
// does nothing when epoch is not the current one. It does not block.
func (g *Group) Rewind(epoch uint64) {
	for {
		cur := g.aborted.Load()
		if epoch <= cur {
			return
		}
		if g.aborted.CompareAndSwap(cur, epoch) {
			break
		}
	}
	select {
	case g.rewind <- epoch:
	default:
	}
}

// New returns a Group for cfg; reg may be nil.
func New(cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Group, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Group{
		cfg:    cfg.WithDefaults(),
		log:    log.With("component", "consumer", "group", cfg.GroupID, "topic", cfg.Topic),
		m:      newMetrics(reg),
		stop:   make(chan struct{}),
		kick:   make(chan struct{}, 1),
		rewind: make(chan uint64, 1),
	}, nil
}

// Ready reports whether the group holds a current assignment.
func (g *Group) Ready() bool { return g.ready.Load() }

// Assignment returns the partitions of the input topic assigned to this
// member, or nil before the first assignment. The map must not be modified.
func (g *Group) Assignment() map[int]bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.owned
}

// StopFetching asks Run to fetch no more, close its output channel, wait
// for everything it handed out to be acknowledged, commit, and return. It
// does not block and may be called more than once.
func (g *Group) StopFetching() {
	g.stopOnce.Do(func() { close(g.stop) })
}

// Ack records spans as done. Offsets are committed up to the contiguous
// watermark of the current assignment; spans from a revoked assignment are
// ignored. It does not block on the network.
func (g *Group) Ack(spans []schemas.Span) {
	g.mu.Lock()
	wm := g.wm
	g.mu.Unlock()
	if wm == nil {
		return
	}
	if wm.Ack(spans) {
		select {
		case g.kick <- struct{}{}:
		default:
		}
	}
}

// Run joins the group and sends every fetched message to out, blocking when
// out is full. It returns after StopFetching once all sent messages are
// acknowledged and committed, or when ctx is done (a hard stop: it commits
// what is acknowledged and abandons the rest, which the group will deliver
// again). It closes out before returning.
func (g *Group) Run(ctx context.Context, out chan<- schemas.Message) error {
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		select {
		case <-g.stop:
		case <-ctx.Done():
		}
		g.mu.Lock()
		g.stopped = true
		g.mu.Unlock()
		g.senders.Wait()
		close(out)
	}()
	defer func() {
		g.StopFetching()
		<-closed
	}()

	cfg := g.cfg
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                cfg.GroupID,
		Brokers:           cfg.Brokers,
		Dialer:            cfg.Dialer,
		Topics:            []string{cfg.Topic},
		StartOffset:       cfg.StartOffset,
		SessionTimeout:    cfg.SessionTimeout,
		RebalanceTimeout:  cfg.RebalanceTimeout,
		HeartbeatInterval: cfg.HeartbeatInterval,
		JoinGroupBackoff:  cfg.JoinGroupBackoff,
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			g.log.Warn(fmt.Sprintf(msg, args...))
		}),
	})
	if err != nil {
		return fmt.Errorf("creating consumer group: %w", err)
	}
	defer func() {
		if err := cg.Close(); err != nil {
			g.log.Warn("leaving consumer group", "err", err)
		}
	}()

	nextCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-g.stop:
			cancel()
		case <-nextCtx.Done():
		}
	}()
	var (
		lastMember string             // the member id of the last generation
		evicting   context.CancelFunc // stops the eviction of a stale member id
		evictions  sync.WaitGroup
	)
	defer func() {
		if evicting != nil {
			evicting()
		}
		evictions.Wait()
	}()
	for {
		gen, err := cg.Next(nextCtx)
		if err != nil {
			if nextCtx.Err() != nil {
				return nil
			}
			g.ready.Store(false)
			g.log.Warn("waiting for a consumer group assignment", "err", err)
			// kafka-go drops its member id after any join error other than
			// RebalanceInProgress and joins again as a new member; the
			// coordinator then waits for the old id (rebalance or session
			// timeout, 30 s by default) before it completes the join. So
			// remove the old id ourselves as soon as the coordinator answers.
			if lastMember != "" && !errors.Is(err, kafka.RebalanceInProgress) {
				ectx, cancel := context.WithCancel(nextCtx)
				evicting = cancel
				member := lastMember
				evictions.Go(func() { g.evict(ectx, member) })
				lastMember = ""
			}
			continue
		}
		if evicting != nil {
			evicting()
			evicting = nil
		}
		lastMember = gen.MemberID
		g.runGeneration(ctx, gen, out)
		if g.isStopping() || ctx.Err() != nil {
			return nil
		}
	}
}

// evict removes member from the group, retrying every 200 ms until the
// coordinator answers or ctx is done (a new generation began).
func (g *Group) evict(ctx context.Context, member string) {
	client, done := g.client(5 * time.Second)
	defer done()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		res, err := client.LeaveGroup(ctx, &kafka.LeaveGroupRequest{GroupID: g.cfg.GroupID, Members: []kafka.LeaveGroupRequestMember{{ID: member}}})
		if err == nil {
			err = res.Error
			if err == nil && len(res.Members) > 0 {
				err = res.Members[0].Error
			}
		}
		switch {
		case err == nil:
			g.log.Info("removed this process's previous member id from the group, so rejoining need not wait for it to expire", "member", member)
			return
		case errors.Is(err, kafka.UnknownMemberId):
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// client returns a client of the group's brokers with its own connections
// (the dialer's TLS and SASL), and the function that closes them.
func (g *Group) client(timeout time.Duration) (*kafka.Client, func()) {
	tr := newTransport(g.cfg.Dialer)
	return &kafka.Client{Addr: kafka.TCP(g.cfg.Brokers...), Timeout: timeout, Transport: tr}, tr.CloseIdleConnections
}

// newTransport returns a transport with connections of its own, with d's
// TLS, SASL and dial timeout (nil d means plain TCP).
func newTransport(d *kafka.Dialer) *kafka.Transport {
	if d == nil {
		return &kafka.Transport{}
	}
	return &kafka.Transport{TLS: d.TLS, SASL: d.SASLMechanism, DialTimeout: d.Timeout}
}

func (g *Group) isStopping() bool {
	select {
	case <-g.stop:
		return true
	default:
		return false
	}
}

// runGeneration consumes one generation's assignment and returns when it
// has ended and every function it started has returned.
func (g *Group) runGeneration(ctx context.Context, gen *kafka.Generation, out chan<- schemas.Message) {
	g.mu.Lock()
	g.epoch++
	wm := NewWatermark(g.epoch)
	g.wm = wm
	g.mu.Unlock()

	var parts []string
	var wg sync.WaitGroup
	owned := map[int]bool{}
	for _, a := range gen.Assignments[g.cfg.Topic] {
		owned[a.ID] = true
	}
	g.mu.Lock()
	g.owned = owned
	carry := g.carry
	g.carry = nil
	g.mu.Unlock()
	var all []reading
	for topic, assigned := range gen.Assignments {
		for _, a := range assigned {
			parts = append(parts, topic+"/"+strconv.Itoa(a.ID)+"@"+strconv.FormatInt(a.Offset, 10))
			committed := a.Offset
			if c, ok := carry[a.ID]; ok && topic == g.cfg.Topic && c > a.Offset {
				g.log.Info("resuming after the last acknowledged offset of the previous assignment", "partition", a.ID, "committed", a.Offset, "acknowledged", c)
				a.Offset = c
			}
			all = append(all, reading{topic, a, committed})
		}
	}
	// start launches one reader per partition for wm, all fed by one
	// Fetcher unless the fetch mode is per partition; stop ends them.
	start := func(wm *Watermark) (stop func()) {
		rctx, cancel := context.WithCancel(ctx)
		var f *Fetcher
		if g.cfg.Fetch != FetchPerPartition {
			tps := make([]TopicPartition, len(all))
			for i, r := range all {
				tps[i] = TopicPartition{Topic: r.topic, Partition: r.a.ID, Offset: r.a.Offset}
			}
			f = g.newFetcher(tps)
		}
		var readers sync.WaitGroup
		for _, r := range all {
			wg.Add(1)
			readers.Add(1)
			gen.Start(func(gctx context.Context) {
				defer wg.Done()
				defer readers.Done()
				g.read(rctx, gctx, wm, f, r.topic, r.a, r.committed, out)
			})
		}
		closed := make(chan struct{})
		wg.Go(func() {
			defer close(closed)
			readers.Wait()
			if f != nil {
				f.Close()
			}
		})
		return func() { cancel(); <-closed }
	}
	if g.cfg.Transactional {
		g.settledOffsets(ctx, all)
	}
	stopReaders := start(wm)
	g.member.Store(&Membership{GenerationID: int(gen.ID), MemberID: gen.MemberID, Epoch: wm.Epoch()})
	g.log.Info("assigned partitions", "generation", gen.ID, "epoch", wm.Epoch(), "partitions", parts)
	g.ready.Store(true)
	if g.cfg.Transactional {
		wg.Add(1)
		gen.Start(func(gctx context.Context) {
			defer wg.Done()
			for {
				select {
				case <-gctx.Done():
					return
				case epoch := <-g.rewind:
					g.mu.Lock()
					cur := g.wm
					g.mu.Unlock()
					if epoch != cur.Epoch() || g.isStopping() {
						continue
					}
					stopReaders()
					for i := range all {
						r := &all[i]
						if next, ok := cur.Next(r.topic, r.a.ID); ok {
							r.a.Offset = next
						}
					}
					g.settledOffsets(ctx, all)
					g.mu.Lock()
					g.epoch++
					nwm := NewWatermark(g.epoch)
					g.wm = nwm
					g.mu.Unlock()
					g.member.Store(&Membership{GenerationID: int(gen.ID), MemberID: gen.MemberID, Epoch: nwm.Epoch()})
					g.log.Info("transaction aborted: fetching again from the last committed offsets", "generation", gen.ID, "epoch", nwm.Epoch(), "abandoned", cur.Outstanding())
					stopReaders = start(nwm)
				}
			}
		})
	}
	wg.Add(1)
	gen.Start(func(gctx context.Context) {
		defer wg.Done()
		g.commitLoop(ctx, gctx, gen, wm)
	})
	wg.Wait()
	g.member.Store(nil)
	g.mu.Lock()
	wm = g.wm
	g.mu.Unlock()
	// What is acknowledged but was not committed (the generation ended
	// first) is carried to the next assignment. With a transactional sink
	// everything acknowledged is committed, so this resumes there too.
	if left := wm.Uncommitted()[g.cfg.Topic]; len(left) > 0 {
		g.mu.Lock()
		g.carry = left
		g.mu.Unlock()
		g.log.Info("acknowledged offsets not committed before the assignment ended; carried to the next one", "partitions", len(left))
	}
	g.log.Info("assignment ended", "generation", gen.ID, "epoch", wm.Epoch(), "stale_acks", wm.Stale())
}

// reading is one partition of an assignment and where to read it from.
type reading struct {
	topic     string
	a         kafka.PartitionAssignment
	committed int64
}

// settledOffsets, with a transactional sink, waits for the sink to settle
// and moves each partition's start to the group's committed offset when
// that is further: a transaction whose commit was in doubt when it failed
// (so its batches were not acknowledged) may have committed after all, and
// kafka-go fetched the assignment's offsets before the sink settled it.
// On errors it keeps the offsets it has, logging why.
func (g *Group) settledOffsets(ctx context.Context, all []reading) {
	if g.cfg.Settle != nil {
		if err := g.cfg.Settle(ctx); err != nil {
			g.log.Warn("waiting for the transactional sink to settle", "err", err)
			return
		}
	}
	client, done := g.client(10 * time.Second)
	defer done()
	topics := map[string][]int{}
	for _, r := range all {
		topics[r.topic] = append(topics[r.topic], r.a.ID)
	}
	var res *kafka.OffsetFetchResponse
	var err error
	for attempt := 0; attempt < 20 && ctx.Err() == nil; attempt++ {
		res, err = client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: g.cfg.GroupID, Topics: topics})
		if err == nil && res.Error == nil {
			break
		}
		if err == nil {
			err = res.Error
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil || res == nil {
		g.log.Warn("reading the committed offsets after the transactional sink settled; keeping kafka-go's", "err", err)
		return
	}
	for i := range all {
		r := &all[i]
		for _, p := range res.Topics[r.topic] {
			// A negative offset means none is committed (-1), or kafka-go's
			// FirstOffset/LastOffset (-2/-1) for a partition without one.
			if p.Partition == r.a.ID && p.Error == nil && p.CommittedOffset >= 0 && p.CommittedOffset > r.a.Offset {
				g.log.Info("starting at the committed offset the settled transaction left", "partition", r.a.ID, "from", r.a.Offset, "to", p.CommittedOffset)
				r.a.Offset = p.CommittedOffset
			}
		}
	}
}

// messageReader is what read needs of kafka-go's Reader and of
// PartitionReader.
type messageReader interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
	Close() error
}

// newFetcher returns the Fetcher of an assignment's partitions.
func (g *Group) newFetcher(tps []TopicPartition) *Fetcher {
	cfg := g.cfg
	return NewFetcher(FetcherConfig{
		Brokers: cfg.Brokers, Isolation: cfg.Isolation, MinBytes: cfg.MinBytes, MaxBytes: cfg.MaxBytes,
		MaxWait: cfg.MaxWait, Dialer: cfg.Dialer, Log: g.log,
	}, tps)
}

// newReader returns a reader of one partition from offset: kafka-go's
// Reader, or a PartitionReader when an isolation level is configured.
func (g *Group) newReader(topic string, partition int, offset int64) (messageReader, error) {
	cfg := g.cfg
	if cfg.Isolation != "" {
		return NewPartitionReader(PartitionReaderConfig{
			Brokers: cfg.Brokers, Topic: topic, Partition: partition, Offset: offset, Isolation: cfg.Isolation,
			MinBytes: cfg.MinBytes, MaxBytes: cfg.MaxBytes, MaxWait: cfg.MaxWait, Dialer: cfg.Dialer,
			Log: g.log.With("partition", partition),
		}), nil
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:         cfg.Brokers,
		Dialer:          cfg.Dialer,
		Topic:           topic,
		Partition:       partition,
		MinBytes:        cfg.MinBytes,
		MaxBytes:        cfg.MaxBytes,
		MaxWait:         cfg.MaxWait,
		QueueCapacity:   cfg.QueueCapacity,
		ReadLagInterval: -1,
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			g.log.Warn(fmt.Sprintf(msg, args...), "partition", partition)
		}),
	})
	if err := r.SetOffset(offset); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (g *Group) addSender() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return false
	}
	g.senders.Add(1)
	return true
}

// read fetches one partition from a.Offset until the generation ends or
// fetching stops. committed is the group's committed offset, below a.Offset
// when the partition resumes after offsets carried from the previous
// assignment: the watermark then commits a.Offset with this generation.
func (g *Group) read(ctx, gctx context.Context, wm *Watermark, f *Fetcher, topic string, a kafka.PartitionAssignment, committed int64, out chan<- schemas.Message) {
	if !g.addSender() {
		return
	}
	defer g.senders.Done()
	fctx, cancel := context.WithCancel(gctx)
	defer cancel()
	go func() {
		select {
		case <-g.stop:
		case <-ctx.Done():
		case <-fctx.Done():
		}
		cancel()
	}()

	start := a.Offset
	var r messageReader
	if f != nil {
		r = f.Partition(topic, a.ID)
	} else {
		var err error
		if r, err = g.newReader(topic, a.ID, start); err != nil {
			g.log.Error("setting start offset", "partition", a.ID, "offset", start, "err", err)
			return
		}
		defer r.Close()
	}
	pl := strconv.Itoa(a.ID)
	fetched := g.m.fetched.WithLabelValues(topic, pl)

	prev, first := int64(0), true
	for {
		km, err := r.FetchMessage(fctx)
		if err != nil {
			if fctx.Err() == nil {
				g.log.Error("fetching", "partition", a.ID, "err", err)
			}
			return
		}
		if first {
			wm.Begin(topic, a.ID, km.Offset)
			if committed >= 0 && committed < start {
				// Offsets [committed, start) were acknowledged in the
				// previous assignment: commit them with this one.
				wm.Lower(topic, a.ID, committed)
				select {
				case g.kick <- struct{}{}:
				default:
				}
			}
			prev, first = km.Offset-1, false
		}
		m := schemas.Message{
			Topic:     topic,
			Partition: a.ID,
			Offset:    km.Offset,
			Prev:      prev,
			Epoch:     wm.Epoch(),
			Key:       km.Key,
			Value:     km.Value,
			Time:      km.Time,
		}
		if len(km.Headers) > 0 {
			m.Headers = make([]schemas.Header, len(km.Headers))
			for i, h := range km.Headers {
				m.Headers[i] = schemas.Header{Key: h.Key, Value: h.Value}
			}
		}
		prev = km.Offset
		wm.Sent(1)
		select {
		case out <- m:
		case <-fctx.Done():
			wm.Sent(-1)
			return
		}
		fetched.Inc()
	}
}

// commitLoop commits the watermark as acks arrive, at most once per
// CommitInterval. When the generation ends or fetching stops it waits for
// what is in flight (bounded by RevokeTimeout on a rebalance, by ctx on
// shutdown), commits, and returns.
func (g *Group) commitLoop(ctx, gctx context.Context, gen *kafka.Generation, wm *Watermark) {
	// The last commit of a generation: when the generation's coordinator
	// connection is already gone (a heartbeat that failed on it ended the
	// generation), the offsets go in a request of their own, which the
	// coordinator takes while the generation is still current.
	final := func() {
		if !g.commit(gen, wm) {
			g.commitAlone(gen, wm)
		}
	}
	last := time.Time{}
	var tick <-chan time.Time
	for {
		select {
		case <-g.kick:
			if wait := g.cfg.CommitInterval - time.Since(last); wait > 0 {
				if tick == nil {
					tick = time.After(wait)
				}
				continue
			}
			g.commit(gen, wm)
			last = time.Now()
		case <-tick:
			tick = nil
			g.commit(gen, wm)
			last = time.Now()
		case <-ctx.Done():
			final()
			return
		case <-gctx.Done():
			g.drain(ctx, gen, wm, time.After(g.cfg.RevokeTimeout))
			final()
			return
		case <-g.stop:
			g.drain(ctx, gen, wm, nil)
			final()
			return
		}
	}
}

// drain waits until every message sent in this epoch is acknowledged,
// committing as it goes, until timeout fires or ctx is done.
func (g *Group) drain(ctx context.Context, gen *kafka.Generation, wm *Watermark, timeout <-chan time.Time) {
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	if g.cfg.Transactional {
		// Rewinds replace the watermark; what an aborted transaction
		// left unacknowledged is abandoned (it was never committed).
		g.mu.Lock()
		wm = g.wm
		g.mu.Unlock()
	}
	for wm.Outstanding() > 0 && g.aborted.Load() < wm.Epoch() {
		select {
		case <-ctx.Done():
			g.log.Warn("hard stop: abandoning unacknowledged messages; they will be delivered again", "count", wm.Outstanding())
			return
		case <-timeout:
			g.log.Warn("revoke timeout: releasing partitions with unacknowledged messages; the new owner scores them again", "count", wm.Outstanding())
			return
		case <-g.kick:
		case <-poll.C:
		}
	}
}

// commit commits what wm has acknowledged beyond its last commit, through
// the generation. It reports false when that failed.
func (g *Group) commit(gen *kafka.Generation, wm *Watermark) bool {
	if g.cfg.Transactional {
		// The sink commits offsets in its transactions.
		return true
	}
	offs := wm.Uncommitted()
	if offs == nil {
		return true
	}
	start := time.Now()
	if err := gen.CommitOffsets(offs); err != nil {
		g.m.commitErrors.Inc()
		g.log.Warn("committing offsets (will retry with the next ack)", "err", err)
		return false
	}
	g.committed(wm, offs, start)
	return true
}

// commitAlone commits what wm has acknowledged with an OffsetCommit request
// of its own, under gen's id and member id; what the coordinator refuses
// (the group has moved to another generation) is delivered again to the
// partition's next owner.
func (g *Group) commitAlone(gen *kafka.Generation, wm *Watermark) {
	offs := wm.Uncommitted()
	if offs == nil {
		return
	}
	start := time.Now()
	req := &kafka.OffsetCommitRequest{GroupID: g.cfg.GroupID, GenerationID: int(gen.ID), MemberID: gen.MemberID, Topics: map[string][]kafka.OffsetCommit{}}
	for topic, parts := range offs {
		for p, off := range parts {
			req.Topics[topic] = append(req.Topics[topic], kafka.OffsetCommit{Partition: p, Offset: off})
		}
	}
	client, done := g.client(5 * time.Second)
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := client.OffsetCommit(ctx, req)
	if err == nil {
		for _, parts := range res.Topics {
			for _, p := range parts {
				err = errors.Join(err, p.Error)
			}
		}
	}
	if err != nil {
		g.m.commitErrors.Inc()
		g.log.Warn("committing the generation's last offsets: they will be delivered again", "err", err)
		return
	}
	g.committed(wm, offs, start)
}

// committed records that offs, sent at start, were committed.
func (g *Group) committed(wm *Watermark, offs map[string]map[int]int64, start time.Time) {
	g.m.commitSeconds.Observe(time.Since(start).Seconds())
	wm.Committed(offs)
	for topic, parts := range offs {
		for p, off := range parts {
			g.m.committed.WithLabelValues(topic, strconv.Itoa(p)).Set(float64(off))
		}
	}
}
