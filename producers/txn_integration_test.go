//go:build integration

package producers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/internal/servicetest"
)

// TestTxnFencingAndIsolationOnTheBroker: a second producer with the same
// transactional id aborts the first one's open transaction and fences it
// (PRODUCER_FENCED or INVALID_PRODUCER_EPOCH, then ErrFenced for every
// later batch); read_committed readers never see the aborted records,
// read_uncommitted ones do, and neither sees transaction markers.
func TestTxnFencingAndIsolationOnTheBroker(t *testing.T) {
	brokers := servicetest.Brokers(t)
	topic := fmt.Sprintf("txn.fencing.%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	res, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: 1, ReplicationFactor: 1}}})
	if err != nil || res.Errors[topic] != nil {
		t.Fatalf("creating %s: %v %v", topic, err, res.Errors[topic])
	}
	checkFencing(t, brokers, topic, true)
}
