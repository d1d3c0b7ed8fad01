package producers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/schemas"
)

// ErrFenced means another process initialised this producer's
// transactional id (a replica restarted while this one was paused, or two
// replicas were given the same id), or the broker no longer knows this
// producer's epoch. A fenced Txn refuses every later batch: the process
// must stop, since the newer one owns the id.
var ErrFenced = errors.New("transactional producer fenced: another process with the same delivery.transactional_id took over")

// AbortedError is the error a Txn's done callbacks receive when the
// transaction holding their batch was aborted (or the batch was dropped
// because an earlier one of its assignment was). None of the batch's
// records is visible to read_committed readers and its offsets were not
// committed: the source must fetch them again from the last committed
// offsets. Aborted reports true, so callers that must not import this
// package can tell it apart with errors.As on interface{ Aborted() bool }.
type AbortedError struct {
	// Cause is what made the transaction abort.
	Cause error
}

func (e *AbortedError) Error() string {
	return "transaction aborted: " + e.Cause.Error()
}

// Unwrap returns the cause.
func (e *AbortedError) Unwrap() error { return e.Cause }

// Aborted reports true.
func (e *AbortedError) Aborted() bool { return true }

// Member is the consumer-group membership a transaction commits offsets
// under (KIP-447): the broker refuses TxnOffsetCommit from a member whose
// generation has ended, so a replica that lost its partitions cannot
// commit them.
type Member struct {
	// GenerationID and MemberID are the group's current generation and
	// this member's id (kafka-go's Generation.ID and MemberID).
	GenerationID int
	MemberID     string
	// Epoch is the source's assignment epoch (schemas.Span.Epoch): a batch
	// of another epoch is stale and dropped.
	Epoch uint64
}

// TxnConfig configures a Txn.
type TxnConfig struct {
	// Config names the brokers, topics and producer settings, as for the
	// Writer. BatchTimeout, BatchSize and BatchBytes do not apply: each
	// batch goes as one record batch per partition.
	Config
	// Delivery cuts transactions and names the transactional id.
	Delivery DeliveryConfig
	// GroupID is the consumer group whose offsets each transaction commits.
	GroupID string
	// Member returns the group's current membership, false while there is
	// no assignment. Required when batches carry offsets.
	Member func() (Member, bool)
}

// Txn publishes scored events and dead letters in Kafka transactions built
// on kafka-go's protocol Client, and commits the consumed offsets in the
// same transactions. Each transaction covers whole batches of one
// assignment epoch: AddPartitionsToTxn, the batches' records as
// transactional v2 record batches (producer id, epoch and per-partition
// sequence numbers), AddOffsetsToTxn and TxnOffsetCommit with the group's
// generation and member id, then EndTxn(commit). Any failure aborts the
// transaction, bumps the producer epoch (so sequence numbers start again),
// and fails the transaction's batches and every later batch of the same
// epoch with an AbortedError, so the source rewinds to the last committed
// offsets. PRODUCER_FENCED and INVALID_PRODUCER_EPOCH fail every batch
// from then on with ErrFenced.
//
// One goroutine owns the transaction; PublishTxn hands batches to it in
// call order. Create it with NewTxn, call Init before consuming, Close at
// the end.
type Txn struct {
	cfg    TxnConfig
	client *kafka.Client
	w      *Writer // record building and the size guard only
	log    *slog.Logger
	m      *txnMetrics

	reqs chan *txnReq
	quit chan struct{}
	done sync.WaitGroup

	// Owned by the worker goroutine after Init.
	st txnState
}

// txnReq is one batch handed to the worker.
type txnReq struct {
	ctx    context.Context
	scored []schemas.Message
	dead   []schemas.DeadLetter
	spans  []schemas.Span
	done   func(error)
	// barrier, if set, makes the request a Settle: nothing to publish.
	barrier chan struct{}
}

// txnQueue is how many batches may wait for the worker.
const txnQueue = 16

