//go:build integration

package consumers_test

import (
	"testing"

	"github.com/streamscore/streamscore/internal/conformance"
	"github.com/streamscore/streamscore/internal/servicetest"
)

// TestGroupConformsToSourceOnTheBroker runs the Source suite against the
// real broker of STREAMSCORE_BROKERS.
func TestGroupConformsToSourceOnTheBroker(t *testing.T) {
	conformance.Source(t, servicetest.Brokers(t), newGroup)
}

// TestPartitionGroupConformsToSourceOnTheBroker runs the Source suite
// with kafka-go's Reader per partition against the real broker.
func TestPartitionGroupConformsToSourceOnTheBroker(t *testing.T) {
	conformance.Source(t, servicetest.Brokers(t), newPartitionGroup)
}

// TestCommittedGroupConformsToSourceOnTheBroker runs the Source suite with
// the read_committed reader against the real broker.
func TestCommittedGroupConformsToSourceOnTheBroker(t *testing.T) {
	conformance.Source(t, servicetest.Brokers(t), newCommittedGroup)
}
