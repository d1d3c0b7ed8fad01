package producers_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/streamscore/streamscore/internal/conformance"
	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/producers"
)

// newTxn is the conformance suite's Sink factory for the transactional
// sink: every Publish is one committed transaction.
func newTxn(t *testing.T, brokers []string, topic, dlq string) pipeline.Sink {
	t.Helper()
	s, err := producers.NewTxn(producers.TxnConfig{
		Config:   producers.Config{Brokers: brokers, Topic: topic, DLQTopic: dlq},
		Delivery: producers.DeliveryConfig{Mode: producers.ExactlyOnce, TransactionalID: "conformance-" + topic},
		GroupID:  "conformance",
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestTxnConformsToSink(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conformance.Sink(t, c.ListenAddrs(), newTxn)
}
