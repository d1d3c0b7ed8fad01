package producers

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"

	"github.com/streamscore/streamscore/schemas"
)

// Byte positions in a v2 record batch as kafka-go's RecordSet.WriteTo
// writes it, after its 4-byte size prefix (the RecordSet's length in a
// produce request).
const (
	batchStart    = 4
	crcAt         = batchStart + 17
	crcFrom       = batchStart + 21 // the CRC covers attributes to the end
	producerIDAt  = batchStart + 43
	producerEpoAt = batchStart + 51
	baseSeqAt     = batchStart + 53
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeTxnBatch returns records as one transactional v2 record batch,
// size-prefixed, carrying the producer id, epoch and base sequence.
// kafka-go's encoder writes producer id -1, epoch -1 and sequence -1 (it
// has no idempotent producer), so the fields are written into the encoded
// batch and its CRC-32C computed again.
func encodeTxnBatch(records []protocol.Record, codec kafka.Compression, pid, epoch int, seq int32) ([]byte, error) {
	rs := protocol.RecordSet{
		Version:    2,
		Attributes: protocol.Transactional | protocol.Attributes(codec)&7,
		Records:    protocol.NewRecordReader(records...),
	}
	var buf bytes.Buffer
	if _, err := rs.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("encoding record batch: %w", err)
	}
	b := buf.Bytes()
	if len(b) < baseSeqAt+4 || b[batchStart+16] != 2 {
		return nil, fmt.Errorf("encoding record batch: unexpected layout (%d bytes)", len(b))
	}
	binary.BigEndian.PutUint64(b[producerIDAt:], uint64(pid))
	binary.BigEndian.PutUint16(b[producerEpoAt:], uint16(epoch))
	binary.BigEndian.PutUint32(b[baseSeqAt:], uint32(seq))
	binary.BigEndian.PutUint32(b[crcAt:], crc32.Checksum(b[crcFrom:], castagnoli))
	return b, nil
}

// produce adds the batch's partitions to the transaction and writes its
// records, one record batch per partition, all partitions at once. It
// returns when every partition acknowledged (acks from all in-sync
// replicas) or one failed.
func (t *Txn) produce(ctx context.Context, scored []schemas.Message, dead []schemas.DeadLetter) error {
	st := &t.st
	msgs := t.w.records(nil, scored, dead)
	if len(msgs) == 0 {
		return nil
	}
	byPart := map[topicPart][]protocol.Record{}
	var order []topicPart
	bal := kafka.Murmur2Balancer{}
	for i := range msgs {
		m := &msgs[i]
		parts := st.parts[m.Topic]
		if len(parts) == 0 {
			return fmt.Errorf("topic %s: no partitions known", m.Topic)
		}
		tp := topicPart{m.Topic, bal.Balance(*m, parts...)}
		if _, ok := byPart[tp]; !ok {
			order = append(order, tp)
		}
		byPart[tp] = append(byPart[tp], protocol.Record{
			Time: m.Time, Key: bytesOrNil(m.Key), Value: bytesOrNil(m.Value), Headers: m.Headers,
		})
	}
	add := map[string][]kafka.AddPartitionToTxn{}
	var newParts []topicPart
	for _, tp := range order {
		if !st.added[tp] {
			add[tp.topic] = append(add[tp.topic], kafka.AddPartitionToTxn{Partition: tp.partition})
			newParts = append(newParts, tp)
		}
	}
	if len(add) > 0 {
		err := t.call(ctx, "AddPartitionsToTxn", func(ctx context.Context) error {
			res, err := t.client.AddPartitionsToTxn(ctx, &kafka.AddPartitionsToTxnRequest{
				TransactionalID: t.cfg.Delivery.TransactionalID, ProducerID: st.pid, ProducerEpoch: st.epoch, Topics: add,
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
		if err != nil {
			return err
		}
		for _, tp := range newParts {
			st.added[tp] = true
		}
	}
	codec := codecs[t.cfg.Compression]
	errs := make([]error, len(order))
	var wg sync.WaitGroup
	for i, tp := range order {
		recs := byPart[tp]
		raw, err := encodeTxnBatch(recs, codec, st.pid, st.epoch, st.seq[tp])
		if err != nil {
			return err
		}
		wg.Go(func() {
			// A retry sends the same bytes with the same sequence: the
			// broker keeps the first copy only.
			errs[i] = t.call(ctx, "Produce", func(ctx context.Context) error {
				res, err := t.client.RawProduce(ctx, &kafka.RawProduceRequest{
					Topic: tp.topic, Partition: tp.partition, RequiredAcks: kafka.RequireAll,
					TransactionalID: t.cfg.Delivery.TransactionalID,
					RawRecords:      protocol.RawRecordSet{Reader: bytes.NewReader(raw)},
				})
				if err != nil {
					return err
				}
				return res.Error
			})
		})
	}
	wg.Wait()
	for i, tp := range order {
		if errs[i] != nil {
			return fmt.Errorf("producing to %s/%d: %w", tp.topic, tp.partition, errs[i])
		}
	}
	for _, tp := range order {
		st.seq[tp] += int32(len(byPart[tp]))
	}
	st.records += len(msgs)
	return nil
}

func bytesOrNil(b []byte) protocol.Bytes {
	if b == nil {
		return nil
	}
	return protocol.NewBytes(b)
}

// txnMetrics count transactions.
type txnMetrics struct {
	ended         *prometheus.CounterVec
	retries       *prometheus.CounterVec
	seconds       prometheus.Histogram
	commitSeconds prometheus.Histogram
	settleSeconds prometheus.Histogram
	records       prometheus.Counter
	dropped       prometheus.Counter
}

func newTxnMetrics(reg prometheus.Registerer) *txnMetrics {
	m := &txnMetrics{
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamscore_producer_transactions_total",
			Help: "Transactions ended, by outcome (commit, abort).",
		}, []string{"outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamscore_producer_transaction_retries_total",
			Help: "Transactional requests retried after a retriable error, by request.",
		}, []string{"request"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamscore_producer_transaction_duration_seconds",
			Help:    "Time from a transaction's first batch to its commit.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamscore_producer_transaction_commit_duration_seconds",
			Help:    "Time to commit a transaction: offsets and EndTxn.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		settleSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamscore_producer_transaction_settle_duration_seconds",
			Help:    "Time the source waited, before fetching the committed offsets of a new assignment or after an abort, for the last committed transaction's markers.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		records: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_producer_records_total",
			Help: "Records committed (scored events and dead letters).",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamscore_producer_stale_batches_total",
			Help: "Batches dropped because their assignment ended or an earlier batch of it aborted (fetched again).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.ended, m.retries, m.seconds, m.commitSeconds, m.settleSeconds, m.records, m.dropped)
	}
	return m
}
