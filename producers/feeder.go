package producers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/valyala/fastjson"

	"github.com/streamscore/streamscore/pipeline/rowfile"
)

// FeedConfig configures Feed.
type FeedConfig struct {
	// Topic receives the events.
	Topic string
	// KeyField, if set, names the top-level JSON field whose value becomes
	// the record key (strings as is, numbers as their text).
	KeyField string
	// Rate caps events per second; zero means as fast as the broker takes
	// them.
	Rate float64
	// BatchSize is how many records go in one WriteMessages call; zero
	// means 1000 (reduced to keep the rate smooth at low rates).
	BatchSize int
	// MaxLineBytes bounds one line; zero means 10 MiB. A longer line ends
	// the feed with a *rowfile.LineError naming the file and line.
	MaxLineBytes int
	// Progress, if set, is called after each batch with the events written
	// so far.
	Progress func(written int64)
	// TimeField, if set, names the top-level JSON field holding each
	// event's time, an RFC 3339 string or a number of epoch milliseconds
	// (as schemas read event_time): the record is written with that
	// timestamp instead of the time of writing, so history keeps its
	// original times on the topic (the topic must use CreateTime, Kafka's
	// default). Kafka timestamps are milliseconds.
	TimeField string
	// Untimed, if set, is called with the line number of each event
	// written without its time because TimeField is absent or unreadable;
	// such a record gets the time of writing.
	Untimed func(line int64)
	// Timed, if set, is called with each time read from TimeField.
	Timed func(t time.Time)
	// Encode, if set, turns each line into the record value (Avro or
	// Protobuf in the wire format, schemas.WireEncoder); the key and time
	// are still read from the line. A line it refuses stops the feed,
	// naming the line.
	Encode func(line []byte) ([]byte, error)
	// Values, if set, yields the record values to write in place of the
	// file's lines (values that are not text, such as length-prefixed
	// binary frames), each as is: unkeyed, with the time of writing, and
	// KeyField, TimeField and Encode do not apply. fn's slice may be reused
	// after fn returns.
	Values func(ctx context.Context, fn func(n int64, value []byte) error) error
}

// FeedFile writes every line of the JSONL file path that holds more than
// whitespace (trimmed of it; read by rowfile.Lines), or each value
// cfg.Values yields, as one record to cfg.Topic through w, in order, and
// returns how many it wrote. It blocks
// until all are acknowledged or ctx is done.
func FeedFile(ctx context.Context, w *kafka.Writer, path string, cfg FeedConfig) (int64, error) {
	if cfg.Topic == "" {
		return 0, errors.New("feeding: a topic is required")
	}
	batch := cfg.BatchSize
	if batch <= 0 {
		batch = 1000
	}
	if cfg.Rate > 0 && float64(batch) > cfg.Rate/20 {
		batch = max(1, int(cfg.Rate/20)) // about 20 writes a second
	}
	maxLine := cfg.MaxLineBytes
	if maxLine <= 0 {
		maxLine = 10 << 20
	}
	var (
		p       fastjson.Parser
		written int64
		msgs    = make([]kafka.Message, 0, batch)
		start   = time.Now()
	)
	flush := func() error {
		if len(msgs) == 0 {
			return nil
		}
		if err := WriteFresh(ctx, w, msgs); err != nil {
			return fmt.Errorf("writing to %s: %w", cfg.Topic, err)
		}
		written += int64(len(msgs))
		msgs = msgs[:0]
		if cfg.Progress != nil {
			cfg.Progress(written)
		}
		if cfg.Rate > 0 {
			due := start.Add(time.Duration(float64(written) / cfg.Rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				case <-t.C:
				}
			}
		}
		return nil
	}
	if cfg.Values != nil {
		err := cfg.Values(ctx, func(_ int64, v []byte) error {
			msgs = append(msgs, kafka.Message{Topic: cfg.Topic, Value: append([]byte(nil), v...)})
			if len(msgs) >= batch {
				return flush()
			}
			return nil
		})
		if err != nil {
			return written, err
		}
		return written, flush()
	}
	err := rowfile.Lines(ctx, path, maxLine, func(lineNo int64, line []byte) error {
		value := append([]byte(nil), line...)
		m := kafka.Message{Topic: cfg.Topic, Value: value}
		if cfg.KeyField != "" || cfg.TimeField != "" {
			v, err := p.ParseBytes(value)
			if err == nil && cfg.KeyField != "" {
				if k := v.Get(cfg.KeyField); k != nil {
					if k.Type() == fastjson.TypeString {
						m.Key = append([]byte(nil), k.GetStringBytes()...)
					} else {
						m.Key = []byte(k.String())
					}
				}
			}
			// A line that is not JSON or lacks the key is still sent,
			// unkeyed: the scorer dead-letters it with the reason.
			if cfg.TimeField != "" {
				var ok bool
				if err == nil {
					m.Time, ok = eventTime(v.Get(cfg.TimeField))
				}
				if ok && cfg.Timed != nil {
					cfg.Timed(m.Time)
				}
				if !ok && cfg.Untimed != nil {
					cfg.Untimed(lineNo)
				}
			}
		}
		if cfg.Encode != nil {
			enc, err := cfg.Encode(value)
			if err != nil {
				return fmt.Errorf("encoding line %d: %w", lineNo, err)
			}
			m.Value = enc
		}
		msgs = append(msgs, m)
		if len(msgs) >= batch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return written, err
	}
	return written, flush()
}

// eventTime reads an event time: an RFC 3339 string or a number of epoch
// milliseconds. It reports false for anything else.
func eventTime(v *fastjson.Value) (time.Time, bool) {
	if v == nil {
		return time.Time{}, false
	}
	switch v.Type() {
	case fastjson.TypeString:
		t, err := time.Parse(time.RFC3339Nano, string(v.GetStringBytes()))
		if err != nil {
			return time.Time{}, false
		}
		return t, true
	case fastjson.TypeNumber:
		f := v.GetFloat64()
		if math.IsNaN(f) || f < math.MinInt64 || f >= math.MaxInt64 {
			return time.Time{}, false
		}
		return time.UnixMilli(int64(f)), true
	}
	return time.Time{}, false
}

// freshTopicWait bounds how long WriteFresh waits for a new topic to show up.
const freshTopicWait = 30 * time.Second

// WriteFresh writes msgs like w.WriteMessages, but when a topic created a
// moment ago is not yet in the writer's cached metadata (kafka-go answers
// UnknownTopicOrPartition at once, without retrying), it waits and tries
// again for up to 30 s.
func WriteFresh(ctx context.Context, w *kafka.Writer, msgs []kafka.Message) error {
	deadline := time.Now().Add(freshTopicWait)
	for {
		err := w.WriteMessages(ctx, msgs...)
		if err == nil || !errors.Is(err, kafka.UnknownTopicOrPartition) || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(250 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
