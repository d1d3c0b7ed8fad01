package replay

import (
	"context"
	"sync"

	"github.com/streamscore/streamscore/schemas"
)

// maxDeadLetterExamples bounds the dead letters a report quotes.
const maxDeadLetterExamples = 10

// DeadLetterExample is one event that could not be scored.
type DeadLetterExample struct {
	// Source, Partition and Offset locate the event (topic, partition and
	// offset, or file, index and line).
	Source    string `json:"source"`
	Partition int    `json:"partition"`
	Offset    int64  `json:"offset"`
	Reason    string `json:"reason"`
	Field     string `json:"field,omitempty"`
	Detail    string `json:"detail,omitempty"`
}

// ReasonCount is how many dead letters had one reason.
type ReasonCount struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// sink is the replay's pipeline.Sink: the engine's encoded scored events are
// dropped (the collector has the rows), dead letters are counted by reason,
// and every published batch advances the progress count.
type sink struct {
	progress func(int64)

	mu       sync.Mutex
	done     int64
	reasons  map[schemas.Reason]int
	examples []DeadLetterExample
}

func newSink(progress func(int64)) *sink {
	return &sink{progress: progress, reasons: map[schemas.Reason]int{}}
}

// Publish counts the batch; it never fails.
func (s *sink) Publish(_ context.Context, scored []schemas.Message, dead []schemas.DeadLetter) error {
	s.mu.Lock()
	for i := range dead {
		d := &dead[i]
		s.reasons[d.Reason]++
		if len(s.examples) < maxDeadLetterExamples {
			s.examples = append(s.examples, DeadLetterExample{
				Source: d.Msg.Topic, Partition: d.Msg.Partition, Offset: d.Msg.Offset,
				Reason: string(d.Reason), Field: d.Field, Detail: d.Detail,
			})
		}
	}
	s.done += int64(len(scored) + len(dead))
	done := s.done
	s.mu.Unlock()
	if s.progress != nil {
		s.progress(done)
	}
	return nil
}

// counts returns the events published and the dead letters by reason.
func (s *sink) counts() (int64, map[schemas.Reason]int, []DeadLetterExample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := make(map[schemas.Reason]int, len(s.reasons))
	for k, v := range s.reasons {
		r[k] = v
	}
	return s.done, r, append([]DeadLetterExample(nil), s.examples...)
}
