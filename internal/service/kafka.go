package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/pipeline/replay"
	"github.com/streamscore/streamscore/producers"
	"github.com/streamscore/streamscore/schemas"
)

// AwaitKafka waits (kafka.startup_timeout) for a broker to answer and checks
// that the output and dead-letter topics exist, and returns the client the
// health check uses. A nil client and error mean ctx ended first.
func AwaitKafka(ctx context.Context, cfg *config.Config, dialer *kafka.Dialer, transport *kafka.Transport, log *slog.Logger) (*kafka.Client, error) {
	stopped := func(err error) (*kafka.Client, error) {
		if ctx.Err() != nil {
			log.Info("stopped during start-up, before consuming anything")
			return nil, nil
		}
		return nil, err
	}
	if err := consumers.WaitForBrokers(ctx, cfg.Brokers, dialer, cfg.Kafka.DialTimeoutOrDefault(), cfg.Kafka.StartupTimeout, log); err != nil {
		return stopped(err)
	}
	client := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Timeout: cfg.Kafka.DialTimeoutOrDefault()}
	if transport != nil {
		client.Transport = transport
	}
	if err := consumers.CheckOutputTopics(ctx, client, cfg.Topics.Output, cfg.Topics.DLQ); err != nil {
		return stopped(err)
	}
	return client, nil
}

// KafkaConn is how the commands that only talk to Kafka (produce, consume,
// topics, dlq, replay) reach the brokers: the addresses, and the dialer and
// transport that carry the TLS and SASL settings of the configuration (nil
// for kafka-go's defaults when none are configured).
type KafkaConn struct {
	Brokers     []string
	Dialer      *kafka.Dialer
	Transport   *kafka.Transport
	DialTimeout time.Duration
}

// NewKafkaConn validates the brokers and security settings and builds the
// dialer and transport for them.
func NewKafkaConn(brokers []string, sec *config.KafkaSecurityConfig) (KafkaConn, error) {
	if len(brokers) == 0 {
		return KafkaConn{}, errors.New("brokers: at least one host:port is required (or set STREAMSCORE_BROKERS)")
	}
	for _, b := range brokers {
		if !strings.Contains(b, ":") {
			return KafkaConn{}, fmt.Errorf("brokers: %q has no port; write host:port", b)
		}
	}
	if err := sec.Validate(); err != nil {
		return KafkaConn{}, err
	}
	d, err := sec.Dialer()
	if err != nil {
		return KafkaConn{}, err
	}
	t, err := sec.Transport()
	if err != nil {
		return KafkaConn{}, err
	}
	return KafkaConn{Brokers: brokers, Dialer: d, Transport: t, DialTimeout: sec.DialTimeoutOrDefault()}, nil
}

// Reach returns nil once a broker answers, or an error saying what
// answered and what did not (within kafka.dial_timeout per address); it
// returns at once when ctx is done, so a signal ends start-up.
func (k KafkaConn) Reach(ctx context.Context) error {
	if err := consumers.Reach(ctx, k.Brokers, k.Dialer, k.DialTimeout); err != nil {
		return fmt.Errorf("connecting to Kafka (check --brokers, kafka.tls and kafka.sasl): %w", err)
	}
	return nil
}

// Writer returns a kafka-go Writer over the connection with the producers'
// defaults (acks from all in-sync replicas, a short batch timeout); it names
// no topic, so each message names its own. The caller closes it.
func (k KafkaConn) Writer() *kafka.Writer {
	pc := producers.Config{Brokers: k.Brokers, Transport: k.Transport}
	return pc.NewKafkaWriter()
}

// Redrive reads the dead-letter topic rc.DLQ from its start up to its end
// (waiting at most 30 seconds for a record) and sends the letters rc
// selects back to their topics (see producers.Redrive).
func (k KafkaConn) Redrive(ctx context.Context, rc producers.RedriveConfig) (producers.RedriveResult, error) {
	if err := k.Reach(ctx); err != nil {
		return producers.RedriveResult{}, err
	}
	w := k.Writer()
	defer w.Close()
	read := func(fn func(schemas.Message) error) error {
		_, err := consumers.Tail(ctx, consumers.TailConfig{Brokers: k.Brokers, Dialer: k.Dialer, Topic: rc.DLQ, FromBeginning: true, UntilEnd: true, Idle: 30 * time.Second}, fn)
		return err
	}
	return producers.Redrive(ctx, read, w, rc)
}

// DescribeTopics describes the named topics (all, with internal, when
// names is empty), with their configuration when withConfig, once a broker
// answers (see consumers.DescribeTopics).
func (k KafkaConn) DescribeTopics(ctx context.Context, names []string, internal, withConfig bool) (consumers.Topics, error) {
	if err := k.Reach(ctx); err != nil {
		return nil, err
	}
	ts, err := consumers.DescribeTopics(ctx, consumers.Client(k.Dialer, k.Brokers, 10*time.Second), names, internal, withConfig)
	return consumers.Topics(ts), err
}

// Retention returns the topic's effective retention.ms, negative when
// records are kept however old (see consumers.Retention).
func (k KafkaConn) Retention(ctx context.Context, topic string) (time.Duration, error) {
	return consumers.Retention(ctx, consumers.Client(k.Dialer, k.Brokers, 10*time.Second), topic)
}

// SetTopicConfig sets configuration entries of a topic once a broker
// answers (see consumers.SetTopicConfig).
func (k KafkaConn) SetTopicConfig(ctx context.Context, topic string, entries [][2]string) error {
	if err := k.Reach(ctx); err != nil {
		return err
	}
	return consumers.SetTopicConfig(ctx, consumers.Client(k.Dialer, k.Brokers, 10*time.Second), topic, entries)
}

// ReplayKafka returns what a replay needs of cfg's brokers: the connection,
// and the partitions and replication factor of a topic it creates.
func ReplayKafka(cfg *config.Config) (replay.Kafka, error) {
	kc, err := NewKafkaConn(cfg.Brokers, &cfg.Kafka)
	if err != nil {
		return replay.Kafka{}, err
	}
	return replay.Kafka{
		Brokers: kc.Brokers, Dialer: kc.Dialer, Transport: kc.Transport, DialTimeout: kc.DialTimeout,
		Partitions: cfg.Topics.Partitions, ReplicationFactor: cfg.Topics.ReplicationFactor,
		NewWriter: func(string) *kafka.Writer { return kc.Writer() },
	}, nil
}
