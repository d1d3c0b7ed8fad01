package conformance

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/schemas"
)

// NewSink returns a Sink that writes scored events to topic and dead
// letters to dlq, keyed as the input.
type NewSink func(t *testing.T, brokers []string, topic, dlq string) pipeline.Sink

// sinkPartitions is how many partitions the suite's topics have.
const sinkPartitions = 3

// Sink runs the Sink suite against the brokers. Each case creates its own
// topics. If the Sink is also a pipeline.AsyncSink, PublishAsync is
// checked too.
func Sink(t *testing.T, brokers []string, newSink NewSink) {
	cases := []struct {
		name string
		run  func(t *testing.T, brokers []string, newSink NewSink)
	}{
		{"publishes every record once, in key order", sinkPublishesInKeyOrder},
		{"dead letters carry their reason and source", sinkDeadLetters},
		{"a cancelled publish reports an error", sinkCancelled},
		{"async publishes complete once each, in key order", sinkAsync},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, brokers, newSink) })
	}
}

func scoredBatch(b, n, keys int) []schemas.Message {
	out := make([]schemas.Message, n)
	for i := range out {
		out[i] = schemas.Message{Key: []byte("key-" + strconv.Itoa(i%keys)), Value: fmt.Appendf(nil, `{"batch":%d,"i":%d}`, b, i)}
	}
	return out
}

// readAll reads every partition of topic up to its end, read_committed:
// a transactional sink's commit markers take offsets but are not records.
func readAll(t *testing.T, brokers []string, topic string) []kafka.Message {
	t.Helper()
	var out []kafka.Message
	for p, end := range endOffsets(t, brokers, topic, sinkPartitions) {
		out = append(out, readCommitted(t, brokers, topic, p, end)...)
	}
	return out
}

// checkKeyOrder checks that topic holds want's values exactly once each
// and, per key, in want's order.
func checkKeyOrder(t *testing.T, got []kafka.Message, want []schemas.Message) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("the topic holds %d records, want %d", len(got), len(want))
	}
	wantByKey := map[string][]string{}
	for _, m := range want {
		wantByKey[string(m.Key)] = append(wantByKey[string(m.Key)], string(m.Value))
	}
	gotByKey := map[string][]string{}
	part := map[string]int{}
	for _, m := range got {
		k := string(m.Key)
		if p, ok := part[k]; ok && p != m.Partition {
			t.Fatalf("key %s written to partitions %d and %d", k, p, m.Partition)
		}
		part[k] = m.Partition
		gotByKey[k] = append(gotByKey[k], string(m.Value))
	}
	for k, w := range wantByKey {
		if !slices.Equal(gotByKey[k], w) {
			t.Fatalf("key %s: records %v, want %v", k, gotByKey[k], w)
		}
	}
}

func sinkTopics(t *testing.T, brokers []string) (topic, dlq string) {
	topic, dlq = uniqueName("sink-out"), uniqueName("sink-dlq")
	createTopic(t, brokers, topic, sinkPartitions)
	createTopic(t, brokers, dlq, sinkPartitions)
	return topic, dlq
}

func sinkPublishesInKeyOrder(t *testing.T, brokers []string, newSink NewSink) {
	topic, dlq := sinkTopics(t, brokers)
	sink := newSink(t, brokers, topic, dlq)
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	var all []schemas.Message
	for b := range 3 {
		batch := scoredBatch(b, 50, 7)
		if err := sink.Publish(ctx, batch, nil); err != nil {
			t.Fatalf("Publish batch %d: %v", b, err)
		}
		all = append(all, batch...)
	}
	checkKeyOrder(t, readAll(t, brokers, topic), all)
	if ends := endOffsets(t, brokers, dlq, sinkPartitions); slices.Max(ends) != 0 {
		t.Fatalf("the dead-letter topic holds records %v after publishing none", ends)
	}
}

func sinkDeadLetters(t *testing.T, brokers []string, newSink NewSink) {
	topic, dlq := sinkTopics(t, brokers)
	sink := newSink(t, brokers, topic, dlq)
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	at := time.Unix(1700000000, 0)
	dead := []schemas.DeadLetter{
		{Msg: schemas.Message{Topic: "in", Partition: 2, Offset: 41, Key: []byte("bad"), Value: []byte("not json"), Headers: []schemas.Header{{Key: "traceparent", Value: []byte("t1")}}},
			Reason: schemas.ReasonInvalidJSON, Detail: "event is not a JSON object", Schema: "s/1", At: at},
		{Msg: schemas.Message{Topic: "in", Partition: 0, Offset: 7, Key: []byte("worse"), Value: []byte(`{"a":"x"}`)},
			Reason: schemas.ReasonTypeMismatch, Field: "a", Detail: "not a number", Schema: "s/1", At: at},
	}
	scored := scoredBatch(0, 5, 5)
	if err := sink.Publish(ctx, scored, dead); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	checkKeyOrder(t, readAll(t, brokers, topic), scored)
	got := readAll(t, brokers, dlq)
	if len(got) != len(dead) {
		t.Fatalf("the dead-letter topic holds %d records, want %d", len(got), len(dead))
	}
	for _, d := range dead {
		i := slices.IndexFunc(got, func(m kafka.Message) bool { return string(m.Key) == string(d.Msg.Key) })
		if i < 0 {
			t.Fatalf("dead letter %s is missing", d.Msg.Key)
		}
		m := got[i]
		if string(m.Value) != string(d.Msg.Value) {
			t.Errorf("dead letter %s: value %q, want the input's %q", d.Msg.Key, m.Value, d.Msg.Value)
		}
		headers := map[string]string{}
		for _, h := range m.Headers {
			headers[h.Key] = string(h.Value)
		}
		for _, h := range d.Headers() {
			if headers[h.Key] != string(h.Value) {
				t.Errorf("dead letter %s: header %s = %q, want %q", d.Msg.Key, h.Key, headers[h.Key], h.Value)
			}
		}
	}
}

func sinkCancelled(t *testing.T, brokers []string, newSink NewSink) {
	topic, dlq := sinkTopics(t, brokers)
	sink := newSink(t, brokers, topic, dlq)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := sink.Publish(ctx, scoredBatch(0, 3, 3), nil); err == nil {
		t.Fatal("Publish with a cancelled context returned nil: the engine would acknowledge records that may not be written")
	}
}

func sinkAsync(t *testing.T, brokers []string, newSink NewSink) {
	topic, dlq := sinkTopics(t, brokers)
	sink, ok := newSink(t, brokers, topic, dlq).(pipeline.AsyncSink)
	if !ok {
		t.Skip("the sink is not an AsyncSink")
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	const batches = 8
	calls := make(chan error, 2*batches)
	var all []schemas.Message
	for b := range batches {
		batch := scoredBatch(b, 20, 5)
		all = append(all, batch...)
		sink.PublishAsync(ctx, batch, nil, func(err error) { calls <- err })
	}
	for b := range batches {
		select {
		case err := <-calls:
			if err != nil {
				t.Fatalf("PublishAsync done(%v)", err)
			}
		case <-ctx.Done():
			t.Fatalf("%d of %d PublishAsync calls completed within %s", b, batches, waitLimit)
		}
	}
	checkKeyOrder(t, readAll(t, brokers, topic), all)
	select {
	case err := <-calls:
		t.Fatalf("done called more than once per batch (%v)", err)
	default:
	}
}
