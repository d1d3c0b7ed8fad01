package conformance

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/consumers"
)

// waitLimit bounds every wait of the suites.
const waitLimit = 30 * time.Second

var seq atomic.Int64

// uniqueName returns a topic or group name no other run uses.
func uniqueName(prefix string) string {
	return fmt.Sprintf("conformance.%s.%d.%d", prefix, time.Now().UnixNano(), seq.Add(1))
}

// createTopic creates topic with partitions partitions (replication 1)
// and waits until every partition has a leader.
func createTopic(t *testing.T, brokers []string, topic string, partitions int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	res, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1}}})
	if err != nil {
		t.Fatalf("creating topic %s: %v", topic, err)
	}
	if err := res.Errors[topic]; err != nil {
		t.Fatalf("creating topic %s: %v", topic, err)
	}
	for {
		md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
		if err == nil && len(md.Topics) == 1 && md.Topics[0].Error == nil && len(md.Topics[0].Partitions) == partitions {
			ready := true
			for _, p := range md.Topics[0].Partitions {
				ready = ready && p.Leader.Host != ""
			}
			if ready {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("topic %s has no leader for every partition: %v", topic, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// produce writes msgs to partition p of topic, in order, acknowledged by
// all replicas. A new topic's leader may not know it leads yet: retriable
// errors are retried until waitLimit.
func produce(t *testing.T, brokers []string, topic string, p int, msgs []kafka.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	for {
		err := produceOnce(ctx, brokers, topic, p, msgs)
		if err == nil {
			return
		}
		var ke kafka.Error
		if !errors.As(err, &ke) || !ke.Temporary() {
			t.Fatalf("producing to %s/%d: %v", topic, p, err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("producing to %s/%d: %v", topic, p, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func produceOnce(ctx context.Context, brokers []string, topic string, p int, msgs []kafka.Message) error {
	conn, err := leaderConn(ctx, brokers, topic, p)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetRequiredAcks(-1)
	_, err = conn.WriteMessages(msgs...)
	return err
}

func leaderConn(ctx context.Context, brokers []string, topic string, p int) (*kafka.Conn, error) {
	var err error
	for _, b := range brokers {
		var conn *kafka.Conn
		if conn, err = kafka.DialLeader(ctx, "tcp", b, topic, p); err == nil {
			conn.SetDeadline(time.Now().Add(waitLimit))
			return conn, nil
		}
	}
	return nil, err
}

// readPartition reads partition p of topic from its start until it holds
// want records, or fails t.
func readPartition(t *testing.T, brokers []string, topic string, p, want int) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	var out []kafka.Message
	for len(out) < want {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("reading %s/%d after %d of %d records: %v", topic, p, len(out), want, err)
		}
		out = append(out, m)
	}
	return out
}

// readCommitted reads partition p of topic from its start to end with
// read_committed isolation, or fails t.
func readCommitted(t *testing.T, brokers []string, topic string, p int, end int64) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	r := consumers.NewPartitionReader(consumers.PartitionReaderConfig{
		Brokers: brokers, Topic: topic, Partition: p, Offset: kafka.FirstOffset,
		Isolation: consumers.ReadCommitted, MaxWait: 100 * time.Millisecond,
	})
	defer r.Close()
	var out []kafka.Message
	for end > 0 && r.Offset() < end {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("reading %s/%d after %d records, at offset %d of %d: %v", topic, p, len(out), r.Offset(), end, err)
		}
		out = append(out, m)
	}
	return out
}

// endOffsets returns the end offset of each partition of topic.
func endOffsets(t *testing.T, brokers []string, topic string, partitions int) []int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for p := range partitions {
		req.Topics[topic] = append(req.Topics[topic], kafka.LastOffsetOf(p))
	}
	res, err := c.ListOffsets(ctx, req)
	if err != nil {
		t.Fatalf("listing offsets of %s: %v", topic, err)
	}
	out := make([]int64, partitions)
	for _, po := range res.Topics[topic] {
		if po.Error != nil {
			t.Fatalf("listing offsets of %s/%d: %v", topic, po.Partition, po.Error)
		}
		out[po.Partition] = po.LastOffset
	}
	return out
}

func key(p, i int) []byte { return []byte("k" + strconv.Itoa(p) + "-" + strconv.Itoa(i)) }