// NewTxn returns a Txn for cfg; reg may be nil. It does not touch the
// network: Init does.
func NewTxn(cfg TxnConfig, log *slog.Logger, reg prometheus.Registerer) (*Txn, error) {
	if err := cfg.Config.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.Delivery.Validate(); err != nil {
		return nil, err
	}
	d := DefaultDelivery()
	if cfg.Delivery.TransactionInterval == 0 {
		cfg.Delivery.TransactionInterval = d.TransactionInterval
	}
	if cfg.Delivery.BatchesPerTransaction == 0 {
		cfg.Delivery.BatchesPerTransaction = d.BatchesPerTransaction
	}
	if cfg.Delivery.TransactionTimeout == 0 {
		cfg.Delivery.TransactionTimeout = d.TransactionTimeout
	}
	if cfg.Delivery.TransactionalID == "" {
		return nil, errors.New("delivery.transactional_id: required in exactly_once mode (stable per replica, e.g. ${POD_NAME})")
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Timeout: cfg.WriteTimeout}
	if cfg.Transport != nil {
		client.Transport = cfg.Transport
	}
	log = log.With("component", "producer", "transactional_id", cfg.Delivery.TransactionalID)
	t := &Txn{
		cfg: cfg, client: client, log: log,
		w:    &Writer{cfg: cfg.Config, log: log, m: newMetrics(nil)},
		m:    newTxnMetrics(reg),
		reqs: make(chan *txnReq, txnQueue),
		quit: make(chan struct{}),
	}
	t.st.seq = map[topicPart]int32{}
	return t, nil
}

// Init registers the transactional id with its coordinator
// (InitProducerID): the broker aborts or completes any transaction a
// previous process with the same id left open, and fences that process
// by bumping the epoch. It retries while the previous transaction is
// being completed (CONCURRENT_TRANSACTIONS) or the coordinator is loading
// or moving, until ctx is done. It then starts the worker. Call it once,
// before the source fetches anything, so the committed offsets the source
// starts from include the last transaction's.
func (t *Txn) Init(ctx context.Context) error {
	start := time.Now()
	if err := t.initProducer(ctx, false); err != nil {
		return err
	}
	if err := t.loadPartitions(ctx); err != nil {
		return err
	}
	t.log.Info("transactional producer ready", "producer_id", t.st.pid, "epoch", t.st.epoch, "took", time.Since(start).Round(time.Millisecond))
	t.done.Go(t.work)
	return nil
}

// Close stops the worker, aborting an open transaction (its batches get an
// AbortedError), and waits for it. Batches handed over after Close are
// failed.
func (t *Txn) Close() error {
	select {
	case <-t.quit:
	default:
		close(t.quit)
	}
	t.done.Wait()
	return nil
}

// Publish produces the records in a transaction that commits no offsets,
// and returns once it is committed (nil) or aborted.
func (t *Txn) Publish(ctx context.Context, scored []schemas.Message, dead []schemas.DeadLetter) error {
	ch := make(chan error, 1)
	t.PublishTxn(ctx, scored, dead, nil, func(err error) { ch <- err })
	return <-ch
}

