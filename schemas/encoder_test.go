package schemas_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

var scoredAt = time.UnixMilli(1732462400500)

// encodeBatch decodes values (Kafka metadata from msgs), encodes every row
// with scores, releases the batch and asserts no Arrow memory is left.
func encodeBatch(t *testing.T, spec *schemas.Spec, msgs []schemas.Message, scores []schemas.Scores, dst []byte) [][]byte {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dec := schemas.NewDecoder(spec, mem).Decode(msgs)
	defer dec.Release()
	if len(dec.Errors) > 0 && len(dec.Rows) == 0 {
		t.Fatalf("no rows decoded: %v", dec.Errors)
	}
	b := &schemas.ScoredBatch{Msgs: msgs, Decoded: dec, Scores: scores, Model: "fraud", ModelVersion: "7", ScoredAt: scoredAt}
	enc := schemas.NewEncoder(spec)
	var out [][]byte
	for row := range dec.Rows {
		out = append(out, enc.Append(bytes.Clone(dst), b, row))
	}
	return out
}

// parseEvent decodes one scored event with encoding/json, numbers as text.
func parseEvent(t *testing.T, b []byte) map[string]any {
	t.Helper()
	if !json.Valid(b) {
		t.Fatalf("scored event is not valid JSON: %s", b)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decoding scored event %s: %v", b, err)
	}
	return m
}

// canon re-encodes a decoded JSON value so values compare as strings.
func canon(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshalling %v: %v", v, err)
	}
	return string(b)
}

func encoderMsgs() []schemas.Message {
	return []schemas.Message{
		{Topic: "payments", Partition: 3, Offset: 100, Time: time.UnixMilli(1732462400010),
			Value: []byte(`{"id":"a","user":"u1","ts":1732462400000,"f32":0.5,"merchant":"m-17","meta":{"a":[1, 2]}}`)},
		{Topic: "payments", Partition: 3, Offset: 101, Time: time.UnixMilli(1732462400011),
			Value: []byte(`{"id":"bad"`)},
		{Topic: "payments-eu", Partition: 0, Offset: 7, Time: time.UnixMilli(1732462400012),
			Value: []byte(`{"id":42,"user":"ü \"q\"","ts":"2024-11-24T15:33:20.001Z","f32":1,"meta":null}`)},
	}
}

func encoderScores() []schemas.Scores {
	return []schemas.Scores{
		{Name: "score", Width: 1, Bits: 32, Values: []float64{float64(float32(0.25)), math.NaN()}},
		{Name: "probs", Width: 2, Bits: 64, Values: []float64{0.1, 0.9, 1, 0}},
	}
}

