package consumers_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streamscore/streamscore/consumers"
)

// fetchLog records, for every Fetch request a fake cluster receives, the
// node that received it and the partitions it asked for.
type fetchLog struct {
	mu   sync.Mutex
	reqs []fetchReq
}

type fetchReq struct {
	node  int32
	parts []int32
}

func (l *fetchLog) watch(c *kfake.Cluster) {
	c.ControlKey(int16(kmsg.Fetch), func(r kmsg.Request) (kmsg.Response, error, bool) {
		req := r.(*kmsg.FetchRequest)
		fr := fetchReq{node: c.CurrentNode()}
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				fr.parts = append(fr.parts, p.Partition)
			}
		}
		l.mu.Lock()
		l.reqs = append(l.reqs, fr)
		l.mu.Unlock()
		return nil, nil, false
	})
}

func (l *fetchLog) snapshot() []fetchReq {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]fetchReq(nil), l.reqs...)
}

// produceTo writes n records to topic's partition p, values "p-i" for i
// from first.
func produceTo(t *testing.T, brokers []string, topic string, p, first, n int) {
	t.Helper()
	recs := make([]kafka.Record, n)
	for i := range recs {
		recs[i] = kafka.Record{Value: kafka.NewBytes([]byte(fmt.Sprintf("%d-%d", p, first+i)))}
	}
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second, Transport: tr}
	res, err := c.Produce(t.Context(), &kafka.ProduceRequest{Topic: topic, Partition: p, RequiredAcks: kafka.RequireAll, Records: kafka.NewRecordReader(recs...)})
	if err == nil {
		err = res.Error
	}
	if err != nil {
		t.Fatalf("producing to %s/%d: %v", topic, p, err)
	}
}

// readN reads n records from p and checks that their values are "part-i"
// for i from first, in order.
func readN(t *testing.T, ctx context.Context, p consumers.PositionedReader, part, first, n int) {
	t.Helper()
	for i := range n {
		m, err := p.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("partition %d, record %d of %d: %v", part, i, n, err)
		}
		if want := strconv.Itoa(part) + "-" + strconv.Itoa(first+i); string(m.Value) != want || m.Partition != part {
			t.Fatalf("partition %d: read %q from partition %d, want %q", part, m.Value, m.Partition, want)
		}
	}
}

