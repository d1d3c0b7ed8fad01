package service

import (
	"context"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/producers"
)

func TestHealthGateBeforeTheCheck(t *testing.T) {
	var g HealthGate
	if err := g.Ready(); err == nil || !strings.Contains(err.Error(), "kafka.startup_timeout") {
		t.Fatalf("Ready before Set = %v; want not ready, naming kafka.startup_timeout", err)
	}
	if err := g.Healthy(); err != nil {
		t.Fatalf("Healthy before Set = %v; want alive", err)
	}
}

func TestStartOpsWithoutAddressServesNothing(t *testing.T) {
	cfg := config.Default()
	cfg.HTTP.Addr = ""
	stop, err := StartOps(t.Context(), &cfg, OpsEndpoint{Command: "run"}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestAwaitKafka(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	cfg := config.Default()
	cfg.Brokers = []string{"127.0.0.1:1"} // nothing listens on port 1
	cfg.Kafka.StartupTimeout = 300 * time.Millisecond

	client, err := AwaitKafka(t.Context(), &cfg, nil, nil, log)
	if err == nil || client != nil {
		t.Fatalf("no broker: client %v, err %v; want an error", client, err)
	}

	// A context ended first is a stop, not a failure.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	client, err = AwaitKafka(ctx, &cfg, nil, nil, log)
	if err != nil || client != nil {
		t.Fatalf("cancelled: client %v, err %v; want neither", client, err)
	}
}

func TestSignalContextCancelsOnTheFirstSignal(t *testing.T) {
	ctx, stop := SignalContext(slog.New(slog.DiscardHandler))
	defer stop()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the context was not cancelled by SIGTERM")
	}
}

func TestNewKafkaConn(t *testing.T) {
	tests := []struct {
		name    string
		brokers []string
		want    string // an error naming this, or "" for success
	}{
		{"none", nil, "STREAMSCORE_BROKERS"},
		{"no port", []string{"localhost"}, `"localhost" has no port`},
		{"ok", []string{"127.0.0.1:9092", "127.0.0.1:9093"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sec := config.Default().Kafka
			kc, err := NewKafkaConn(tc.brokers, &sec)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("NewKafkaConn = %v, want an error naming %s", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(kc.Brokers) != 2 || kc.DialTimeout <= 0 {
				t.Fatalf("conn = %+v; want both brokers and a dial timeout", kc)
			}
			w := kc.Writer()
			defer w.Close()
			if w.Topic != "" || w.RequiredAcks != kafka.RequireAll || w.Addr.String() != "127.0.0.1:9092,127.0.0.1:9093" {
				t.Fatalf("writer topic %q acks %v addr %v; want no topic, acks all, both brokers", w.Topic, w.RequiredAcks, w.Addr)
			}
		})
	}
}

func TestKafkaConnReachStopsWithTheContext(t *testing.T) {
	sec := config.Default().Kafka
	kc, err := NewKafkaConn([]string{"127.0.0.1:1"}, &sec)
	if err != nil {
		t.Fatal(err)
	}
	if err := kc.Reach(t.Context()); err == nil || !strings.Contains(err.Error(), "--brokers") {
		t.Fatalf("Reach with nothing listening = %v; want an error naming --brokers", err)
	}
	if _, err := kc.Redrive(t.Context(), producers.RedriveConfig{DLQ: "events.dlq"}); err == nil || !strings.Contains(err.Error(), "--brokers") {
		t.Fatalf("Redrive with nothing listening = %v; want the reach error", err)
	}
	if _, err := kc.DescribeTopics(t.Context(), nil, false, false); err == nil || !strings.Contains(err.Error(), "--brokers") {
		t.Fatalf("DescribeTopics with nothing listening = %v; want the reach error", err)
	}
}

func TestTopicsReadyWrite(t *testing.T) {
	r := TopicsReady{Topics: []string{"events", "scored", "events.dlq"}, Partitions: 6, DriftTopic: "drift"}
	var text, js strings.Builder
	if err := r.Write(&text, false); err != nil {
		t.Fatal(err)
	}
	if want := "topics ready: events, scored, events.dlq (6 partitions)\ndrift topic ready: drift\n"; text.String() != want {
		t.Fatalf("text %q, want %q", text.String(), want)
	}
	if err := r.Write(&js, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"drift_topic": "drift"`) || !strings.HasSuffix(js.String(), "}\n") {
		t.Fatalf("json %q; want indented snake_case keys and a newline", js.String())
	}
}

func TestCreateTopicsChecksTheBrokers(t *testing.T) {
	cfg := config.Default()
	cfg.Brokers = []string{"kafka"}
	if _, err := CreateTopics(t.Context(), &cfg); err == nil || !strings.Contains(err.Error(), "has no port") {
		t.Fatalf("CreateTopics = %v; want an error naming the broker without a port", err)
	}
}

func TestReplayKafka(t *testing.T) {
	cfg := config.Default()
	cfg.Brokers = []string{"127.0.0.1:9092"}
	cfg.Topics.Partitions, cfg.Topics.ReplicationFactor = 4, 1
	k, err := ReplayKafka(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Brokers) != 1 || k.Partitions != 4 || k.ReplicationFactor != 1 || k.NewWriter == nil {
		t.Fatalf("replay.Kafka %+v; want the brokers, 4 partitions, replication 1 and a writer", k)
	}
	cfg.Brokers = nil
	if _, err := ReplayKafka(&cfg); err == nil {
		t.Fatal("no brokers: want an error")
	}
}
