package drift

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sync"

	"github.com/segmentio/kafka-go"
)

// Event types.
const (
	// EventDetected: a column crossed a threshold.
	EventDetected = "drift_detected"
	// EventCleared: every score of a column in alert went back below its
	// clear level.
	EventCleared = "drift_cleared"
)

// Event is one drift alert or recovery, as written to the drift topic:
//
//	{"type":"drift_detected","model":"fraud","model_version":"3",
//	 "baseline":"9f2c01ab","feature":"amount","source":"feature",
//	 "kind":"numeric","scores":{"psi":0.41,"ks":0.22,...},
//	 "alerting":["psi"],"thresholds":{"psi":{"alert":0.2,"clear":0.15}},
//	 "window_start":1732460000000,"window_end":1732463600000,
//	 "window_events":182003,"at":1732463601234}
//
// Times are Unix milliseconds; a score that does not apply is left out.
type Event struct {
	Type         string               `json:"type"`
	Model        string               `json:"model"`
	ModelVersion string               `json:"model_version"`
	Baseline     string               `json:"baseline"`
	Feature      string               `json:"feature"`
	Source       Source               `json:"source"`
	Kind         Kind                 `json:"kind"`
	Scores       map[string]float64   `json:"scores"`
	Alerting     []string             `json:"alerting"`
	Thresholds   map[string]Threshold `json:"thresholds"`
	WindowStart  int64                `json:"window_start"`
	WindowEnd    int64                `json:"window_end"`
	WindowEvents int64                `json:"window_events"`
	At           int64                `json:"at"`
}

// finiteScores returns the scores that have a value, by name.
func finiteScores(s Scores) map[string]float64 {
	out := map[string]float64{}
	for i, v := range s {
		switch {
		case math.IsNaN(v):
		case math.IsInf(v, 1):
			out[Score(i).String()] = math.MaxFloat64
		default:
			out[Score(i).String()] = v
		}
	}
	return out
}

// EventSink receives drift events. Publish blocks until the events are
// durably written or ctx is done; an error means none may be assumed
// written (the Monitor tries again at its next evaluation).
type EventSink interface {
	Publish(ctx context.Context, events []Event) error
}

// KafkaSink writes events to a topic, keyed "model/version/feature" so one
// column's events stay in order.
type KafkaSink struct {
	w *kafka.Writer
}

// NewKafkaSink returns a sink writing through w, which must name the topic
// and should use RequiredAcks: RequireAll. The caller closes w.
func NewKafkaSink(w *kafka.Writer) *KafkaSink { return &KafkaSink{w: w} }

// Publish implements EventSink.
func (k *KafkaSink) Publish(ctx context.Context, events []Event) error {
	msgs := make([]kafka.Message, len(events))
	for i, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encoding drift event: %w", err)
		}
		msgs[i] = kafka.Message{Key: []byte(e.Model + "/" + e.ModelVersion + "/" + e.Feature), Value: b}
	}
	if err := k.w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("publishing drift events: %w", err)
	}
	return nil
}

// MemorySink keeps published events in memory, for tests.
type MemorySink struct {
	mu     sync.Mutex
	events []Event
	fail   error
}

// Publish implements EventSink.
func (m *MemorySink) Publish(_ context.Context, events []Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.events = append(m.events, events...)
	return nil
}

// SetFailing makes later calls fail with err (nil: work again).
func (m *MemorySink) SetFailing(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = err
}

// Events returns a copy of the events published so far.
func (m *MemorySink) Events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Event(nil), m.events...)
}
