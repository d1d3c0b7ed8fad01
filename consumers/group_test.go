package consumers_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/schemas"
)

// member is one running Group of a test.
type member struct {
	g    *consumers.Group
	out  chan schemas.Message
	done chan error
	stop context.CancelFunc
}

func join(t *testing.T, brokers []string, topic, group string) *member {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	m := &member{g: newGroup(t, brokers, topic, group).(*consumers.Group), out: make(chan schemas.Message, 256), done: make(chan error, 1), stop: cancel}
	go func() { m.done <- m.g.Run(ctx, m.out) }()
	t.Cleanup(func() {
		cancel()
		<-m.done
	})
	return m
}

// collect receives from the members until n messages came, failing t
// after a bounded wait.
func collect(t *testing.T, n int, ms ...*member) map[*member][]schemas.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cases := []reflect.SelectCase{{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())}}
	for _, m := range ms {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(m.out)})
	}
	got := map[*member][]schemas.Message{}
	for total := 0; total < n; total++ {
		i, v, ok := reflect.Select(cases)
		if i == 0 {
			t.Fatalf("received %d of %d messages within 30s", total, n)
		}
		if !ok {
			t.Fatalf("member %d closed its output after %d of %d messages", i-1, total, n)
		}
		got[ms[i-1]] = append(got[ms[i-1]], v.Interface().(schemas.Message))
	}
	return got
}

func createTopic(t *testing.T, brokers []string, topic string, partitions int) {
	t.Helper()
	c := &kafka.Client{Addr: kafka.TCP(brokers...)}
	res, err := c.CreateTopics(t.Context(), &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1}}})
	if err != nil || res.Errors[topic] != nil {
		t.Fatalf("creating %s: %v %v", topic, err, res.Errors)
	}
}

func produceEach(t *testing.T, brokers []string, topic string, partitions, per int) {
	t.Helper()
	for p := range partitions {
		conn, err := kafka.DialLeader(t.Context(), "tcp", brokers[0], topic, p)
		if err != nil {
			t.Fatal(err)
		}
		msgs := make([]kafka.Message, per)
		for i := range msgs {
			msgs[i] = kafka.Message{Value: fmt.Appendf(nil, "%d/%d", p, i)}
		}
		if _, err := conn.WriteMessages(msgs...); err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}
}

// TestGroupRebalanceCommitsTheAckedPrefixAndIgnoresStaleAcks: a member
// holding every partition acknowledges the first half of each; a second
// member joins. The revoked assignment commits exactly the acknowledged
// prefix, the unacknowledged half is delivered again (to either member, in
// a new epoch), acknowledgements of the old epoch that arrive after the
// rebalance are ignored, and a third member after a hard stop of both
// finds the commit still at the half.
func TestGroupRebalanceCommitsTheAckedPrefixAndIgnoresStaleAcks(t *testing.T) {
	const parts, per, half = 4, 20, 10
	brokers := fakeBrokers(t)
	topic, group := fmt.Sprintf("rebalance.%d", time.Now().UnixNano()), "g"
	createTopic(t, brokers, topic, parts)
	produceEach(t, brokers, topic, parts, per)

	a := join(t, brokers, topic, group)
	first := collect(t, parts*per, a)[a]
	var acked, stale []schemas.Message
	for _, m := range first {
		if m.Offset < half {
			acked = append(acked, m)
		} else {
			stale = append(stale, m)
		}
	}
	a.g.Ack(schemas.Spans(nil, acked))

	b := join(t, brokers, topic, group)
	again := collect(t, parts*(per-half), a, b)
	seen := map[string]bool{}
	for m, msgs := range again {
		for _, msg := range msgs {
			id := fmt.Sprintf("%d@%d", msg.Partition, msg.Offset)
			if msg.Offset < half {
				t.Fatalf("offset %s was acknowledged before the rebalance but delivered again", id)
			}
			if seen[id] {
				t.Fatalf("offset %s delivered twice after the rebalance", id)
			}
			seen[id] = true
			if m == a && msg.Epoch == first[0].Epoch {
				t.Fatalf("offset %s redelivered in the revoked epoch %d", id, msg.Epoch)
			}
		}
	}
	if len(again[a]) == 0 || len(again[b]) == 0 {
		t.Fatalf("after the rebalance a got %d and b %d messages; want both to own partitions", len(again[a]), len(again[b]))
	}

	// Late acknowledgements of the revoked epoch change nothing.
	a.g.Ack(schemas.Spans(nil, stale))
	a.stop()
	b.stop()
	<-a.done
	<-b.done
	a.done <- nil
	b.done <- nil

	c := join(t, brokers, topic, group)
	last := collect(t, parts*(per-half), c)[c]
	for _, msg := range last {
		if msg.Offset < half {
			t.Fatalf("after the hard stop, offset %d@%d was delivered again though acknowledged", msg.Partition, msg.Offset)
		}
	}
	c.g.Ack(schemas.Spans(nil, last))
	c.g.StopFetching()
	if err := <-c.done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	c.done <- nil
}
