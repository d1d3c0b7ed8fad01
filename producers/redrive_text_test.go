package producers

import (
	"bytes"
	"testing"
)

func TestRedriveResultWriteJSON(t *testing.T) {
	r := RedriveResult{Read: 5, Skipped: 2, Truncated: 1, Sent: map[string]int{"type_mismatch": 2, "invalid_json": 1}}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf, "events.dlq", true); err != nil {
		t.Fatal(err)
	}
	want := `{
  "dlq_topic": "events.dlq",
  "dry_run": true,
  "read": 5,
  "skipped": 2,
  "truncated": 1,
  "sent": {
    "invalid_json": 1,
    "type_mismatch": 2
  }
}
`
	if got := buf.String(); got != want {
		t.Errorf("WriteJSON wrote\n%s\nwant\n%s", got, want)
	}
}
