package producers

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"
	produceAPI "github.com/segmentio/kafka-go/protocol/produce"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/streamscore/streamscore/schemas"
)

// fakeCluster starts an in-process Kafka with the given topics.
func fakeCluster(t *testing.T, topics ...string) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func readTopic(t *testing.T, brokers []string, topic string, want int) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second) // generous: a loaded machine reads slowly
	defer cancel()
	var out []kafka.Message
	for p := range 4 {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MaxWait: 200 * time.Millisecond})
		for {
			lag, err := r.ReadLag(ctx)
			if err != nil || lag == 0 {
				break
			}
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatalf("reading %s/%d: %v", topic, p, err)
			}
			out = append(out, m)
		}
		r.Close()
	}
	if len(out) != want {
		t.Fatalf("%s holds %d records, want %d", topic, len(out), want)
	}
	return out
}

func batch(n int, prefix string) ([]schemas.Message, []schemas.DeadLetter) {
	var scored []schemas.Message
	for i := range n {
		scored = append(scored, schemas.Message{Key: []byte(prefix + "k" + string(rune('a'+i%26))), Value: []byte(`{"n":1}`)})
	}
	dead := []schemas.DeadLetter{{
		Msg:    schemas.Message{Topic: "in", Partition: 2, Offset: 41, Key: []byte("bad"), Value: []byte("not json"), Headers: []schemas.Header{{Key: "trace", Value: []byte("t1")}}},
		Reason: schemas.ReasonInvalidJSON, Detail: "event is not a JSON object", Schema: "s/1", Model: "m", ModelVersion: "3", At: time.Unix(1700000000, 0),
	}}
	return scored, dead
}

func TestPublishAsyncDeliversEveryRecord(t *testing.T) {
	brokers := fakeCluster(t, "scored", "dlq")
	w, err := New(Config{Brokers: brokers, Topic: "scored", DLQTopic: "dlq"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const batches = 20
	var wg sync.WaitGroup
	errs := make(chan error, batches)
	for i := range batches {
		scored, dead := batch(50, string(rune('A'+i)))
		wg.Add(1)
		w.PublishAsync(t.Context(), scored, dead, func(err error) {
			errs <- err
			wg.Done()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("done(%v), want nil", err)
		}
	}
	readTopic(t, brokers, "scored", batches*50)
	dl := readTopic(t, brokers, "dlq", batches)
	h := map[string]string{}
	for _, x := range dl[0].Headers {
		h[x.Key] = string(x.Value)
	}
	if string(dl[0].Value) != "not json" || string(dl[0].Key) != "bad" || h["trace"] != "t1" ||
		h[schemas.HeaderReason] != "invalid_json" || h[schemas.HeaderSourceOffset] != "41" || h[schemas.HeaderModelVersion] != "3" {
		t.Fatalf("dead letter %q/%q headers %v", dl[0].Key, dl[0].Value, h)
	}
}

func TestPublishWaitsForAcks(t *testing.T) {
	brokers := fakeCluster(t, "scored", "dlq")
	w, err := New(Config{Brokers: brokers, Topic: "scored", DLQTopic: "dlq"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	scored, dead := batch(100, "x")
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	scored[7].Headers = []schemas.Header{{Key: "traceparent", Value: []byte(tp)}}
	if err := w.Publish(t.Context(), scored, dead); err != nil {
		t.Fatal(err)
	}
	with := 0
	for _, m := range readTopic(t, brokers, "scored", 100) {
		if len(m.Headers) > 0 {
			with++
			if len(m.Headers) != 1 || m.Headers[0].Key != "traceparent" || string(m.Headers[0].Value) != tp {
				t.Errorf("scored record headers = %v, want the traceparent alone", m.Headers)
			}
		}
	}
	if with != 1 {
		t.Errorf("%d scored records carry headers, want 1", with)
	}
}

func TestPublishAsyncGivesUpWhenCancelled(t *testing.T) {
	brokers := fakeCluster(t, "scored")
	// The dead-letter topic does not exist, so every attempt fails.
	w, err := New(Config{Brokers: brokers, Topic: "scored", DLQTopic: "missing"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	scored, dead := batch(5, "y")
	got := make(chan error, 1)
	w.PublishAsync(ctx, scored, dead, func(err error) { got <- err })
	select {
	case err := <-got:
		if err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
			t.Fatalf("done(%v), want the context's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("done was never called")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no brokers", Config{Topic: "t"}, "brokers"},
		{"no topic", Config{Brokers: []string{"b:1"}}, "topics.output"},
		{"bad codec", Config{Brokers: []string{"b:1"}, Topic: "t", Compression: "brotli"}, "producer.compression"},
		{"negative", Config{Brokers: []string{"b:1"}, Topic: "t", BatchSize: -1}, "producer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// countingTransport answers metadata requests for topic "t" with two
// partitions (or errCode) and counts the calls.
type countingTransport struct {
	calls   int
	errCode int16
}

func (c *countingTransport) RoundTrip(ctx context.Context, addr net.Addr, req kafka.Request) (kafka.Response, error) {
	c.calls++
	if _, ok := req.(*metadataAPI.Request); !ok {
		return nil, errors.New("not metadata")
	}
	return &metadataAPI.Response{Topics: []metadataAPI.ResponseTopic{{Name: "t", ErrorCode: c.errCode, Partitions: make([]metadataAPI.ResponsePartition, 2)}}}, nil
}

func TestMetadataCache(t *testing.T) {
	now := time.Unix(1000, 0)
	tests := []struct {
		name      string
		req       kafka.Request
		errCode   int16
		advance   time.Duration
		wantCalls int // for 100 requests, advancing the clock by advance after each
	}{
		{"one topic is asked once per second", &metadataAPI.Request{TopicNames: []string{"t"}}, 0, 15 * time.Millisecond, 2},
		{"an error is not cached", &metadataAPI.Request{TopicNames: []string{"t"}}, 3, 0, 100},
		{"auto-creation passes through", &metadataAPI.Request{TopicNames: []string{"t"}, AllowAutoTopicCreation: true}, 0, 0, 100},
		{"several topics pass through", &metadataAPI.Request{TopicNames: []string{"t", "u"}}, 0, 0, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next := &countingTransport{errCode: tc.errCode}
			m := newMetadataCache(next)
			clock := now
			m.now = func() time.Time { return clock }
			for range 100 {
				res, err := m.RoundTrip(t.Context(), nil, tc.req)
				if err != nil {
					t.Fatal(err)
				}
				if got := len(res.(*metadataAPI.Response).Topics[0].Partitions); got != 2 {
					t.Fatalf("response has %d partitions, want 2", got)
				}
				clock = clock.Add(tc.advance)
			}
			if next.calls != tc.wantCalls {
				t.Fatalf("transport called %d times for 100 requests, want %d", next.calls, tc.wantCalls)
			}
		})
	}
	// Other requests pass through untouched.
	next := &countingTransport{}
	if _, err := newMetadataCache(next).RoundTrip(t.Context(), nil, &produceAPI.Request{}); err == nil || next.calls != 1 {
		t.Fatalf("a produce request: err %v, calls %d; want it passed to the transport", err, next.calls)
	}
}
