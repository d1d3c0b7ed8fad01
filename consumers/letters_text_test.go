package consumers

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestLetterStatsWriteSamples(t *testing.T) {
	st := letterStatsFixture()
	var buf bytes.Buffer
	if err := st.WriteSamples(&buf, false); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	// The long value is cut before the two-byte rune that straddles byte 200.
	wantValue := "  value: " + strings.Repeat("x", 199) + "… (251 bytes)\n"
	for _, want := range []string{
		"2026-11-26T06:10:00Z  type_mismatch  events/0@17  field f03  (dead letter events.dlq/1@42)\n" +
			"  error: want a number, got a string\n" +
			"  truncated: the original value had 9000 bytes (sha256 abc123)\n" + wantValue,
		"2026-11-26T07:00:00Z  invalid_json  clicks/2@5  (dead letter events.dlq/0@3)\n  value: {not json\n\n",
		"10 dead letters in events.dlq (of 12 records read); stopped at --max, more remain\n  type_mismatch  7\n  invalid_json   3\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("WriteSamples wrote\n%s\nwant it to hold\n%s", got, want)
		}
	}
	buf.Reset()
	if err := st.WriteSamples(&buf, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "  value: "+st.Samples[0].Value+"\n") {
		t.Errorf("full: the whole value is missing from\n%s", buf.String())
	}

	buf.Reset()
	if err := (&LetterStats{Topic: "d"}).WriteSamples(&buf, false); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "0 dead letters in d\n" {
		t.Errorf("no letters: %q", got)
	}
}

func TestLetterStatsWriteSamplesJSON(t *testing.T) {
	st := letterStatsFixture()
	var buf bytes.Buffer
	if err := st.WriteSamplesJSON(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(st.Samples) {
		t.Fatalf("%d lines, want one per sample (%d):\n%s", len(lines), len(st.Samples), buf.String())
	}
	for i, line := range lines {
		var l Letter
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if l.Offset != st.Samples[i].Offset || l.Value != st.Samples[i].Value || l.Reason() != st.Samples[i].Reason() {
			t.Errorf("line %d decodes to %+v, want %+v", i, l, st.Samples[i])
		}
	}
}

func TestLetterStatsWriteText(t *testing.T) {
	var buf bytes.Buffer
	if err := letterStatsFixture().WriteText(&buf, time.Hour); err != nil {
		t.Fatal(err)
	}
	want := `10 dead letters in events.dlq (of 12 records read); stopped at --max, more remain
  type_mismatch  7
  invalid_json   3
  (1 truncated)
by source topic:
  events  9
  clicks  1
by time (1h0m0s buckets, UTC):
  2026-11-26T06:00:00Z  4  type_mismatch=4
  2026-11-26T07:00:00Z  6  type_mismatch=3 invalid_json=3
`
	if got := buf.String(); got != want {
		t.Errorf("WriteText wrote\n%s\nwant\n%s", got, want)
	}
}

func TestLetterStatsWriteJSON(t *testing.T) {
	st := letterStatsFixture()
	var buf bytes.Buffer
	if err := st.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	if !strings.HasPrefix(got, "{\n  \"topic\": \"events.dlq\",\n") || !strings.HasSuffix(got, "}\n") {
		t.Errorf("want indented JSON with snake_case keys and a final newline, got\n%s", got)
	}
	var back LetterStats
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Kept != 10 || !back.StoppedAtMax || len(back.ByTime) != 2 || back.ByTime[1].ByReason["invalid_json"] != 3 {
		t.Errorf("round trip: %+v", back)
	}
}
