package producers

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/schemas"
	"github.com/streamscore/streamscore/schemas/contracts"
)

// A dead letter as published, whole, truncated or cut to a stub, is what
// schemas/contracts/dead-letter.v1.json publishes.
func TestDeadLetterRecordsKeepTheirContract(t *testing.T) {
	w, err := New(Config{Brokers: emptyCluster(t), Topic: "scored", DLQTopic: "dlq", MaxMessageBytes: 8192}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	d := schemas.DeadLetter{
		Msg: schemas.Message{Topic: "events", Partition: 1, Offset: 7, Key: bytes.Repeat([]byte("k"), 2000), Value: bytes.Repeat([]byte("v"), 20000),
			Headers: []schemas.Header{{Key: "h", Value: []byte("x")}}},
		Reason: schemas.ReasonTooLarge, Detail: "value over limits.max_message_bytes", Schema: "payments/1", Model: "fraud", ModelVersion: "3",
		At: time.Now(),
	}
	for name, m := range map[string]kafka.Message{
		"whole":     w.deadMessage(&d, nil),
		"truncated": w.truncatedMessage(&d, nil, -1),
		"stub":      w.truncatedMessage(&d, nil, 1024),
	} {
		t.Run(name, func(t *testing.T) {
			hs := headers(m)
			if name != "whole" && hs[HeaderTruncated] != "true" {
				t.Fatalf("headers %v: not marked truncated", hs)
			}
			rec, err := json.Marshal(map[string]any{"partition": 0, "offset": 1, "key": string(m.Key), "value": string(m.Value), "headers": hs})
			if err != nil {
				t.Fatal(err)
			}
			if err := contracts.Validate(contracts.DeadLetterV1, rec); err != nil {
				t.Fatalf("%.300s: %v", rec, err)
			}
		})
	}
}
