package load

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/schemas"
)

// Pool returns n standard events as records in spec's format: JSON as
// Events writes them, or Avro or Protobuf in the Confluent wire format,
// encoded from that JSON with schema id (found through spec's schema
// source) by schemas.WireEncoder, as `streamscore produce --format` does.
// Every event carries now as its send time. The encoder goes through a
// generic JSON map and costs tens of microseconds per event, so a backlog
// of binary events cycles through a pool (BacklogOf) rather than encoding
// each event.
func Pool(ctx context.Context, spec *schemas.Spec, id, n int, ev *Events, now time.Time) ([]kafka.Message, error) {
	msgs := ev.Messages("", n, func(int) time.Time { return now })
	if !spec.Format.Binary() {
		return msgs, nil
	}
	enc, err := schemas.NewWireEncoder(ctx, spec.SchemaSource(), spec.Format, id, "")
	if err != nil {
		return nil, fmt.Errorf("encoding the standard events as %s: %w", spec.Format, err)
	}
	for i := range msgs {
		v, err := enc.Encode(nil, msgs[i].Value)
		if err != nil {
			return nil, fmt.Errorf("encoding standard event %d as %s with schema %d: %w", i, spec.Format, id, err)
		}
		msgs[i].Value = v
	}
	return msgs, nil
}
