package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/consumers"
)

// kafkaConn is how the commands that only talk to Kafka (produce, consume,
// topics, dlq redrive) reach the brokers: the addresses, and the dialer and
// transport that carry the TLS and SASL settings of --config (nil for
// kafka-go's defaults when none are configured).
type kafkaConn struct {
	brokers     []string
	dialer      *kafka.Dialer
	transport   *kafka.Transport
	dialTimeout time.Duration
}

// reach returns nil once a broker answers, or an error saying what
// answered and what did not (within kafka.dial_timeout per address); it
// returns at once when ctx is done, so a signal ends start-up.
func (k kafkaConn) reach(ctx context.Context) error {
	if err := consumers.Reach(ctx, k.brokers, k.dialer, k.dialTimeout); err != nil {
		return fmt.Errorf("connecting to Kafka (check --brokers, kafka.tls and kafka.sasl): %w", err)
	}
	return nil
}

// kafkaConnFlags are --config and --brokers of those commands.
type kafkaConnFlags struct {
	config  string
	brokers []string
}

func (f *kafkaConnFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.config, "config", "c", "", "configuration file (streamscore.yaml) for brokers, kafka.tls and kafka.sasl")
	cmd.Flags().StringSliceVar(&f.brokers, "brokers", nil, "Kafka bootstrap brokers host:port (default $STREAMSCORE_BROKERS, else brokers of --config, else 127.0.0.1:9092)")
}

// connect reads --config (or only the environment without it) and returns
// the connection settings. --brokers wins over STREAMSCORE_BROKERS, which
// wins over the file's brokers.
func (f *kafkaConnFlags) connect() (kafkaConn, error) {
	cfg, err := config.Load(f.config)
	if err != nil {
		return kafkaConn{}, err
	}
	if len(f.brokers) > 0 {
		cfg.Brokers = f.brokers
	}
	return newKafkaConn(cfg.Brokers, &cfg.Kafka)
}

// newKafkaConn validates the brokers and security settings and builds the
// dialer and transport for them.
func newKafkaConn(brokers []string, sec *config.KafkaSecurityConfig) (kafkaConn, error) {
	if len(brokers) == 0 {
		return kafkaConn{}, errors.New("brokers: at least one host:port is required (or set STREAMSCORE_BROKERS)")
	}
	for _, b := range brokers {
		if !strings.Contains(b, ":") {
			return kafkaConn{}, fmt.Errorf("brokers: %q has no port; write host:port", b)
		}
	}
	if err := sec.Validate(); err != nil {
		return kafkaConn{}, err
	}
	d, err := sec.Dialer()
	if err != nil {
		return kafkaConn{}, err
	}
	t, err := sec.Transport()
	if err != nil {
		return kafkaConn{}, err
	}
	return kafkaConn{brokers: brokers, dialer: d, transport: t, dialTimeout: sec.DialTimeoutOrDefault()}, nil
}
