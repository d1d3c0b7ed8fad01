package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
)

const enrichSpec = `
name: t
id: id
key: user
features:
  - {name: a}
feature_sets:
  - name: stats
    key: "s:{user}"
    features: [{name: spend, default: 0.5}]
model: {input: x, outputs: [{name: y, as: score}]}
`

// mapStore serves spend = 100 for every key it knows; down makes it fail
// while it is positive, counting down per call.
type mapStore struct {
	known map[string]bool
	down  atomic.Int32
	calls atomic.Int32
}

func (s *mapStore) Enrich(_ context.Context, in EnrichInput) (EnrichResult, error) {
	s.calls.Add(1)
	if s.down.Load() > 0 {
		s.down.Add(-1)
		return EnrichResult{}, errors.New("store down")
	}
	res := EnrichResult{Missing: make([]bool, in.Rows)}
	for r, k := range in.Keys[0] {
		if s.known[k] {
			in.Features[r*in.Cols+1] = 100
		} else {
			res.Missing[r] = true
			res.MissingValues++
		}
	}
	return res, nil
}

func runEnrich(t *testing.T, store *mapStore, policy FeaturePolicy) *recordingSink {
	t.Helper()
	spec, err := schemas.Parse([]byte(enrichSpec))
	if err != nil {
		t.Fatal(err)
	}
	var msgs []schemas.Message
	for i := range 10 {
		user := []string{"known", "unknown"}[i%2]
		msgs = append(msgs, schemas.Message{Topic: "in", Offset: int64(i), Prev: int64(i - 1), Value: []byte(`{"id":"e` + string(rune('0'+i)) + `","user":"` + user + `","a":1}`)})
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	sink := &recordingSink{}
	e, err := New(Config{Spec: spec, Policy: Policy{MaxRows: 4, MaxBytes: 1 << 20, MaxWait: time.Millisecond}, Mem: mem, Features: store, FeaturePolicy: policy}, newFakeSource(msgs, false), sumScorer{}, sink, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)
	if len(sink.scored) != 10 {
		t.Fatalf("scored %d events, want 10", len(sink.scored))
	}
	return sink
}

type enrichedEvent struct {
	Key     string             `json:"key"`
	Scores  map[string]float64 `json:"scores"`
	Missing bool               `json:"features_missing"`
}

func TestEnrichFillsFeatureSets(t *testing.T) {
	sink := runEnrich(t, &mapStore{known: map[string]bool{"s:known": true}}, FailOpen)
	for _, m := range sink.scored {
		var ev enrichedEvent
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatal(err)
		}
		// The fake model sums the features: a + spend.
		want, missing := 101.0, false
		if ev.Key == "unknown" {
			want, missing = 1.5, true // the default 0.5
		}
		if ev.Scores["score"] != want || ev.Missing != missing {
			t.Errorf("%s: score %v missing %v, want %v %v", ev.Key, ev.Scores["score"], ev.Missing, want, missing)
		}
	}
}

func TestEnrichFailOpenScoresWithDefaults(t *testing.T) {
	store := &mapStore{known: map[string]bool{"s:known": true}}
	store.down.Store(1000)
	sink := runEnrich(t, store, FailOpen)
	for _, m := range sink.scored {
		var ev enrichedEvent
		json.Unmarshal(m.Value, &ev)
		if ev.Scores["score"] != 1.5 || !ev.Missing {
			t.Errorf("%s: score %v missing %v, want defaults and the flag", ev.Key, ev.Scores["score"], ev.Missing)
		}
	}
}

func TestEnrichFailClosedWaitsForTheStore(t *testing.T) {
	store := &mapStore{known: map[string]bool{"s:known": true}}
	store.down.Store(3)
	sink := runEnrich(t, store, FailClosed)
	for _, m := range sink.scored {
		if strings.Contains(string(m.Value), "features_missing") && strings.Contains(string(m.Value), `"key":"known"`) {
			t.Errorf("fail_closed scored with defaults: %s", m.Value)
		}
	}
	if c := store.calls.Load(); c < 3+3 {
		t.Fatalf("store called %d times; want the 3 failures retried", c)
	}
}
