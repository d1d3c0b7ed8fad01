package serve

import (
	"encoding/json"
	"testing"

	"github.com/streamscore/streamscore/schemas/contracts"
)

// Each scored event serve returns is what
// schemas/contracts/scored-event.v1.json publishes.
func TestServedEventsKeepTheirContract(t *testing.T) {
	_, hs := startServer(t, Config{}, &sumScorer{})
	good, _ := event("e1", 3)
	good2, _ := event("e2", 4)
	code, body := post(t, hs.URL, string(good))
	if code != 200 {
		t.Fatalf("single event: %d %s", code, body)
	}
	if err := contracts.Validate(contracts.ScoredEventV1, body); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	code, body = post(t, hs.URL, "["+string(good)+","+string(good2)+"]")
	var many []json.RawMessage
	if err := json.Unmarshal(body, &many); err != nil || code != 200 || len(many) != 2 {
		t.Fatalf("array: %d %s (%v)", code, body, err)
	}
	for _, ev := range many {
		if err := contracts.Validate(contracts.ScoredEventV1, ev); err != nil {
			t.Errorf("%s: %v", ev, err)
		}
	}
}
