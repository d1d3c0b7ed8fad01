package main

import (
	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/internal/service"
)

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
func (f *kafkaConnFlags) connect() (service.KafkaConn, error) {
	cfg, err := config.Load(f.config)
	if err != nil {
		return service.KafkaConn{}, err
	}
	if len(f.brokers) > 0 {
		cfg.Brokers = f.brokers
	}
	return service.NewKafkaConn(cfg.Brokers, &cfg.Kafka)
}
