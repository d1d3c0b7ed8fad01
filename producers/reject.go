package producers

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/schemas"
)

// Headers added to a truncated dead letter, after the dead letter's own
// streamscore.* headers. The original record's headers are dropped from a
// truncated dead letter (they may be what made it too large); their number
// is kept.
const (
	HeaderTruncated           = "streamscore.truncated"
	HeaderOriginalValueBytes  = "streamscore.original.value.bytes"
	HeaderOriginalValueSHA256 = "streamscore.original.value.sha256"
	HeaderOriginalKeyBytes    = "streamscore.original.key.bytes"
	HeaderOriginalKeySHA256   = "streamscore.original.key.sha256"
	HeaderOriginalHeaders     = "streamscore.original.headers"
)

// DefaultMaxMessageBytes is Config.MaxMessageBytes's zero value: the
// broker's default message.max.bytes (1 MiB plus a batch header, of which
// the guard keeps recordOverhead to spare).
const DefaultMaxMessageBytes = 1 << 20

// recordOverhead is what the guard adds to a record's own size for the
// record batch around it (61 bytes of v2 batch header, varint lengths and a
// margin), so a record the guard passes is not refused by the broker for a
// few bytes.
const recordOverhead = 128

// stubBytes is how much of the value the last, smallest dead letter keeps
// when the broker refused the truncated one (a topic whose
// max.message.bytes is far below producer.max_message_bytes).
const stubBytes = 1024

// maxKeyBytes and maxDetailBytes bound the key and the error header of a
// truncated dead letter.
const (
	maxKeyBytes    = 1024
	maxDetailBytes = 1024
)

// step is how far a record has been cut down so that the broker accepts it.
type step uint8

const (
	stepScored    step = iota // a scored event, as encoded
	stepDead                  // a dead letter, whole (the input as it came)
	stepTruncated             // a dead letter whose key and value were cut to fit max_message_bytes
	stepStub                  // a dead letter cut to its first stubBytes
)

// rec travels with each kafka.Message as its WriterData: the batch it
// belongs to and what it can fall back to when the broker can never accept
// it.
type rec struct {
	p      *pending
	step   step
	origin *schemas.Message    // stepScored: the input message it was scored from, if known
	dead   *schemas.DeadLetter // stepDead and beyond
}

// recordSize is an upper bound of what m costs in a produce request,
// batch overhead included; it is at least what kafka-go checks against
// BatchBytes.
func recordSize(m *kafka.Message) int {
	n := recordOverhead + len(m.Key) + len(m.Value)
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value) + 10
	}
	return n
}

// limit is the largest record the writer hands to kafka-go: the least of
// MaxMessageBytes and BatchBytes (kafka-go refuses a record above
// BatchBytes before sending anything).
func (c *Config) limit() int {
	l := c.MaxMessageBytes
	if l <= 0 {
		l = DefaultMaxMessageBytes
	}
	bb := c.BatchBytes
	if bb <= 0 {
		bb = defaultBatchBytes
	}
	return int(min(int64(l), bb))
}

// permanent reports whether err means the broker will never accept the
// record as it is, so retrying it unchanged is pointless.
func permanent(err error) bool {
	var tooLarge kafka.MessageTooLargeError
	if errors.As(err, &tooLarge) {
		return true
	}
	var ke kafka.Error
	if errors.As(err, &ke) {
		switch ke {
		case kafka.MessageSizeTooLarge, kafka.RecordListTooLarge, kafka.InvalidRecord,
			kafka.InvalidTimestamp, kafka.UnsupportedForMessageFormat, kafka.PolicyViolation:
			return true
		}
	}
	return false
}

// recordError returns the error of the only record of a one-record write.
func recordError(err error) error {
	var werrs kafka.WriteErrors
	if errors.As(err, &werrs) && len(werrs) == 1 && werrs[0] != nil {
		return werrs[0]
	}
	return err
}

// deadMessage returns the DLQ record of d, whole.
func (w *Writer) deadMessage(d *schemas.DeadLetter, r *rec) kafka.Message {
	hs := d.Headers()
	kh := make([]kafka.Header, len(hs))
	for j, h := range hs {
		kh[j] = kafka.Header{Key: h.Key, Value: h.Value}
	}
	return kafka.Message{Topic: w.cfg.DLQTopic, Key: d.Msg.Key, Value: d.Msg.Value, Headers: kh, Time: d.Msg.Time, WriterData: r}
}

