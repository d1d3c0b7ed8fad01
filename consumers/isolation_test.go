package consumers_test

import (
	"testing"
	"time"

	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/internal/conformance"
	"github.com/streamscore/streamscore/pipeline"
)

func TestParseIsolation(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want consumers.Isolation
		ok   bool
	}{
		{"", "", true},
		{"read_committed", consumers.ReadCommitted, true},
		{"read_uncommitted", consumers.ReadUncommitted, true},
		{"READ_COMMITTED", "", false},
		{"dirty", "", false},
	} {
		got, err := consumers.ParseIsolation(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseIsolation(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// newCommittedGroup is newGroup reading read_committed through
// PartitionReader.
func newCommittedGroup(t *testing.T, brokers []string, topic, group string) pipeline.Source {
	t.Helper()
	g, err := consumers.New(consumers.Config{
		Brokers: brokers, GroupID: group, Topic: topic, Isolation: consumers.ReadCommitted,
		MaxWait: 100 * time.Millisecond, HeartbeatInterval: 100 * time.Millisecond,
		SessionTimeout: 6 * time.Second, RebalanceTimeout: 5 * time.Second,
		CommitInterval: 10 * time.Millisecond, RevokeTimeout: 2 * time.Second,
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestCommittedGroupConformsToSource runs the Source suite with the
// isolation-aware reader in the group.
func TestCommittedGroupConformsToSource(t *testing.T) {
	conformance.Source(t, fakeBrokers(t), newCommittedGroup)
}
