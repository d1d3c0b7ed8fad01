package schemas

import "time"

// Header is one Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// Message is one input record as the engine sees it: the bytes that came from
// the broker plus what is needed to acknowledge it.
//
// Prev is the offset of the message fetched before this one from the same
// partition in the same assignment (Epoch), or Offset-1 for the first message
// of an assignment. Chaining Prev to the previous Offset lets the commit
// watermark advance across offset gaps (compaction, transaction markers)
// without guessing which offsets exist.
type Message struct {
	Topic     string
	Partition int
	Offset    int64
	Prev      int64
	Epoch     uint64
	Key       []byte
	Value     []byte
	Headers   []Header
	Time      time.Time
	// Origin, on a scored event handed to a sink, is the input message it
	// was scored from, so the sink can dead-letter that input if the broker
	// can never accept the scored event. It is nil on input messages.
	Origin *Message
}

// Span is the part of one partition that a batch covers: every offset in
// (Prev, Last] fetched in assignment Epoch. Acknowledging a Span says each of
// those offsets has ended as a scored event or a dead letter.
type Span struct {
	Topic     string
	Partition int
	Epoch     uint64
	Prev      int64
	Last      int64
	Count     int
}

// Spans appends to dst one Span per partition of msgs, in first-seen order.
// msgs must hold each partition's messages in fetch order, as the batcher
// guarantees.
func Spans(dst []Span, msgs []Message) []Span {
	start := len(dst)
	for i := range msgs {
		m := &msgs[i]
		found := false
		for j := start; j < len(dst); j++ {
			s := &dst[j]
			if s.Partition == m.Partition && s.Topic == m.Topic && s.Epoch == m.Epoch {
				s.Last = m.Offset
				s.Count++
				found = true
				break
			}
		}
		if !found {
			dst = append(dst, Span{Topic: m.Topic, Partition: m.Partition, Epoch: m.Epoch, Prev: m.Prev, Last: m.Offset, Count: 1})
		}
	}
	return dst
}
