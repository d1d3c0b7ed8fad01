package config

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/consumers"
)

// KafkaConn is how the commands that only talk to Kafka (produce, consume,
// topics, dlq, replay) reach the brokers: the addresses, and the dialer and
// transport that carry the TLS and SASL settings (nil for kafka-go's
// defaults when none are configured).
type KafkaConn struct {
	Brokers     []string
	Dialer      *kafka.Dialer
	Transport   *kafka.Transport
	DialTimeout time.Duration
}

// NewKafkaConn validates brokers and the security settings and builds the
// dialer and transport for them.
func NewKafkaConn(brokers []string, sec *KafkaSecurityConfig) (KafkaConn, error) {
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

// ConnectKafka reads the configuration file path (or only the environment
// when path is empty) and returns its connection settings; brokers, if not
// empty, win over STREAMSCORE_BROKERS, which wins over the file's brokers.
func ConnectKafka(path string, brokers []string) (KafkaConn, error) {
	cfg, err := Load(path)
	if err != nil {
		return KafkaConn{}, err
	}
	if len(brokers) > 0 {
		cfg.Brokers = brokers
	}
	return NewKafkaConn(cfg.Brokers, &cfg.Kafka)
}

// Reach returns nil once a broker answers, or an error saying what
// answered and what did not (within the dial timeout per address); it
// returns at once when ctx is done, so a signal ends start-up.
func (k KafkaConn) Reach(ctx context.Context) error {
	if err := consumers.Reach(ctx, k.Brokers, k.Dialer, k.DialTimeout); err != nil {
		return fmt.Errorf("connecting to Kafka (check --brokers, kafka.tls and kafka.sasl): %w", err)
	}
	return nil
}
