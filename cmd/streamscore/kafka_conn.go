package main

import (
	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/config"
)

// kafkaConnFlags are --config and --brokers of the commands that only talk
// to Kafka.
type kafkaConnFlags struct {
	config  string
	brokers []string
}

func (f *kafkaConnFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.config, "config", "c", "", "configuration file (streamscore.yaml) for brokers, kafka.tls and kafka.sasl")
	cmd.Flags().StringSliceVar(&f.brokers, "brokers", nil, "Kafka bootstrap brokers host:port (default $STREAMSCORE_BROKERS, else brokers of --config, else 127.0.0.1:9092)")
}

// connect returns the connection settings of --config and --brokers.
func (f *kafkaConnFlags) connect() (config.KafkaConn, error) {
	return config.ConnectKafka(f.config, f.brokers)
}
