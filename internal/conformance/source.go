package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/schemas"
)

// NewSource returns a Source that reads topic as a member of the consumer
// group group, from the earliest offset where the group has committed
// nothing. The suite runs it once and stops it.
type NewSource func(t *testing.T, brokers []string, topic, group string) pipeline.Source

// Source runs the Source suite against the brokers. Each case creates its
// own topic and group.
func Source(t *testing.T, brokers []string, newSource NewSource) {
	cases := []struct {
		name string
		run  func(t *testing.T, brokers []string, newSource NewSource)
	}{
		{"delivers every record once in partition order", sourceDeliversInOrder},
		{"graceful stop waits for acks and commits them", sourceStopCommits},
		{"hard stop commits only the acknowledged prefix", sourceHardStopCommitsPrefix},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, brokers, newSource) })
	}
}

// running is a Source whose Run goroutine the suite owns.
type running struct {
	src  pipeline.Source
	out  chan schemas.Message
	done chan error
	stop context.CancelFunc
}

func start(t *testing.T, src pipeline.Source) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{src: src, out: make(chan schemas.Message, 16), done: make(chan error, 1), stop: cancel}
	go func() { r.done <- src.Run(ctx, r.out) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// receive returns the next n messages, failing t if they do not come in
// time or out closes first.
func (r *running) receive(t *testing.T, n int) []schemas.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	var got []schemas.Message
	for len(got) < n {
		select {
		case m, ok := <-r.out:
			if !ok {
				t.Fatalf("the source closed its output after %d of %d messages", len(got), n)
			}
			got = append(got, m)
		case <-ctx.Done():
			t.Fatalf("received %d of %d messages within %s", len(got), n, waitLimit)
		}
	}
	return got
}

// stopGrace is how long the suite waits for a Run that should stay
// blocked to (wrongly) return.
const stopGrace = 300 * time.Millisecond

// waitClosed waits for out to close, failing t if a message comes first.
func (r *running) waitClosed(t *testing.T) {
	t.Helper()
	select {
	case m, ok := <-r.out:
		if ok {
			t.Fatalf("message %s/%d@%d after StopFetching", m.Topic, m.Partition, m.Offset)
		}
	case <-time.After(waitLimit):
		t.Fatalf("the source did not close its output within %s of StopFetching", waitLimit)
	}
}

// finish waits for out to close and Run to return, returning what out
// still delivered and Run's error.
func (r *running) finish(t *testing.T) ([]schemas.Message, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	var rest []schemas.Message
	for {
		select {
		case m, ok := <-r.out:
			if !ok {
				select {
				case err := <-r.done:
					r.done <- err // for the cleanup
					return rest, err
				case <-ctx.Done():
					t.Fatalf("Run did not return within %s after closing its output", waitLimit)
				}
			}
			rest = append(rest, m)
		case <-ctx.Done():
			t.Fatalf("the source did not close its output within %s", waitLimit)
		}
	}
}

func records(p, n int) []kafka.Message {
	out := make([]kafka.Message, n)
	for i := range out {
		out[i] = kafka.Message{Key: key(p, i), Value: fmt.Appendf(nil, `{"p":%d,"i":%d}`, p, i), Headers: []kafka.Header{{Key: "h", Value: []byte{byte(i)}}}}
	}
	return out
}