func TestEncodeFields(t *testing.T) {
	spec := parseSpec(t, testSpec)
	events := encodeBatch(t, spec, encoderMsgs(), encoderScores(), nil)
	if len(events) != 2 {
		t.Fatalf("encoded %d events, want 2", len(events))
	}
	wantKeys := []string{"event_id", "event_time", "input_ts", "key", "model", "model_version", "offset", "partition", "passthrough", "schema", "scored_at", "scores", "topic"}
	want := []map[string]string{
		{
			"event_id": `"a"`, "key": `"u1"`, "event_time": `1732462400000`,
			"topic": `"payments"`, "partition": `3`, "offset": `100`,
			"model": `"fraud"`, "model_version": `"7"`, "schema": `"payments/1"`,
			"scores":   `{"probs":[0.1,0.9],"score":0.25}`,
			"input_ts": `1732462400010`, "scored_at": `1732462400500`,
			"passthrough": `{"merchant":"m-17","meta":{"a":[1,2]}}`,
		},
		{
			"event_id": `"42"`, "key": `"ü \"q\""`, "event_time": `1732462400001`,
			"topic": `"payments-eu"`, "partition": `0`, "offset": `7`,
			"model": `"fraud"`, "model_version": `"7"`, "schema": `"payments/1"`,
			"scores":   `{"probs":[1,0],"score":null}`,
			"input_ts": `1732462400012`, "scored_at": `1732462400500`,
			"passthrough": `{"meta":null}`,
		},
	}
	for i, w := range want {
		t.Run(w["event_id"], func(t *testing.T) {
			m := parseEvent(t, events[i])
			var keys []string
			for k := range m {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if got, want := strings.Join(keys, ","), strings.Join(wantKeys, ","); got != want {
				t.Errorf("fields = %s, want %s", got, want)
			}
			for k, wv := range w {
				if got := canon(t, m[k]); got != wv {
					t.Errorf("%s = %s, want %s", k, got, wv)
				}
			}
		})
	}
}

// TestEncodeGolden pins the exact bytes (field order, number format) of the
// scored events. Refresh with go test ./schemas -run Golden -update.
func TestEncodeGolden(t *testing.T) {
	spec := parseSpec(t, testSpec)
	events := encodeBatch(t, spec, encoderMsgs(), encoderScores(), nil)
	got := append(bytes.Join(events, []byte("\n")), '\n')
	path := filepath.Join("testdata", "scored.golden.jsonl")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("scored events differ from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestEncodeNumbers(t *testing.T) {
	spec := parseSpec(t, testSpec)
	msgs := []schemas.Message{{Value: []byte(ev(`"f32":1`))}}
	tests := []struct {
		name string
		v    float64
		bits int
		want string
	}{
		{"zero", 0, 64, `0`},
		{"negative zero", math.Copysign(0, -1), 64, `0`},
		{"integer", 1, 32, `1`},
		{"negative integer", -3, 64, `-3`},
		{"largest exact integer", 1<<53 - 1, 64, `9007199254740991`},
		{"large integral", 1e20, 64, `1e+20`},
		{"fraction", 0.25, 64, `0.25`},
		{"float32 shortest", float64(float32(0.1)), 32, `0.1`},
		{"float32 value printed as float64", float64(float32(0.1)), 64, `0.10000000149011612`},
		{"zero bits means float64", 0.1, 0, `0.1`},
		{"small", 1e-7, 64, `1e-07`},
		{"float32 max", math.MaxFloat32, 32, `3.4028235e+38`},
		{"NaN", math.NaN(), 32, `null`},
		{"+Inf", math.Inf(1), 64, `null`},
		{"-Inf", math.Inf(-1), 32, `null`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			scores := []schemas.Scores{{Name: "s", Width: 1, Bits: tc.bits, Values: []float64{tc.v}}}
			ev := encodeBatch(t, spec, msgs, scores, nil)[0]
			m := parseEvent(t, ev)
			if got := canon(t, m["scores"].(map[string]any)["s"]); got != tc.want {
				t.Errorf("score = %s, want %s (event %s)", got, tc.want, ev)
			}
		})
	}
}

func TestEncodeVariants(t *testing.T) {
	noPass := parseSpec(t, strings.Replace(testSpec, "passthrough: [merchant, meta]\n", "", 1))
	kafkaKey := parseSpec(t, strings.Replace(testSpec, "key: user\n", "", 1))
	tests := []struct {
		name   string
		spec   *schemas.Spec
		msg    schemas.Message
		scores []schemas.Scores
		dst    string
		check  func(t *testing.T, m map[string]any)
	}{
		{
			name: "no passthrough in the spec", spec: noPass,
			msg:    schemas.Message{Value: []byte(ev(`"f32":1,"merchant":"m"`))},
			scores: []schemas.Scores{{Name: "s", Width: 1, Values: []float64{1}}},
			check: func(t *testing.T, m map[string]any) {
				if _, ok := m["passthrough"]; ok {
					t.Errorf("passthrough = %v, want no such field", m["passthrough"])
				}
			},
		},
		{
			name: "every passthrough field absent", spec: parseSpec(t, testSpec),
			msg:    schemas.Message{Value: []byte(ev(`"f32":1`))},
			scores: []schemas.Scores{{Name: "s", Width: 1, Values: []float64{1}}},
			check: func(t *testing.T, m map[string]any) {
				if got := canon(t, m["passthrough"]); got != `{}` {
					t.Errorf("passthrough = %s, want {}", got)
				}
			},
		},
		{
			name: "binary Kafka key", spec: kafkaKey,
			msg:    schemas.Message{Key: []byte("\xffk\n\x01"), Value: []byte(`{"id":"e1","f32":1}`)},
			scores: []schemas.Scores{{Name: "s", Width: 1, Values: []float64{1}}},
			check: func(t *testing.T, m map[string]any) {
				if got, want := m["key"], "\ufffdk\n\x01"; got != want {
					t.Errorf("key = %q, want %q", got, want)
				}
			},
		},
		{
			name: "no scores", spec: parseSpec(t, testSpec),
			msg: schemas.Message{Value: []byte(ev(`"f32":1`))},
			check: func(t *testing.T, m map[string]any) {
				if got := canon(t, m["scores"]); got != `{}` {
					t.Errorf("scores = %s, want {}", got)
				}
			},
		},
		{
			name: "score names are escaped", spec: parseSpec(t, testSpec),
			msg:    schemas.Message{Value: []byte(ev(`"f32":1`))},
			scores: []schemas.Scores{{Name: "a\"b", Width: 3, Values: []float64{1, math.NaN(), 2.5}}},
			check: func(t *testing.T, m map[string]any) {
				if got := canon(t, m["scores"]); got != `{"a\"b":[1,null,2.5]}` {
					t.Errorf("scores = %s", got)
				}
			},
		},
		{
			name: "appends to dst", spec: parseSpec(t, testSpec),
			msg:    schemas.Message{Value: []byte(ev(`"f32":1`))},
			scores: []schemas.Scores{{Name: "s", Width: 1, Values: []float64{1}}},
			dst:    `[`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := encodeBatch(t, tc.spec, []schemas.Message{tc.msg}, tc.scores, []byte(tc.dst))[0]
			if !bytes.HasPrefix(out, []byte(tc.dst)) {
				t.Fatalf("output %q does not start with dst %q", out, tc.dst)
			}
			m := parseEvent(t, out[len(tc.dst):])
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}

// appendStringCases are strings AppendString must write as JSON that
// encoding/json reads back as it reads its own encoding of them.
var appendStringCases = []struct {
	name string
	s    string
}{
	{"empty", ""},
	{"plain", "hello, world"},
	{"quote and backslash", `say "hi" \ bye`},
	{"slash", "a/b</script>"},
	{"common controls", "a\nb\rc\td"},
	{"every control", "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f"},
	{"latin", "café crème"},
	{"emoji", "😀 👍🏽"},
	{"line separators", "a\u2028b\u2029c"},
	{"BOM and replacement char", "\ufeff\ufffd"},
	{"invalid byte", "a\xffb"},
	{"invalid bytes at the ends", "\xfe-\xff"},
	{"truncated rune", "a\xe2\x82"},
	{"surrogate encoded as UTF-8", "\xed\xa0\x80"},
	{"overlong encoding", "\xc0\xaf"},
	{"continuation byte alone", "\x80x"},
	{"mixed", "\"\xff\n😀\x00é\\"},
}

func TestAppendString(t *testing.T) {
	for _, tc := range appendStringCases {
		t.Run(tc.name, func(t *testing.T) {
			checkAppendString(t, tc.s)
		})
	}
	t.Run("appends to dst", func(t *testing.T) {
		if got, want := string(schemas.AppendString([]byte("x:"), "a\"b")), `x:"a\"b"`; got != want {
			t.Errorf("AppendString = %s, want %s", got, want)
		}
	})
}

// checkAppendString checks that AppendString(s) is valid JSON that decodes to
// s when s is valid UTF-8, and otherwise to what encoding/json makes of s
// (each invalid byte becomes U+FFFD).
func checkAppendString(t *testing.T, s string) {
	t.Helper()
	out := schemas.AppendString(nil, s)
	if !json.Valid(out) {
		t.Fatalf("AppendString(%q) = %s, not valid JSON", s, out)
	}
	var got string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("decoding AppendString(%q) = %s: %v", s, out, err)
	}
	ref, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var want string
	if err := json.Unmarshal(ref, &want); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("AppendString(%q) = %s decodes to %q, want %q", s, out, got, want)
	}
	if utf8.ValidString(s) && got != s {
		t.Errorf("AppendString(%q) = %s decodes to %q, want the input back", s, out, got)
	}
}

func TestScoredBatchRowOKAndVersion(t *testing.T) {
	tests := []struct {
		name         string
		ok           []bool
		versions     []string
		wantOK       []bool
		wantVersions []string
	}{
		{"defaults", nil, nil, []bool{true, true}, []string{"7", "7"}},
		{"row rejected", []bool{true, false}, nil, []bool{true, false}, []string{"7", "7"}},
		{"canary split", nil, []string{"7", "8-canary"}, []bool{true, true}, []string{"7", "8-canary"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &schemas.ScoredBatch{OK: tc.ok, ModelVersion: "7", Versions: tc.versions}
			for r := range tc.wantOK {
				if got := b.RowOK(r); got != tc.wantOK[r] {
					t.Errorf("RowOK(%d) = %v, want %v", r, got, tc.wantOK[r])
				}
				if got := b.Version(r); got != tc.wantVersions[r] {
					t.Errorf("Version(%d) = %q, want %q", r, got, tc.wantVersions[r])
				}
			}
		})
	}
}

func TestEncodeCanaryVersions(t *testing.T) {
	spec := parseSpec(t, testSpec)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	msgs := []schemas.Message{{Value: []byte(ev(`"f32":1`))}, {Value: []byte(ev(`"f32":2`))}}
	dec := schemas.NewDecoder(spec, mem).Decode(msgs)
	defer dec.Release()
	b := &schemas.ScoredBatch{
		Msgs: msgs, Decoded: dec, Model: "fraud", ModelVersion: "7", Versions: []string{"7", "8-canary"},
		Scores: []schemas.Scores{{Name: "s", Width: 1, Values: []float64{0.5, 0.25}}},
	}
	enc := schemas.NewEncoder(spec)
	for row, want := range []string{"7", "8-canary"} {
		m := parseEvent(t, enc.Append(nil, b, row))
		if got := m["model_version"]; got != want {
			t.Errorf("row %d model_version = %v, want %q", row, got, want)
		}
	}
}
