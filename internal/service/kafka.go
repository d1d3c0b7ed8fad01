package service

import (
	"context"
	"log/slog"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/consumers"
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