func sourceDeliversInOrder(t *testing.T, brokers []string, newSource NewSource) {
	const parts, per = 3, 40
	topic, group := uniqueName("src-order"), uniqueName("grp")
	createTopic(t, brokers, topic, parts)
	for p := range parts {
		produce(t, brokers, topic, p, records(p, per))
	}
	r := start(t, newSource(t, brokers, topic, group))
	got := r.receive(t, parts*per)
	next := make([]int64, parts)
	for _, m := range got {
		if m.Topic != topic || m.Partition < 0 || m.Partition >= parts {
			t.Fatalf("message from %s/%d, want %s/0..%d", m.Topic, m.Partition, topic, parts-1)
		}
		i := next[m.Partition]
		if m.Offset != i || m.Prev != i-1 {
			t.Fatalf("%s/%d: offset %d (prev %d), want %d (prev %d): out of order, repeated or skipped", topic, m.Partition, m.Offset, m.Prev, i, i-1)
		}
		want := records(m.Partition, per)[i]
		if !slices.Equal(m.Key, want.Key) || !slices.Equal(m.Value, want.Value) || len(m.Headers) != 1 || m.Headers[0].Key != "h" || !slices.Equal(m.Headers[0].Value, want.Headers[0].Value) {
			t.Fatalf("%s/%d@%d: key %q value %q headers %v, want %q %q %v", topic, m.Partition, i, m.Key, m.Value, m.Headers, want.Key, want.Value, want.Headers)
		}
		next[m.Partition]++
	}
	r.src.Ack(schemas.Spans(nil, got))
	r.src.StopFetching()
	if rest, err := r.finish(t); err != nil || len(rest) != 0 {
		t.Fatalf("after StopFetching: %d more messages, Run = %v; want none and nil", len(rest), err)
	}
}

func sourceStopCommits(t *testing.T, brokers []string, newSource NewSource) {
	const n = 30
	topic, group := uniqueName("src-stop"), uniqueName("grp")
	createTopic(t, brokers, topic, 1)
	produce(t, brokers, topic, 0, records(0, n))
	r := start(t, newSource(t, brokers, topic, group))
	got := r.receive(t, n)
	r.src.Ack(schemas.Spans(nil, got[:n-1]))
	r.src.StopFetching()
	// The output closes, but Run waits for the last acknowledgement. A
	// Source on a real network cannot run in a synctest bubble, so the
	// suite gives a wrong Run a bounded moment to return.
	r.waitClosed(t)
	select {
	case err := <-r.done:
		r.done <- err
		t.Fatalf("Run returned (%v) after StopFetching with a message unacknowledged", err)
	case <-time.After(stopGrace):
	}
	r.src.Ack(schemas.Spans(nil, got[n-1:]))
	if rest, err := r.finish(t); err != nil || len(rest) != 0 {
		t.Fatalf("after StopFetching: %d more messages, Run = %v; want none and nil", len(rest), err)
	}
	// The group committed everything: the next member starts at a new record.
	produce(t, brokers, topic, 0, []kafka.Message{{Key: []byte("after"), Value: []byte(`{"after":true}`)}})
	r2 := start(t, newSource(t, brokers, topic, group))
	if m := r2.receive(t, 1)[0]; m.Offset != n || string(m.Key) != "after" {
		t.Fatalf("after a graceful stop the group resumed at offset %d (key %q), want %d: acknowledged records delivered again", m.Offset, m.Key, n)
	}
	r2.stop()
}

func sourceHardStopCommitsPrefix(t *testing.T, brokers []string, newSource NewSource) {
	const n, hole = 30, 10
	topic, group := uniqueName("src-hard"), uniqueName("grp")
	createTopic(t, brokers, topic, 1)
	produce(t, brokers, topic, 0, records(0, n))
	r := start(t, newSource(t, brokers, topic, group))
	got := r.receive(t, n)
	// Everything but offset hole is acknowledged.
	r.src.Ack(schemas.Spans(nil, got[:hole]))
	r.src.Ack(schemas.Spans(nil, got[hole+1:]))
	r.stop() // hard stop: ctx done
	if _, err := r.finish(t); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after a hard stop = %v", err)
	}
	// The commit stops below the hole: the next member gets it and
	// everything after it again, and nothing before it.
	r2 := start(t, newSource(t, brokers, topic, group))
	again := r2.receive(t, n-hole)
	for i, m := range again {
		if m.Offset != int64(hole+i) {
			t.Fatalf("after a hard stop with offset %d unacknowledged, redelivery %d is offset %d, want %d", hole, i, m.Offset, hole+i)
		}
	}
	r2.src.Ack(schemas.Spans(nil, again))
	r2.src.StopFetching()
	if rest, err := r2.finish(t); err != nil || len(rest) != 0 {
		t.Fatalf("after StopFetching: %d more messages, Run = %v", len(rest), err)
	}
}