// TestFetcherFetchesPerBroker reads six partitions led by three brokers:
// every Fetch request goes to the leader of all its partitions, and each
// broker's first asks for all of them; each partition is read whole and in order from its start
// (an offset, the earliest or the latest); a partition whose leader moves
// while it is read goes on from where it was.
func TestFetcherFetchesPerBroker(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(6, "events"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	leader := map[int32]int32{}
	for p := range int32(6) {
		leader[p] = c.LeaderFor("events", p)
	}
	for p := range 6 {
		produceTo(t, brokers, "events", p, 0, 50)
	}
	var log fetchLog
	log.watch(c)
	starts := []int64{kafka.FirstOffset, kafka.LastOffset, 10, 0, 49, kafka.FirstOffset}
	tps := make([]consumers.TopicPartition, 6)
	for p := range tps {
		tps[p] = consumers.TopicPartition{Topic: "events", Partition: p, Offset: starts[p]}
	}
	f := consumers.NewFetcher(consumers.FetcherConfig{Brokers: brokers, MaxWait: 200 * time.Millisecond}, tps)
	defer f.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	readN(t, ctx, f.Partition("events", 0), 0, 0, 50)
	readN(t, ctx, f.Partition("events", 2), 2, 10, 40)
	readN(t, ctx, f.Partition("events", 3), 3, 0, 50)
	readN(t, ctx, f.Partition("events", 4), 4, 49, 1)
	// Partition 1 starts at the latest offset: only what comes after.
	time.Sleep(300 * time.Millisecond)
	produceTo(t, brokers, "events", 1, 50, 5)
	readN(t, ctx, f.Partition("events", 1), 1, 50, 5)
	// Partition 5 moves to another broker halfway.
	readN(t, ctx, f.Partition("events", 5), 5, 0, 50)
	from := leader[5]
	to := (from + 1) % 3
	if err := c.MoveTopicPartition("events", 5, to); err != nil {
		t.Fatal(err)
	}
	leader[5] = to
	moved := len(log.snapshot())
	produceTo(t, brokers, "events", 5, 50, 20)
	readN(t, ctx, f.Partition("events", 5), 5, 50, 20)
	if got := f.Partition("events", 5).Offset(); got != 70 {
		t.Errorf("partition 5's offset after reading 70 records = %d, want 70", got)
	}

	reqs := log.snapshot()
	// Each broker's first request asks for all of its partitions (the
	// leaders before the move).
	led := map[int32]int{}
	for p, l := range leader {
		if p == 5 {
			l = from
		}
		led[l]++
	}
	firsts := map[int32]bool{}
	for _, r := range reqs {
		if !firsts[r.node] && led[r.node] > 0 {
			firsts[r.node] = true
			if len(r.parts) != led[r.node] {
				t.Errorf("broker %d's first fetch request asked for partitions %v, want all %d of its", r.node, r.parts, led[r.node])
			}
		}
	}
	multi := 0
	for i, r := range reqs {
		for _, p := range r.parts {
			// Requests sent before the move may name partition 5 at its
			// old leader; the broker answers NOT_LEADER and the fetcher
			// looks the leaders up again.
			if leader[p] != r.node && !(p == 5 && i < moved+3) {
				t.Errorf("request %d to broker %d asked for partition %d, led by %d", i, r.node, p, leader[p])
			}
		}
		if len(r.parts) > 1 {
			multi++
		}
	}
	if multi == 0 {
		t.Errorf("none of %d fetch requests carried more than one partition", len(reqs))
	}
	t.Logf("%d fetch requests, %d with several partitions", len(reqs), multi)
}

// TestFetcherHeldPartitionDoesNotWait reads one busy partition, in many
// small responses, beside idle ones, with a long MaxWait: the busy
// partition's queue fills after every response and it is left out of the
// request then in flight, so without a short wait for such requests each
// response would cost MaxWait.
func TestFetcherHeldPartitionDoesNotWait(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "events"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	for i := range 30 {
		produceTo(t, brokers, "events", 0, i*10, 10)
	}
	var log fetchLog
	log.watch(c)
	tps := make([]consumers.TopicPartition, 4)
	for p := range tps {
		tps[p] = consumers.TopicPartition{Topic: "events", Partition: p, Offset: kafka.FirstOffset}
	}
	f := consumers.NewFetcher(consumers.FetcherConfig{Brokers: brokers, MaxWait: 3 * time.Second, MaxBytes: 200, Queue: 1}, tps)
	defer f.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	// Read slowly, so that the next response is queued before this one is
	// read and the partition's queue is full when a request is sent.
	p := f.Partition("events", 0)
	for i := range 30 {
		readN(t, ctx, p, 0, i*10, 10)
		time.Sleep(10 * time.Millisecond)
	}
	reqs := log.snapshot()
	held := 0
	for _, r := range reqs {
		if len(r.parts) < 4 {
			held++
		}
	}
	if held == 0 {
		t.Errorf("none of %d fetch requests left the busy partition out: the test did not fill its queue", len(reqs))
	}
	t.Logf("%d fetch requests, %d without the busy partition", len(reqs), held)
}

// TestFetcherWakesEveryWaitingBroker fills the queues of two partitions
// led by two brokers, so both brokers' fetch loops wait for room, then
// reads one partition only: each read must wake its own broker's loop,
// whatever the other one does.
func TestFetcherWakesEveryWaitingBroker(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(2), kfake.SeedTopics(2, "events"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.LeaderFor("events", 0) == c.LeaderFor("events", 1) {
		if err := c.MoveTopicPartition("events", 1, 1-c.LeaderFor("events", 0)); err != nil {
			t.Fatal(err)
		}
	}
	brokers := c.ListenAddrs()
	for p := range 2 {
		for i := range 30 {
			produceTo(t, brokers, "events", p, i*10, 10)
		}
	}
	tps := []consumers.TopicPartition{{Topic: "events", Partition: 0, Offset: kafka.FirstOffset}, {Topic: "events", Partition: 1, Offset: kafka.FirstOffset}}
	f := consumers.NewFetcher(consumers.FetcherConfig{Brokers: brokers, MaxWait: 3 * time.Second, MaxBytes: 200, Queue: 1}, tps)
	defer f.Close()
	time.Sleep(300 * time.Millisecond) // both queues fill; both loops wait
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	readN(t, ctx, f.Partition("events", 0), 0, 0, 300)
}