// truncatedMessage returns a DLQ record of d whose value keeps at most
// keep bytes (negative: as many as fit the limit), whose key keeps at most
// maxKeyBytes, without the original headers, and with headers giving the
// original sizes and SHA-256 digests.
func (w *Writer) truncatedMessage(d *schemas.DeadLetter, r *rec, keep int) kafka.Message {
	short := *d
	short.Msg.Headers = nil
	if len(short.Detail) > maxDetailBytes {
		short.Detail = truncateUTF8(short.Detail, maxDetailBytes) + "…"
	}
	m := w.deadMessage(&short, r)
	sum := func(b []byte) string {
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:])
	}
	m.Headers = append(m.Headers,
		kafka.Header{Key: HeaderTruncated, Value: []byte("true")},
		kafka.Header{Key: HeaderOriginalValueBytes, Value: []byte(strconv.Itoa(len(d.Msg.Value)))},
		kafka.Header{Key: HeaderOriginalValueSHA256, Value: []byte(sum(d.Msg.Value))},
		kafka.Header{Key: HeaderOriginalKeyBytes, Value: []byte(strconv.Itoa(len(d.Msg.Key)))},
		kafka.Header{Key: HeaderOriginalKeySHA256, Value: []byte(sum(d.Msg.Key))},
		kafka.Header{Key: HeaderOriginalHeaders, Value: []byte(strconv.Itoa(len(d.Msg.Headers)))},
	)
	if len(m.Key) > maxKeyBytes {
		m.Key = m.Key[:maxKeyBytes:maxKeyBytes]
	}
	m.Value = nil
	room := w.cfg.limit() - recordSize(&m)
	if keep < 0 || keep > room {
		keep = room
	}
	m.Value = d.Msg.Value[:max(0, min(keep, len(d.Msg.Value))):max(0, min(keep, len(d.Msg.Value)))]
	return m
}

// escalate returns the next, smaller form of a record the broker refused
// for good (or that the size guard stopped), or false when there is none:
// a scored event becomes a dead letter of its input (too_large when the
// key alone exceeds the limit, output_rejected otherwise), a dead letter
// becomes a truncated one, a truncated one a stub.
func (w *Writer) escalate(m kafka.Message, cause string) (kafka.Message, bool) {
	r, _ := m.WriterData.(*rec)
	if r == nil || w.cfg.DLQTopic == "" {
		return m, false
	}
	switch r.step {
	case stepScored:
		if r.origin == nil {
			return m, false
		}
		reason := schemas.ReasonOutputRejected
		if len(m.Key)+recordOverhead > w.cfg.limit() {
			reason = schemas.ReasonTooLarge
		}
		d := &schemas.DeadLetter{Msg: *r.origin, Reason: reason, Detail: cause, At: time.Now()}
		d.Msg.Origin = nil
		nr := &rec{p: r.p, step: stepDead, dead: d}
		w.m.rejected.WithLabelValues(string(reason)).Inc()
		w.log.Warn("scored event rejected: publishing its input as a dead letter", "reason", reason, "err", cause,
			"topic", d.Msg.Topic, "partition", d.Msg.Partition, "offset", d.Msg.Offset)
		return w.deadMessage(d, nr), true
	case stepDead:
		nr := &rec{p: r.p, step: stepTruncated, dead: r.dead}
		w.m.truncated.Inc()
		w.log.Warn("dead letter rejected: publishing it truncated", "reason", r.dead.Reason, "err", cause,
			"value_bytes", len(r.dead.Msg.Value), "key_bytes", len(r.dead.Msg.Key),
			"topic", r.dead.Msg.Topic, "partition", r.dead.Msg.Partition, "offset", r.dead.Msg.Offset)
		return w.truncatedMessage(r.dead, nr, -1), true
	case stepTruncated:
		nr := &rec{p: r.p, step: stepStub, dead: r.dead}
		w.log.Warn("truncated dead letter rejected: publishing its first bytes only", "err", cause, "keep_bytes", stubBytes,
			"topic", r.dead.Msg.Topic, "partition", r.dead.Msg.Partition, "offset", r.dead.Msg.Offset)
		return w.truncatedMessage(r.dead, nr, stubBytes), true
	}
	return m, false
}

// guard applies the size guard to m before kafka-go sees it: a record above
// the limit is escalated until it fits. It reports false when m cannot be
// published at all (no dead-letter topic, or a scored event without its
// input): the caller counts and logs it.
func (w *Writer) guard(m kafka.Message) (kafka.Message, bool) {
	for size := recordSize(&m); size > w.cfg.limit(); size = recordSize(&m) {
		cause := fmt.Sprintf("record of %d bytes exceeds producer.max_message_bytes (%d)", size, w.cfg.limit())
		if r, _ := m.WriterData.(*rec); r != nil && r.step == stepScored && len(m.Key)+recordOverhead > w.cfg.limit() {
			cause = fmt.Sprintf("Kafka key of %d bytes exceeds producer.max_message_bytes (%d)", len(m.Key), w.cfg.limit())
		}
		next, ok := w.escalate(m, cause)
		if !ok {
			return m, false
		}
		m = next
	}
	return m, true
}

// truncateUTF8 cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
