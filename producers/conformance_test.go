package producers_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/streamscore/streamscore/internal/conformance"
	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/producers"
)

// newWriter is the conformance suite's Sink factory.
func newWriter(t *testing.T, brokers []string, topic, dlq string) pipeline.Sink {
	t.Helper()
	return writerWith(t, brokers, topic, dlq, producers.PerPartition)
}

// newBrokerWriter is newWriter with one Produce request per broker.
func newBrokerWriter(t *testing.T, brokers []string, topic, dlq string) pipeline.Sink {
	t.Helper()
	return writerWith(t, brokers, topic, dlq, producers.PerBroker)
}

func writerWith(t *testing.T, brokers []string, topic, dlq string, req producers.Requests) pipeline.Sink {
	t.Helper()
	w, err := producers.New(producers.Config{Brokers: brokers, Topic: topic, DLQTopic: dlq, Requests: req}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func TestWriterConformsToSink(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conformance.Sink(t, c.ListenAddrs(), newWriter)
}

func TestBrokerWriterConformsToSink(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conformance.Sink(t, c.ListenAddrs(), newBrokerWriter)
}
