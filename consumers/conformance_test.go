package consumers_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/internal/conformance"
	"github.com/streamscore/streamscore/pipeline"
)

// fakeBrokers starts an in-process Kafka for one test.
func fakeBrokers(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// newGroup is the conformance suites' Source factory: a Group tuned to
// notice joins, leaves and acks quickly, fetching per broker.
func newGroup(t *testing.T, brokers []string, topic, group string) pipeline.Source {
	t.Helper()
	return tunedGroup(t, brokers, topic, group, consumers.FetchPerBroker)
}

// newPartitionGroup is newGroup with kafka-go's Reader per partition.
func newPartitionGroup(t *testing.T, brokers []string, topic, group string) pipeline.Source {
	t.Helper()
	return tunedGroup(t, brokers, topic, group, consumers.FetchPerPartition)
}

func tunedGroup(t *testing.T, brokers []string, topic, group string, mode consumers.FetchMode) pipeline.Source {
	t.Helper()
	g, err := consumers.New(consumers.Config{
		Fetch:             mode,
		Brokers:           brokers,
		GroupID:           group,
		Topic:             topic,
		MaxWait:           100 * time.Millisecond,
		HeartbeatInterval: 100 * time.Millisecond,
		SessionTimeout:    6 * time.Second,
		RebalanceTimeout:  5 * time.Second,
		CommitInterval:    10 * time.Millisecond,
		RevokeTimeout:     2 * time.Second,
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGroupConformsToSource(t *testing.T) {
	conformance.Source(t, fakeBrokers(t), newGroup)
}

func TestPartitionGroupConformsToSource(t *testing.T) {
	conformance.Source(t, fakeBrokers(t), newPartitionGroup)
}