// Settle returns once no transaction of this producer is open or in
// doubt: it aborts an open one (its batches get an AbortedError) and, if
// a transaction was committed since the producer last initialised, waits
// until the coordinator has written its markers (InitProducerID with the
// producer's id and epoch, retried while it answers
// CONCURRENT_TRANSACTIONS, which bumps the epoch). After Settle the
// group's committed offsets include every transaction this producer
// committed, so a source may fetch them (kafka-go cannot ask the broker
// to wait for pending transactional offsets: its OffsetFetch has no
// require_stable). A fenced producer settles at once; its later batches
// fail with ErrFenced. It blocks until then or ctx is done.
func (t *Txn) Settle(ctx context.Context) error {
	b := make(chan struct{})
	select {
	case t.reqs <- &txnReq{ctx: ctx, barrier: b}:
	case <-ctx.Done():
		return ctx.Err()
	case <-t.quit:
		return errors.New("producer closed")
	}
	select {
	case <-b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// PublishTxn hands a batch to the current transaction and returns; done is
// called exactly once, on the worker goroutine: nil once the transaction
// holding the batch committed (its records and the offsets after spans are
// committed together), an AbortedError if it aborted, ErrFenced once the
// producer is fenced, or ctx's error. Batches must be handed over in fetch
// order; done must not block.
func (t *Txn) PublishTxn(ctx context.Context, scored []schemas.Message, dead []schemas.DeadLetter, spans []schemas.Span, done func(error)) {
	r := &txnReq{ctx: ctx, scored: scored, dead: dead, spans: spans, done: done}
	select {
	case t.reqs <- r:
	case <-ctx.Done():
		done(ctx.Err())
	case <-t.quit:
		done(&AbortedError{Cause: errors.New("producer closed")})
	}
}

// topicPart names one partition of an output topic.
type topicPart struct {
	topic     string
	partition int
}

// txnState is the worker's view of the producer and the open transaction.
type txnState struct {
	pid, epoch int
	seq        map[topicPart]int32
	parts      map[string][]int // partition ids of the output and dead-letter topics

	open    bool
	began   time.Time
	ctx     context.Context
	member  Member
	hasMem  bool
	added   map[topicPart]bool
	offsets map[string]map[int]int64
	dones   []func(error)
	records int
	// failed is the highest assignment epoch whose batches are dropped
	// because one of them was aborted: the source rewinds, and refetched
	// messages carry a newer epoch.
	failed uint64
	fenced error
	// unsettled is set once EndTxn(commit) is sent and cleared when the
	// producer is initialised again: until then the coordinator may still
	// be writing that transaction's markers, and the group's committed
	// offsets may not include it yet.
	unsettled bool
}

// work is the worker goroutine: it adds batches to the open transaction
// and ends it after BatchesPerTransaction batches or TransactionInterval.
func (t *Txn) work() {
	st := &t.st
	var timer *time.Timer
	for {
		var tick <-chan time.Time
		if st.open {
			wait := t.cfg.Delivery.TransactionInterval - time.Since(st.began)
			if timer == nil {
				timer = time.NewTimer(max(wait, 0))
			} else {
				timer.Reset(max(wait, 0))
			}
			tick = timer.C
		}
		select {
		case r := <-t.reqs:
			t.add(r)
			if st.open && len(st.dones) >= t.cfg.Delivery.BatchesPerTransaction {
				t.commit()
			}
		case <-tick:
			t.commit()
		case <-t.quit:
			if st.open {
				t.abort(errors.New("producer closed"))
			}
			for {
				select {
				case r := <-t.reqs:
					if r.barrier != nil {
						close(r.barrier)
						continue
					}
					r.done(&AbortedError{Cause: errors.New("producer closed")})
				default:
					return
				}
			}
		}
		if timer != nil && !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// add puts r's records into the open transaction, beginning one if none
// is open.
func (t *Txn) add(r *txnReq) {
	st := &t.st
	if r.barrier != nil {
		if st.open {
			t.abort(errors.New("the assignment changed"))
		}
		if st.unsettled && st.fenced == nil {
			t.settle()
		}
		close(r.barrier)
		return
	}
	if st.fenced != nil {
		r.done(st.fenced)
		return
	}
	if err := r.ctx.Err(); err != nil {
		r.done(err)
		return
	}
	var mem Member
	hasMem := false
	if len(r.spans) > 0 {
		if t.cfg.Member == nil {
			r.done(errors.New("producers: a batch with offsets needs TxnConfig.Member"))
			return
		}
		var ok bool
		mem, ok = t.cfg.Member()
		current := func(epoch uint64) bool { return ok && epoch == mem.Epoch && epoch > st.failed }
		keep := 0
		for _, s := range r.spans {
			if current(s.Epoch) {
				keep++
			}
		}
		if keep == 0 {
			// Fetched in an assignment that ended, or after a batch that
			// aborted: its offsets are fetched again.
			t.m.dropped.Inc()
			r.done(&AbortedError{Cause: fmt.Errorf("batch of assignment epoch %d is stale (current %d)", r.spans[0].Epoch, mem.Epoch)})
			return
		}
		if keep < len(r.spans) {
			// The batch straddles a rewind: keep the current epoch's part
			// (dropping it would leave a gap under later commits); the
			// stale part is fetched again, and its acknowledgement is
			// ignored by the source.
			r.scored, r.dead, r.spans = currentPart(r, current)
		}
		hasMem = true
		if st.open && st.hasMem && st.member != mem {
			// The assignment changed under the open transaction: its
			// offsets may no longer be ours to commit.
			t.abort(fmt.Errorf("assignment changed from generation %d to %d", st.member.GenerationID, mem.GenerationID))
			if st.fenced != nil {
				r.done(st.fenced)
				return
			}
		}
	}
	if !st.open {
		st.open, st.began, st.ctx = true, time.Now(), r.ctx
		st.added = map[topicPart]bool{}
		st.offsets = map[string]map[int]int64{}
		st.member, st.hasMem = Member{}, false
		st.records = 0
	}
	if hasMem {
		st.member, st.hasMem = mem, true
	}
	st.dones = append(st.dones, r.done)
	if err := t.produce(r.ctx, r.scored, r.dead); err != nil {
		t.abort(err)
		return
	}
	for _, s := range r.spans {
		m := st.offsets[s.Topic]
		if m == nil {
			m = map[int]int64{}
			st.offsets[s.Topic] = m
		}
		if s.Last+1 > m[s.Partition] {
			m[s.Partition] = s.Last + 1
		}
	}
}

// currentPart returns r's results and spans of the epochs current accepts.
func currentPart(r *txnReq, current func(uint64) bool) ([]schemas.Message, []schemas.DeadLetter, []schemas.Span) {
	var scored []schemas.Message
	for _, m := range r.scored {
		if m.Origin == nil || current(m.Origin.Epoch) {
			scored = append(scored, m)
		}
	}
	var dead []schemas.DeadLetter
	for _, d := range r.dead {
		if current(d.Msg.Epoch) {
			dead = append(dead, d)
		}
	}
	var spans []schemas.Span
	for _, s := range r.spans {
		if current(s.Epoch) {
			spans = append(spans, s)
		}
	}
	return scored, dead, spans
}

// commit ends the open transaction: the offsets, then EndTxn(commit).
func (t *Txn) commit() {
	st := &t.st
	if !st.open {
		return
	}
	start := time.Now()
	ctx := st.ctx
	if len(st.added) == 0 && len(st.offsets) == 0 {
		// Nothing was added: there is no transaction on the broker.
		dones := st.dones
		st.open, st.dones = false, nil
		for _, d := range dones {
			d(nil)
		}
		return
	}
	if len(st.offsets) > 0 {
		if err := t.sendOffsets(ctx); err != nil {
			t.abort(err)
			return
		}
	}
	st.unsettled = true
	if err := t.endTxn(ctx, true); err != nil {
		t.abort(err)
		return
	}
	t.m.seconds.Observe(time.Since(st.began).Seconds())
	t.m.commitSeconds.Observe(time.Since(start).Seconds())
	t.m.ended.WithLabelValues("commit").Inc()
	t.m.records.Add(float64(st.records))
	dones := st.dones
	st.open, st.dones = false, nil
	for _, d := range dones {
		d(nil)
	}
}

// abort ends the open transaction with EndTxn(abort), bumps the producer
// epoch so that sequence numbers start again, and fails the transaction's
// batches with an AbortedError (or ErrFenced).
func (t *Txn) abort(cause error) {
	st := &t.st
	dones := st.dones
	st.open, st.dones = false, nil
	if st.hasMem && st.member.Epoch > st.failed {
		st.failed = st.member.Epoch
	}
	t.m.ended.WithLabelValues("abort").Inc()
	var result error = &AbortedError{Cause: cause}
	if fenced(cause) {
		st.fenced = fmt.Errorf("%w: %v", ErrFenced, cause)
		result = st.fenced
		t.log.Error("transactional producer fenced; this process must stop", "err", cause)
	} else {
		t.log.Warn("aborting transaction; the source rewinds to the last committed offsets", "batches", len(dones), "err", cause)
		ctx, cancel := context.WithTimeout(context.Background(), t.cfg.WriteTimeout)
		if err := t.endTxn(ctx, false); err != nil && !errors.Is(err, kafka.InvalidTransactionState) {
			t.log.Warn("aborting transaction (re-initialising the producer aborts it too)", "err", err)
		}
		cancel()
		if err := t.reinit(); err != nil {
			st.fenced = err
			result = err
		}
	}
	for _, d := range dones {
		d(result)
	}
}

// reinit bumps the producer epoch after an abort, retrying while the
// brokers cannot answer (a restart) until it succeeds, the producer is
// fenced, or the Txn is closed. Only those last two end it with an error:
// an outage pauses publishing, it does not stop the process.
func (t *Txn) reinit() error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-t.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	for attempt := 1; ; attempt++ {
		err := t.initProducer(ctx, true)
		switch {
		case err == nil:
			if attempt > 1 {
				t.log.Info("transactional producer re-initialised", "attempts", attempt, "epoch", t.st.epoch)
			}
			return nil
		case fenced(err):
			t.log.Error("transactional producer fenced; this process must stop", "err", err)
			return fmt.Errorf("%w: %v", ErrFenced, err)
		case ctx.Err() != nil:
			return &AbortedError{Cause: errors.New("producer closed")}
		}
		t.log.Warn("re-initialising the transactional producer failed; retrying", "attempt", attempt, "err", err)
		if sleep(ctx, time.Second) != nil {
			return &AbortedError{Cause: errors.New("producer closed")}
		}
	}
}

// settle waits until the last committed transaction is complete on the
// broker: EndTxn(commit) answers once the coordinator logged the decision
// (PrepareCommit), before it writes the markers that make the
// transaction's offsets the group's committed offsets, and kafka-go's
// OffsetFetch (v5) cannot ask for stable offsets (require_stable is v7).
// InitProducerID with the current producer id and epoch (KIP-360) answers
// CONCURRENT_TRANSACTIONS until the markers are written, then bumps the
// epoch; so once it succeeds an OffsetFetch returns the offsets of every
// transaction this producer committed. A failure fences the producer as
// in abort.
func (t *Txn) settle() {
	st := &t.st
	start := time.Now()
	if err := t.reinit(); err != nil {
		st.fenced = err
		return
	}
	t.m.settleSeconds.Observe(time.Since(start).Seconds())
	t.log.Debug("the last transaction is complete on the broker", "epoch", st.epoch, "took", time.Since(start).Round(time.Millisecond))
}

// fenced reports whether err means another producer owns the id now.
func fenced(err error) bool {
	return errors.Is(err, kafka.ProducerFenced) || errors.Is(err, kafka.InvalidProducerEpoch) ||
		errors.Is(err, kafka.TransactionCoordinatorFenced) || errors.Is(err, kafka.InvalidProducerIDMapping)
}

// retriable reports whether a transactional request failing with err may
// be sent again as it is: the coordinator is busy completing the previous
// transaction, loading, or moved (kafka-go looks it up again).
func retriable(err error) bool {
	return errors.Is(err, kafka.ConcurrentTransactions) || errors.Is(err, kafka.NotCoordinatorForGroup) ||
		errors.Is(err, kafka.GroupCoordinatorNotAvailable) || errors.Is(err, kafka.GroupLoadInProgress) ||
		errors.Is(err, kafka.RequestTimedOut) || errors.Is(err, kafka.NotEnoughReplicas) ||
		errors.Is(err, kafka.NotEnoughReplicasAfterAppend) || errors.Is(err, kafka.LeaderNotAvailable) ||
		errors.Is(err, kafka.NotLeaderForPartition) || errors.Is(err, kafka.UnknownTopicOrPartition)
}

// txnRetries bounds how often one transactional request is retried.
const txnRetries = 40

// call runs fn until it succeeds, fails for good, or ctx is done; fn
// returns the response's error (or the transport's).
func (t *Txn) call(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	for attempt := 1; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, t.cfg.WriteTimeout)
		err := fn(cctx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, ctx.Err())
		}
		// Kafka errors are retried when listed as retriable; others are
		// the transport's (a broker restarting, a timeout) and retried.
		var kerr kafka.Error
		if fenced(err) || errors.As(err, &kerr) && !retriable(err) || attempt >= txnRetries {
			return fmt.Errorf("%s: %w", what, err)
		}
		t.m.retries.WithLabelValues(what).Inc()
		t.log.Debug("retrying a transactional request", "request", what, "attempt", attempt, "err", err)
		d := min(20*time.Millisecond<<min(attempt-1, 5), time.Second)
		if errors.As(err, &kerr) {
			// A broker's answer: the cause is usually gone in
			// milliseconds (on Kafka 4, a partition leader's check that
			// the partition joined the transaction, KIP-890, often fails
			// once with NOT_ENOUGH_REPLICAS).
			d = min(5*time.Millisecond<<min(attempt-1, 8), time.Second)
		}
		if errors.Is(err, kafka.ConcurrentTransactions) {
			// The coordinator is writing the previous transaction's
			// markers, a matter of milliseconds: the usual backoff would
			// cost more than the wait.
			d = min(2*time.Millisecond*time.Duration(attempt), 100*time.Millisecond)
		}
		if err := sleep(ctx, d); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
}

// initProducer gets a producer id and a new epoch for the transactional
// id, and resets the sequence numbers.
// With bump it passes the current producer id and epoch (KIP-360): the
// broker bumps the epoch only if it is still this producer's, and answers
// PRODUCER_FENCED if a newer process took the id over, so a zombie never
// fences its successor.
func (t *Txn) initProducer(ctx context.Context, bump bool) error {
	st := &t.st
	pid, epoch := -1, -1
	if bump {
		pid, epoch = st.pid, st.epoch
	}
	err := t.call(ctx, "InitProducerID", func(ctx context.Context) error {
		res, err := t.client.InitProducerID(ctx, &kafka.InitProducerIDRequest{
			TransactionalID:      t.cfg.Delivery.TransactionalID,
			TransactionTimeoutMs: int(t.cfg.Delivery.TransactionTimeout / time.Millisecond),
			ProducerID:           pid,
			ProducerEpoch:        epoch,
		})
		if err != nil {
			return err
		}
		if res.Error != nil {
			return res.Error
		}
		st.pid, st.epoch = res.Producer.ProducerID, res.Producer.ProducerEpoch
		return nil
	})
	if err != nil {
		return err
	}
	clear(st.seq)
	st.unsettled = false
	return nil
}

// loadPartitions reads the partitions of the output and dead-letter
// topics.
func (t *Txn) loadPartitions(ctx context.Context) error {
	topics := []string{t.cfg.Topic}
	if t.cfg.DLQTopic != "" {
		topics = append(topics, t.cfg.DLQTopic)
	}
	parts := map[string][]int{}
	err := t.call(ctx, "Metadata", func(ctx context.Context) error {
		res, err := t.client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
		if err != nil {
			return err
		}
		for _, tp := range res.Topics {
			if tp.Error != nil {
				return tp.Error
			}
			ids := make([]int, len(tp.Partitions))
			for i, p := range tp.Partitions {
				ids[i] = p.ID
			}
			parts[tp.Name] = ids
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, name := range topics {
		if len(parts[name]) == 0 {
			return fmt.Errorf("topic %s has no partitions: create it with `streamscore topics create`", name)
		}
	}
	t.st.parts = parts
	return nil
}

// sendOffsets adds the group to the transaction and commits the consumed
// offsets in it, under the member's generation.
func (t *Txn) sendOffsets(ctx context.Context) error {
	st := &t.st
	err := t.call(ctx, "AddOffsetsToTxn", func(ctx context.Context) error {
		res, err := t.client.AddOffsetsToTxn(ctx, &kafka.AddOffsetsToTxnRequest{
			TransactionalID: t.cfg.Delivery.TransactionalID, ProducerID: st.pid, ProducerEpoch: st.epoch, GroupID: t.cfg.GroupID,
		})
		if err != nil {
			return err
		}
		return res.Error
	})
	if err != nil {
		return err
	}
	topics := map[string][]kafka.TxnOffsetCommit{}
	for topic, parts := range st.offsets {
		for p, off := range parts {
			topics[topic] = append(topics[topic], kafka.TxnOffsetCommit{Partition: p, Offset: off})
		}
	}
	return t.call(ctx, "TxnOffsetCommit", func(ctx context.Context) error {
		res, err := t.client.TxnOffsetCommit(ctx, &kafka.TxnOffsetCommitRequest{
			TransactionalID: t.cfg.Delivery.TransactionalID, GroupID: t.cfg.GroupID,
			ProducerID: st.pid, ProducerEpoch: st.epoch,
			GenerationID: st.member.GenerationID, MemberID: st.member.MemberID,
			Topics: topics,
		})
		if err != nil {
			return err
		}
		for _, ps := range res.Topics {
			for _, p := range ps {
				if p.Error != nil {
					return p.Error
				}
			}
		}
		return nil
	})
}

// endTxn commits or aborts the open transaction.
func (t *Txn) endTxn(ctx context.Context, commit bool) error {
	st := &t.st
	what := "EndTxn(abort)"
	if commit {
		what = "EndTxn(commit)"
	}
	return t.call(ctx, what, func(ctx context.Context) error {
		res, err := t.client.EndTxn(ctx, &kafka.EndTxnRequest{
			TransactionalID: t.cfg.Delivery.TransactionalID, ProducerID: st.pid, ProducerEpoch: st.epoch, Committed: commit,
		})
		if err != nil {
			return err
		}
		return res.Error
	})
}
