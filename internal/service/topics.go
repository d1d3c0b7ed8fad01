package service

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/consumers"
)

// TopicsReady is what CreateTopics made (or found).
type TopicsReady struct {
	Topics     []string `json:"topics"`
	Partitions int      `json:"partitions"`
	DriftTopic string   `json:"drift_topic,omitempty"`
}

// CreateTopics makes cfg's input, output and dead-letter topics with
// topics.partitions partitions and topics.replication_factor replicas, and
// the drift topic (one partition) when drift is on, within 30 seconds.
// Topics that already exist are left as they are.
func CreateTopics(ctx context.Context, cfg *config.Config) (TopicsReady, error) {
	kc, err := NewKafkaConn(cfg.Brokers, &cfg.Kafka)
	if err != nil {
		return TopicsReady{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	t := cfg.Topics
	if err := consumers.CreateTopics(ctx, kc.Dialer, kc.Brokers, t.Partitions, t.ReplicationFactor, t.Input, t.Output, t.DLQ); err != nil {
		return TopicsReady{}, err
	}
	ready := TopicsReady{Topics: []string{t.Input, t.Output, t.DLQ}, Partitions: t.Partitions}
	if cfg.Drift.Enabled && cfg.Drift.Topic != "" {
		// Drift events are few; one partition keeps them in order.
		if err := consumers.CreateTopics(ctx, kc.Dialer, kc.Brokers, 1, t.ReplicationFactor, cfg.Drift.Topic); err != nil {
			return TopicsReady{}, err
		}
		ready.DriftTopic = cfg.Drift.Topic
	}
	return ready, nil
}

// Write prints r as lines of text, or as indented JSON (snake_case keys).
func (r TopicsReady) Write(w io.Writer, asJSON bool) error {
	if asJSON {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	fmt.Fprintf(w, "topics ready: %s (%d partitions)\n", strings.Join(r.Topics, ", "), r.Partitions)
	if r.DriftTopic != "" {
		fmt.Fprintf(w, "drift topic ready: %s\n", r.DriftTopic)
	}
	return nil
}
