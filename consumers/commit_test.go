package consumers

import (
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/streamscore/streamscore/schemas"
)

// TestCommitAloneCommitsForTheGeneration checks the last commit of a
// generation sent in a request of its own (what a graceful stop does when
// the generation's coordinator connection is gone): the coordinator takes
// it under the generation's id and member id, the watermark counts it as
// committed, and a fetch of the group's offsets reads it.
func TestCommitAloneCommitsForTheGeneration(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "events"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID: "scorers", Brokers: brokers, Topics: []string{"events"},
		HeartbeatInterval: 100 * time.Millisecond, SessionTimeout: 6 * time.Second, RebalanceTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cg.Close()
	gen, err := cg.Next(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(Config{Brokers: brokers, GroupID: "scorers", Topic: "events"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wm := NewWatermark(1)
	wm.Begin("events", 0, 0)
	msgs := make([]schemas.Message, 5)
	for i := range msgs {
		msgs[i] = schemas.Message{Topic: "events", Partition: 0, Offset: int64(i), Prev: int64(i) - 1, Epoch: 1}
	}
	wm.Sent(len(msgs))
	wm.Ack(schemas.Spans(nil, msgs))
	if wm.Uncommitted() == nil {
		t.Fatal("the acknowledged offsets are not uncommitted before the commit")
	}

	g.commitAlone(gen, wm)

	if left := wm.Uncommitted(); left != nil {
		t.Errorf("after the commit the watermark still has %v uncommitted", left)
	}
	client, done := g.client(5 * time.Second)
	defer done()
	res, err := client.OffsetFetch(t.Context(), &kafka.OffsetFetchRequest{GroupID: "scorers", Topics: map[string][]int{"events": {0}}})
	if err != nil {
		t.Fatal(err)
	}
	if ps := res.Topics["events"]; len(ps) != 1 || ps[0].CommittedOffset != 5 || ps[0].Error != nil {
		t.Fatalf("committed offsets %+v, want partition 0 at 5", ps)
	}
}
