package pipeline

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
)

// challengedScorer is sumScorer with a challenger (version "8") that
// scores every row as the sum times two.
type challengedScorer struct{ sumScorer }

func (c challengedScorer) Score(ctx context.Context, in ScoreInput) (ScoreResult, error) {
	res, err := c.sumScorer.Score(ctx, in)
	if err != nil {
		return res, err
	}
	doubled := schemas.Scores{Name: "score", Width: 1, Bits: 32, Values: make([]float64, in.Rows)}
	for r, v := range res.Scores[0].Values {
		doubled.Values[r] = 2 * v
	}
	res.Challenger = &schemas.ChallengerScores{Model: "sum", Version: "8", Scores: []schemas.Scores{doubled}}
	return res, nil
}

// shadowSink keeps what the engine offers it.
type shadowSink struct {
	mu   sync.Mutex
	msgs []schemas.Message
}

func (s *shadowSink) Offer(msgs []schemas.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, msgs...)
}

// TestEngineShadowCarriesTheChallengersVersion checks that the challenger's
// outputs travel with their batch: each scored event carries them as
// "challenger.score", and the shadow sink gets one event per scored event,
// encoded by the engine with the challenger's version and score, keyed as
// the scored event is (also for batches the model failed and that were
// scored row by row).
func TestEngineShadowCarriesTheChallengersVersion(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	msgs := stream(2000, 4, 50, 97)
	src := newFakeSource(msgs, false)
	sink := &recordingSink{}
	shadow := &shadowSink{}
	e, err := New(Config{Spec: mustSpec(t), Policy: Policy{MaxRows: 64, MaxBytes: 1 << 20, MaxWait: time.Millisecond}, Mem: mem, Shadow: shadow}, src, challengedScorer{}, sink, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(t.Context()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	mem.AssertSize(t, 0)

	type event struct {
		ID      string             `json:"event_id"`
		Version string             `json:"model_version"`
		Scores  map[string]float64 `json:"scores"`
	}
	champion := map[string]float64{}
	keys := map[string]string{}
	for _, m := range sink.scored {
		var ev event
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatalf("scored event %s: %v", m.Value, err)
		}
		if ev.Version != "7" || ev.Scores["challenger.score"] != 2*ev.Scores["score"] {
			t.Fatalf("scored event %s: want version 7 and challenger.score twice score", m.Value)
		}
		champion[ev.ID] = ev.Scores["score"]
		keys[ev.ID] = string(m.Key)
	}
	if len(shadow.msgs) != len(sink.scored) || len(sink.dead) == 0 {
		t.Fatalf("%d shadow events for %d scored events (%d dead letters)", len(shadow.msgs), len(sink.scored), len(sink.dead))
	}
	for _, m := range shadow.msgs {
		var ev event
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatalf("shadow event %s: %v", m.Value, err)
		}
		want, ok := champion[ev.ID]
		if !ok || ev.Version != "8" || ev.Scores["score"] != 2*want || len(ev.Scores) != 1 || string(m.Key) != keys[ev.ID] {
			t.Fatalf("shadow event %s (key %q): want version 8, score %v only, key %q", m.Value, m.Key, 2*want, keys[ev.ID])
		}
	}
}
