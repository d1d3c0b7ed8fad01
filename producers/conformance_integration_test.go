//go:build integration

package producers_test

import (
	"testing"

	"github.com/streamscore/streamscore/internal/conformance"
	"github.com/streamscore/streamscore/internal/servicetest"
)

// TestWriterConformsToSinkOnTheBroker runs the Sink suite against the real
// broker of STREAMSCORE_BROKERS.
func TestWriterConformsToSinkOnTheBroker(t *testing.T) {
	conformance.Sink(t, servicetest.Brokers(t), newWriter)
}

// TestBrokerWriterConformsToSinkOnTheBroker runs the Sink suite with one
// Produce request per broker against the real broker.
func TestBrokerWriterConformsToSinkOnTheBroker(t *testing.T) {
	conformance.Sink(t, servicetest.Brokers(t), newBrokerWriter)
}

// TestTxnConformsToSinkOnTheBroker runs the Sink suite against the
// transactional sink on the real broker.
func TestTxnConformsToSinkOnTheBroker(t *testing.T) {
	conformance.Sink(t, servicetest.Brokers(t), newTxn)
}
