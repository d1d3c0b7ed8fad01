package consumers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// OutputTopicGrace is how long CheckOutputTopics looks again for a topic
// that the metadata does not show yet.
const OutputTopicGrace = 10 * time.Second

// CheckOutputTopics fails when the output or dead-letter topic does not
// exist (a topic that the metadata does not show yet is looked up again
// for OutputTopicGrace): run would otherwise retry every publish forever.
func CheckOutputTopics(ctx context.Context, client *kafka.Client, topics ...string) error {
	var want []string
	for _, t := range topics {
		if t != "" {
			want = append(want, t)
		}
	}
	// A topic created a moment ago (make demo, a script) can be missing
	// from the metadata kafka-go's transport cached before it existed:
	// look again for a while before calling it missing.
	deadline := time.Now().Add(OutputTopicGrace)
	var missing []string
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*client.Timeout)
		var err error
		missing, err = MissingTopics(cctx, client, want...)
		cancel()
		if err != nil {
			return fmt.Errorf("checking the output topics: %w", err)
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("topic %s does not exist: create it with `streamscore topics create --config streamscore.yaml` (topics.output and topics.dlq name them)", strings.Join(missing, ", "))
	}
	return nil
}
