package schemas_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
	"github.com/streamscore/streamscore/schemas/contracts"
)

// The encoder's scored events, with every kind of output and the optional
// fields, are what schemas/contracts/scored-event.v1.json publishes.
func TestScoredEventsKeepTheirContract(t *testing.T) {
	spec := parseSpec(t, testSpec)
	msgs := encoderMsgs()
	scores := append(encoderScores(),
		schemas.Scores{Name: "label", Width: 1, Strings: []string{"fraud", "ok"}, Values: []float64{0, 0}},
		schemas.Scores{Name: "classes", Width: 2, Strings: []string{"a", "b", "c", "d"}, Values: make([]float64, 4)},
		schemas.Scores{Name: "zipmap", Width: 2, Keys: []string{"0", "1"}, Values: []float64{0.25, 0.75, 1, 0}},
		schemas.Scores{Name: schemas.ChallengerPrefix + "score", Width: 1, Bits: 32, Values: []float64{0.5, 0.5}},
	)
	var events [][]byte
	events = append(events, encodeBatch(t, spec, msgs, scores, nil)...)
	// features_missing on a batch scored with defaults.
	events = append(events, encodeMissing(t, spec, msgs, encoderScores())...)
	// The golden file pins the exact bytes; it keeps the contract too.
	f, err := os.Open(filepath.Join("testdata", "scored.golden.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		events = append(events, bytes.Clone(sc.Bytes()))
	}
	sawMissing := false
	for _, ev := range events {
		if err := contracts.Validate(contracts.ScoredEventV1, ev); err != nil {
			t.Errorf("%s: %v", ev, err)
		}
		sawMissing = sawMissing || bytes.Contains(ev, []byte(`"features_missing":true`))
	}
	if !sawMissing {
		t.Error("no sample has features_missing: the optional field went untested")
	}
}

func encodeMissing(t *testing.T, spec *schemas.Spec, msgs []schemas.Message, scores []schemas.Scores) [][]byte {
	t.Helper()
	dec := schemas.NewDecoder(spec, memory.NewGoAllocator()).Decode(msgs)
	defer dec.Release()
	missing := make([]bool, len(dec.Rows))
	for i := range missing {
		missing[i] = true
	}
	b := &schemas.ScoredBatch{Msgs: msgs, Decoded: dec, Scores: scores, Model: "fraud", ModelVersion: "7", ScoredAt: scoredAt, FeaturesMissing: missing}
	enc := schemas.NewEncoder(spec)
	var out [][]byte
	for row := range dec.Rows {
		out = append(out, enc.Append(nil, b, row))
	}
	return out
}

// A dead letter of every reason, as its record's JSON form, is what
// schemas/contracts/dead-letter.v1.json publishes.
func TestDeadLettersKeepTheirContract(t *testing.T) {
	for _, r := range schemas.Reasons() {
		t.Run(string(r), func(t *testing.T) {
			d := schemas.DeadLetter{
				Msg: schemas.Message{Topic: "events", Partition: 3, Offset: 1234, Key: []byte("u-1"), Value: []byte(`{"id":`),
					Headers: []schemas.Header{{Key: "traceparent", Value: []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")}}},
				Reason: r, Field: "amount", Detail: "not a number", Schema: "payments/1", Model: "fraud", ModelVersion: "3",
				At: time.Date(2026, 11, 26, 6, 0, 0, 123456789, time.UTC),
			}
			if r == schemas.ReasonInvalidJSON {
				d.Field = "" // no field: the header is left out
			}
			hs := map[string]string{}
			for _, h := range d.Headers() {
				hs[h.Key] = string(h.Value)
			}
			rec, err := json.Marshal(map[string]any{"partition": 0, "offset": 7, "key": string(d.Msg.Key), "value": string(d.Msg.Value), "headers": hs})
			if err != nil {
				t.Fatal(err)
			}
			if err := contracts.Validate(contracts.DeadLetterV1, rec); err != nil {
				t.Fatalf("%s: %v", rec, err)
			}
			if hs[schemas.HeaderSourceOffset] != strconv.Itoa(1234) {
				t.Fatalf("source offset header %q", hs[schemas.HeaderSourceOffset])
			}
		})
	}
}
