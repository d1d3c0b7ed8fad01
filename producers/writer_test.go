package producers

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
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
	if err := w.Publish(t.Context(), scored, dead); err != nil {
		t.Fatal(err)
	}
	readTopic(t, brokers, "scored", 100)
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
