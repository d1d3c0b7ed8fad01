package producers

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streamscore/streamscore/schemas"
)

// TestBrokerWriterProducesPerBroker publishes one batch over six
// partitions led by three brokers (one request per leader, carrying all
// of its partitions), then 40 batches at once, a leader moving halfway:
// every Produce request goes to the leader of all its partitions; every record is written once, each key's records in the order
// they were published, and the same keys land on the same partitions as
// kafka-go's Writer puts them.
func TestBrokerWriterProducesPerBroker(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(6, "scored"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	type req struct {
		node  int32
		parts []int32
	}
	var mu sync.Mutex
	var reqs []req
	leader := map[int32]int32{}
	for p := range int32(6) {
		leader[p] = c.LeaderFor("scored", p)
	}
	moved := -1
	c.ControlKey(int16(kmsg.Produce), func(r kmsg.Request) (kmsg.Response, error, bool) {
		pr := r.(*kmsg.ProduceRequest)
		q := req{node: c.CurrentNode()}
		for _, t := range pr.Topics {
			for _, p := range t.Partitions {
				q.parts = append(q.parts, p.Partition)
			}
		}
		mu.Lock()
		reqs = append(reqs, q)
		mu.Unlock()
		return nil, nil, false
	})
	w, err := New(Config{Brokers: brokers, Topic: "scored", Requests: PerBroker, BatchSize: 16}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const batches, keys, per = 40, 24, 2
	// One batch alone, one record per key (on every partition): one
	// request per broker, each carrying all of its partitions.
	var first []schemas.Message
	for k := range keys {
		first = append(first, schemas.Message{Key: []byte("key" + strconv.Itoa(k)), Value: []byte("-1")})
	}
	if err := w.Publish(t.Context(), first, nil); err != nil {
		t.Fatal(err)
	}
	led := map[int32]int{} // partitions per broker
	for _, l := range leader {
		led[l]++
	}
	mu.Lock()
	if len(reqs) != len(led) {
		t.Errorf("one batch over 6 partitions led by %d brokers took %d produce requests: %v", len(led), len(reqs), reqs)
	}
	for _, q := range reqs {
		if len(q.parts) != led[q.node] {
			t.Errorf("a request to broker %d carried partitions %v, want all %d of its", q.node, q.parts, led[q.node])
		}
	}
	reqs = nil
	mu.Unlock()
	var wg sync.WaitGroup
	errs := make(chan error, batches)
	for b := range batches {
		if b == batches/2 {
			wg.Wait()
			to := (leader[0] + 1) % 3
			if err := c.MoveTopicPartition("scored", 0, to); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			leader[0], moved = to, len(reqs)
			mu.Unlock()
		}
		var scored []schemas.Message
		for k := range keys {
			for i := range per {
				scored = append(scored, schemas.Message{Key: []byte("key" + strconv.Itoa(k)), Value: []byte(fmt.Sprintf("%d", b*per+i))})
			}
		}
		wg.Add(1)
		w.PublishAsync(t.Context(), scored, nil, func(err error) {
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

	// Read back: order per key, and partitions as kafka-go's balancer puts them.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var bal kafka.Murmur2Balancer
	parts := []int{0, 1, 2, 3, 4, 5}
	last := map[string]int{}
	total := 0
	for p := range 6 {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: "scored", Partition: p, MaxWait: 200 * time.Millisecond})
		for {
			lag, err := r.ReadLag(ctx)
			if err != nil || lag == 0 {
				break
			}
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			total++
			if want := bal.Balance(m, parts...); want != p {
				t.Errorf("key %s on partition %d, kafka-go's balancer says %d", m.Key, p, want)
			}
			n, _ := strconv.Atoi(string(m.Value))
			if prev, ok := last[string(m.Key)]; (ok && n != prev+1) || (!ok && n != -1) {
				t.Errorf("key %s: record %d after %d", m.Key, n, prev)
			}
			last[string(m.Key)] = n
		}
		r.Close()
	}
	if want := keys + batches*keys*per; total != want {
		t.Fatalf("read %d records, want %d", total, want)
	}

	mu.Lock()
	defer mu.Unlock()
	multi := 0
	for i, q := range reqs {
		if len(q.parts) > 1 {
			multi++
		}
		for _, p := range q.parts {
			if leader[p] != q.node && !(p == 0 && i < moved+6) {
				t.Errorf("request %d to broker %d carried partition %d, led by %d", i, q.node, p, leader[p])
			}
		}
	}
	if multi == 0 {
		t.Errorf("none of %d produce requests carried several partitions", len(reqs))
	}
	t.Logf("%d produce requests, %d with several partitions", len(reqs), multi)
}

func TestParseRequests(t *testing.T) {
	for in, want := range map[string]Requests{"": PerPartition, "per_partition": PerPartition, "per_broker": PerBroker} {
		if got, err := ParseRequests(in); got != want || err != nil {
			t.Errorf("ParseRequests(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseRequests("per_topic"); err == nil || !strings.Contains(err.Error(), "per_broker") {
		t.Errorf("ParseRequests(per_topic) = %v, want an error naming the choices", err)
	}
}
