package producers

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/streamscore/streamscore/schemas"
)

func letter(offset int64, reason, source, at string, truncated bool) schemas.Message {
	hs := []schemas.Header{
		{Key: schemas.HeaderReason, Value: []byte(reason)},
		{Key: schemas.HeaderTime, Value: []byte(at)},
		{Key: "traceparent", Value: []byte("00-abc")},
	}
	if source != "" {
		hs = append(hs, schemas.Header{Key: schemas.HeaderSourceTopic, Value: []byte(source)})
	}
	if truncated {
		hs = append(hs, schemas.Header{Key: HeaderTruncated, Value: []byte("true")})
	}
	return schemas.Message{Offset: offset, Value: []byte("v"), Headers: hs}
}

func TestRedriveSelects(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	old, recent := now.Add(-3*time.Hour).Format(time.RFC3339Nano), now.Add(-time.Hour).Format(time.RFC3339Nano)
	letters := []schemas.Message{
		letter(0, "type_mismatch", "events", recent, false),
		letter(1, "invalid_json", "events", recent, false),
		letter(2, "type_mismatch", "events", old, false),
		letter(3, "type_mismatch", "events", recent, true),
		letter(4, "missing_field", "events", recent, false),
	}
	read := func(fn func(schemas.Message) error) error {
		for _, m := range letters {
			if err := fn(m); err != nil {
				return err
			}
		}
		return nil
	}
	reasons, err := ParseReasons([]string{"type_mismatch", "missing_field"})
	if err != nil {
		t.Fatal(err)
	}
	since, err := ParseSince("2h", now)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Redrive(t.Context(), read, nil, RedriveConfig{DLQ: "events.dlq", Reasons: reasons, Since: since, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 5 || res.Skipped != 3 || res.Truncated != 1 || res.Sent["type_mismatch"] != 1 || res.Sent["missing_field"] != 1 {
		t.Fatalf("result %+v", res)
	}
	var out bytes.Buffer
	res.WriteText(&out, "events.dlq", true)
	if !strings.Contains(out.String(), "would send 2, skipped 3") || !strings.Contains(out.String(), "1 of the skipped were truncated") {
		t.Errorf("report:\n%s", out.String())
	}

	c := RedriveConfig{DLQ: "events.dlq"}
	msg, _, ok, _, err := c.redriven(letters[0])
	if err != nil || !ok || msg.Topic != "events" || len(msg.Headers) != 1 || msg.Headers[0].Key != "traceparent" {
		t.Errorf("redriven = %+v, %v, %v; want the source topic and only the non-streamscore header", msg, ok, err)
	}
	if _, _, _, _, err := c.redriven(letter(9, "type_mismatch", "", recent, false)); err == nil || !strings.Contains(err.Error(), "--to-topic") {
		t.Errorf("a letter without a source topic: %v", err)
	}
	if _, err := ParseReasons([]string{"typo"}); err == nil {
		t.Error("ParseReasons accepted an unknown code")
	}
	if _, err := ParseSince("-2h", now); err == nil {
		t.Error("ParseSince accepted a negative duration")
	}
}
