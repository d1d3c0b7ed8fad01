package schemas_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/streamscore/streamscore/schemas"
)

// Schema ids of testdata/formats/payments.{avro,protobuf}.yaml.
const (
	idPayments   = 1
	idPaymentsV2 = 2
	idProto      = 3
)

func loadSpec(t testing.TB, path string) *schemas.Spec {
	t.Helper()
	s, err := schemas.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// paymentEvents returns n standard events as JSON (the 32-feature payments
// event), with a few optional features and the merchant left out.
func paymentEvents(n int) []string {
	rng := rand.New(rand.NewPCG(3, 4))
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		fmt.Fprintf(&b, `{"event_id":"e%d","user_id":"u%d","ts":%d`, i, rng.IntN(1000), 1732460000000+int64(i))
		for f := range 32 {
			if f >= 24 && (i+f)%5 == 0 {
				continue
			}
			// float32-exact values, so JSON and binary agree bit for bit.
			fmt.Fprintf(&b, `,"f%02d":%s`, f, strconv.FormatFloat(float64(float32(rng.NormFloat64())), 'g', -1, 32))
		}
		if i%3 != 0 {
			fmt.Fprintf(&b, `,"merchant":"m\"%d"`, i%7)
		}
		b.WriteString("}")
		out[i] = b.String()
	}
	return out
}

// encodeAll frames each JSON event with schema id of spec's format.
func encodeAll(t testing.TB, spec *schemas.Spec, id int, events []string) []schemas.Message {
	t.Helper()
	enc, err := schemas.NewWireEncoder(context.Background(), spec.SchemaSource(), spec.Format, id, "")
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]schemas.Message, len(events))
	for i, e := range events {
		v, err := enc.Encode(nil, []byte(e))
		if err != nil {
			t.Fatalf("encoding %s: %v", e, err)
		}
		msgs[i] = schemas.Message{Value: v, Time: msgTime, Offset: int64(i)}
	}
	return msgs
}

func jsonMsgs(events []string) []schemas.Message {
	msgs := make([]schemas.Message, len(events))
	for i, e := range events {
		msgs[i] = schemas.Message{Value: []byte(e), Time: msgTime, Offset: int64(i)}
	}
	return msgs
}

// TestWireMatchesJSON decodes the same events as JSON, Avro and Protobuf:
// every column must be equal.
func TestWireMatchesJSON(t *testing.T) {
	events := paymentEvents(200)
	want := decodeMsgs(t, loadSpec(t, "../testdata/mlp.schema.yaml"), jsonMsgs(events))
	if len(want.Errors) != 0 {
		t.Fatalf("JSON errors: %v", want.Errors)
	}
	for _, tc := range []struct {
		name, spec string
		id         int
	}{
		{"avro", "../testdata/formats/payments.avro.yaml", idPayments},
		{"protobuf", "../testdata/formats/payments.protobuf.yaml", idProto},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := loadSpec(t, tc.spec)
			got := decodeMsgs(t, spec, encodeAll(t, spec, tc.id, events))
			if len(got.Errors) != 0 {
				t.Fatalf("errors: %v", got.Errors[0])
			}
			if !slices.Equal(got.IDs, want.IDs) || !slices.Equal(got.Keys, want.Keys) || !slices.Equal(got.Times, want.Times) {
				t.Fatalf("ids, keys or times differ:\n got %v %v %v\nwant %v %v %v", got.IDs[:2], got.Keys[:2], got.Times[:2], want.IDs[:2], want.Keys[:2], want.Times[:2])
			}
			if !slices.Equal(got.Matrix, want.Matrix) {
				t.Fatalf("feature matrices differ: got %v, want %v", got.features(0), want.features(0))
			}
			if got.Defaulted != want.Defaulted {
				t.Fatalf("defaulted %d, want %d", got.Defaulted, want.Defaulted)
			}
			for i := range got.Pass {
				if got.Pass[i]["merchant"] != want.Pass[i]["merchant"] {
					t.Fatalf("row %d merchant %q, want %q", i, got.Pass[i]["merchant"], want.Pass[i]["merchant"])
				}
			}
		})
	}
}

// TestAvroThirdPartyEncoder decodes records hamba/avro wrote.
func TestAvroThirdPartyEncoder(t *testing.T) {
	spec := loadSpec(t, "../testdata/formats/payments.avro.yaml")
	text, err := os.ReadFile("../testdata/formats/payments.avsc")
	if err != nil {
		t.Fatal(err)
	}
	s := avro.MustParse(string(text))
	rec := map[string]any{"event_id": "e1", "user_id": "u1", "ts": time.UnixMilli(1732460000123), "merchant": "acme"}
	for f := range 24 {
		rec[fmt.Sprintf("f%02d", f)] = float32(f) / 4
	}
	for f := 24; f < 32; f++ {
		rec[fmt.Sprintf("f%02d", f)] = nil
	}
	rec["f30"] = float32(7.5)
	body, err := avro.Marshal(s, rec)
	if err != nil {
		t.Fatal(err)
	}
	got := decodeMsgs(t, spec, []schemas.Message{{Value: append(schemas.AppendFrame(nil, idPayments), body...), Time: msgTime}})
	if len(got.Errors) != 0 {
		t.Fatal(got.Errors)
	}
	row := got.features(0)
	if row[4] != 1 || row[30] != 7.5 || row[31] != 0 || got.Times[0] != 1732460000123 || got.IDs[0] != "e1" || got.Keys[0] != "u1" || got.Pass[0]["merchant"] != `"acme"` {
		t.Fatalf("got row %v time %d id %s key %s pass %v", row, got.Times[0], got.IDs[0], got.Keys[0], got.Pass[0])
	}
	if got.Defaulted != 7 {
		t.Fatalf("defaulted %d, want 7 (f24..f31 but f30)", got.Defaulted)
	}
}

// TestWireDeadLetters checks each documented failure of a binary event.
func TestWireDeadLetters(t *testing.T) {
	avroSpec := loadSpec(t, "../testdata/formats/payments.avro.yaml")
	avroSpec.SetSchemaSource(&schemas.FileSource{Files: map[int]string{
		idPayments: "../testdata/formats/payments.avsc",
		idProto:    paymentsDesc,
	}})
	protoSpec := loadSpec(t, "../testdata/formats/payments.protobuf.yaml")
	good := encodeAll(t, avroSpec, idPayments, paymentEvents(1))[0].Value
	goodProto := encodeAll(t, protoSpec, idProto, paymentEvents(1))[0].Value
	withID := func(b []byte, id int) []byte {
		return append(schemas.AppendFrame(nil, id), b[schemas.WireHeaderSize:]...)
	}
	for _, tc := range []struct {
		name   string
		spec   *schemas.Spec
		value  []byte
		reason schemas.Reason
		field  string
	}{
		{"unknown id", avroSpec, withID(good, 99), schemas.ReasonUnknownSchema, ""},
		{"wrong magic byte", avroSpec, append([]byte{1}, good[1:]...), schemas.ReasonMalformed, ""},
		{"JSON on an avro topic", avroSpec, []byte(`{"event_id":"e1"}`), schemas.ReasonMalformed, ""},
		{"shorter than the header", avroSpec, good[:3], schemas.ReasonMalformed, ""},
		{"truncated record", avroSpec, good[:len(good)-3], schemas.ReasonMalformed, "f31"},
		{"trailing bytes", avroSpec, append(slices.Clip(good), 0, 0), schemas.ReasonMalformed, ""},
		{"protobuf schema id on an avro topic", avroSpec, withID(good, idProto), schemas.ReasonSchemaMismatch, ""},
		{"protobuf unknown id", protoSpec, withID(goodProto, 7), schemas.ReasonUnknownSchema, ""},
		{"protobuf truncated", protoSpec, goodProto[:len(goodProto)-2], schemas.ReasonMalformed, ""},
		{"protobuf bad message index", protoSpec, append(schemas.AppendFrame(nil, idProto), 2, 6, 0), schemas.ReasonSchemaMismatch, ""},
		{"protobuf wrong magic byte", protoSpec, append([]byte{9}, goodProto[1:]...), schemas.ReasonMalformed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := decodeMsgs(t, tc.spec, []schemas.Message{{Value: tc.value, Time: msgTime}})
			if len(got.Errors) != 1 || got.Errors[0].Reason != tc.reason || tc.field != "" && got.Errors[0].Field != tc.field {
				t.Fatalf("got %+v, want one %s dead letter (field %q)", got.Errors, tc.reason, tc.field)
			}
		})
	}
}

// TestAvroEvolution reads writer schemas that differ from the spec.
func TestAvroEvolution(t *testing.T) {
	spec := loadSpec(t, "../testdata/formats/payments.avro.yaml")
	ev := regexp.MustCompile(`,"f31":[^,}]*`).ReplaceAllString(paymentEvents(1)[0], "")
	ev = strings.TrimSuffix(ev, "}") + `,"f31":2.5,"channel":"APP","amount":12.34}`
	t.Run("extra fields and a missing optional one", func(t *testing.T) {
		got := decodeMsgs(t, spec, encodeAll(t, spec, idPaymentsV2, []string{ev}))
		if len(got.Errors) != 0 {
			t.Fatal(got.Errors)
		}
		want := decodeMsgs(t, loadSpec(t, "../testdata/mlp.schema.yaml"), jsonMsgs([]string{ev}))
		w := want.features(0)
		w[31] = 0 // v2 has no f31: the spec's default
		if !slices.Equal(got.features(0), w) {
			t.Fatalf("got %v, want %v", got.features(0), w)
		}
	})
	for _, tc := range []struct {
		name, schema, field string
	}{
		{"a required feature missing", strings.Replace(avroSchemaText(t), `"f03"`, `"g03"`, 1), "f03"},
		{"a feature of the wrong type", strings.Replace(avroSchemaText(t), `"name": "f05",
   "type": "float"`, `"name": "f05",
   "type": "string"`, 1), "f05"},
		{"no event id", strings.Replace(avroSchemaText(t), `"event_id"`, `"id"`, 1), "event_id"},
		{"not a record", `"string"`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := mapSource{5: {ID: 5, Type: schemas.SchemaTypeAvro, Text: tc.schema}}
			s := loadSpec(t, "../testdata/formats/payments.avro.yaml")
			s.SetSchemaSource(src)
			msg := schemas.Message{Value: append(schemas.AppendFrame(nil, 5), 0, 0), Time: msgTime}
			got := decodeMsgs(t, s, []schemas.Message{msg, msg})
			if len(got.Errors) != 2 || got.Errors[0].Reason != schemas.ReasonSchemaMismatch || got.Errors[0].Field != tc.field {
				t.Fatalf("got %+v, want schema_mismatch dead letters on field %q", got.Errors, tc.field)
			}
		})
	}
}

func avroSchemaText(t *testing.T) string {
	b, err := os.ReadFile("../testdata/formats/payments.avsc")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"name": "f05",
   "type": "float"`) {
		t.Fatal("payments.avsc changed layout; update the test's replacements")
	}
	return string(b)
}

// TestProtobufPresence: proto3 fields without presence read as zero when
// absent; optional ones take the spec's default.
func TestProtobufPresence(t *testing.T) {
	spec := loadSpec(t, "../testdata/formats/payments.protobuf.yaml")
	ev := `{"event_id":"e1","user_id":"u1","ts":1732460000123,"f00":0,"f01":1.5,"channel":"APP","tags":["a","b"]}`
	for i := 2; i < 24; i++ {
		ev = strings.TrimSuffix(ev, "}") + fmt.Sprintf(`,"f%02d":%d}`, i, i)
	}
	got := decodeMsgs(t, spec, encodeAll(t, spec, idProto, []string{ev}))
	if len(got.Errors) != 0 {
		t.Fatal(got.Errors)
	}
	row := got.features(0)
	if row[0] != 0 || row[1] != 1.5 || row[23] != 23 || got.Times[0] != 1732460000123 {
		t.Fatalf("row %v time %d", row, got.Times[0])
	}
	if got.Defaulted != 8 {
		t.Fatalf("defaulted %d, want 8 (f24..f31; f00 = 0 is a value, not absent)", got.Defaulted)
	}
	if _, ok := got.Pass[0]["merchant"]; ok {
		t.Fatalf("merchant %q, want null (absent optional field)", got.Pass[0]["merchant"])
	}
}

// TestProtobufPassthrough renders repeated, enum and timestamp passthrough
// fields as JSON.
func TestProtobufPassthrough(t *testing.T) {
	spec := loadSpec(t, "../testdata/formats/payments.protobuf.yaml")
	spec.Passthrough = []string{"merchant", "tags", "channel"}
	spec2, err := schemas.Parse([]byte(strings.Replace(mustRead(t, "../testdata/formats/payments.protobuf.yaml"), "passthrough: [merchant]", "passthrough: [merchant, tags, channel]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	spec2.SetSchemaSource(spec.SchemaSource())
	ev := paymentEvents(1)[0]
	ev = strings.TrimSuffix(ev, "}") + `,"channel":"APP","tags":["a","b\"c"]}`
	got := decodeMsgs(t, spec2, encodeAll(t, spec2, idProto, []string{ev}))
	if len(got.Errors) != 0 {
		t.Fatal(got.Errors)
	}
	if p := got.Pass[0]; p["tags"] != `["a","b\"c"]` || p["channel"] != `"APP"` {
		t.Fatalf("passthrough %v", p)
	}
}

func mustRead(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mapSource serves schemas from a map.
type mapSource map[int]schemas.WriterSchema

func (m mapSource) Schema(_ context.Context, id int) (schemas.WriterSchema, error) {
	if ws, ok := m[id]; ok {
		return ws, nil
	}
	return schemas.WriterSchema{}, schemas.ErrUnknownSchema
}

// downSource is a registry that cannot be reached.
type downSource struct{ calls atomic.Int32 }

func (d *downSource) Schema(context.Context, int) (schemas.WriterSchema, error) {
	d.calls.Add(1)
	return schemas.WriterSchema{}, fmt.Errorf("dial: refused: %w", schemas.ErrUnreachable)
}

// TestUnreachablePolicy: dead_letter gives up at once; wait asks again
// until max_wait, then dead-letters; a later batch asks again.
func TestUnreachablePolicy(t *testing.T) {
	base := mustRead(t, "../testdata/formats/payments.avro.yaml")
	for _, tc := range []struct {
		policy   string
		minCalls int32
	}{
		{"dead_letter", 1},
		{"wait", 2},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			spec, err := schemas.Parse([]byte(strings.Replace(base, "registry:\n", "registry:\n  unreachable: "+tc.policy+"\n  max_wait: 150ms\n", 1)))
			if err != nil {
				t.Fatal(err)
			}
			src := &downSource{}
			spec.SetSchemaSource(src)
			msg := schemas.Message{Value: append(schemas.AppendFrame(nil, 1), 0), Time: msgTime}
			got := decodeMsgs(t, spec, []schemas.Message{msg, msg})
			if len(got.Errors) != 2 || got.Errors[0].Reason != schemas.ReasonUnknownSchema || !strings.Contains(got.Errors[0].Msg, "unreachable") {
				t.Fatalf("got %+v", got.Errors)
			}
			// Both events fail on one lookup (or one waited series of
			// lookups): the second does not wait again.
			if n := src.calls.Load(); n < tc.minCalls || (tc.policy == "dead_letter" && n != 1) {
				t.Fatalf("%d lookups", n)
			}
		})
	}
}

func TestFormatValidation(t *testing.T) {
	base := mustRead(t, "../testdata/mlp.schema.yaml")
	for _, tc := range []struct {
		name, extra, want string
	}{
		{"unknown format", "format: thrift\n", `format: "thrift" is not one of json, avro, protobuf`},
		{"no schemas", "format: avro\n", "registry: format avro needs writer schemas"},
		{"registry for json", "registry: {url: http://127.0.0.1:1}\n", "only avro and protobuf events use a registry"},
		{"bad url", "format: avro\nregistry: {url: 127.0.0.1:8081}\n", "must start with http:// or https://"},
		{"bad policy", "format: avro\nregistry: {dir: x, unreachable: retry}\n", `"retry" is not wait or dead_letter`},
		{"typo", "format: avro\nregistry: {dri: x}\n", "registry.dri: unknown key; did you mean dir?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := schemas.Parse([]byte(base + tc.extra))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := schemas.Parse([]byte(base + "format: protobuf\nregistry: {url: https://127.0.0.1:1, dir: x}\n")); err != nil {
		t.Fatal(err)
	}
}

func TestFrame(t *testing.T) {
	b := schemas.AppendMessageIndexes(schemas.AppendFrame(nil, 258), []int{1, 2})
	id, body, err := schemas.ParseFrame(b)
	if err != nil || id != 258 {
		t.Fatal(id, err)
	}
	idx, rest, err := schemas.ParseMessageIndexes(nil, body)
	if err != nil || !slices.Equal(idx, []int{1, 2}) || len(rest) != 0 {
		t.Fatal(idx, rest, err)
	}
	if _, _, err := schemas.ParseMessageIndexes(nil, []byte{0x7f}); err == nil {
		t.Fatal("a negative count parsed")
	}
	if idx, _, _ := schemas.ParseMessageIndexes(nil, []byte{0}); !slices.Equal(idx, []int{0}) {
		t.Fatal(idx)
	}
	if _, err := schemas.FileDescriptorSet([]byte("junk")); err == nil {
		t.Fatal("junk parsed as a FileDescriptorSet")
	}
	if !errors.Is(func() error { _, err := (&schemas.FileSource{}).Schema(context.Background(), 1); return err }(), schemas.ErrUnknownSchema) {
		t.Fatal("an empty FileSource found a schema")
	}
}

// TestAvroNonFiniteInARun puts a NaN and an infinity in the middle of the
// run of float features (read in one loop) and a NaN in the optional ones:
// each is a non_finite dead letter naming its feature, and the event
// around them decodes when they are finite.
func TestAvroNonFiniteInARun(t *testing.T) {
	spec := loadSpec(t, "../testdata/formats/payments.avro.yaml")
	ev := paymentEvents(1)[0]
	marker := float32(1234.5)
	for _, tc := range []struct {
		feature string
		bits    uint32
	}{
		{"f05", 0x7fc00000},
		{"f17", math.Float32bits(float32(math.Inf(1)))},
		{"f26", 0x7fc00001},
	} {
		js := strings.Replace(ev, `"`+tc.feature+`":`, `"`+tc.feature+`":1234.5,"x`+tc.feature+`":`, 1)
		msg := encodeAll(t, spec, idPayments, []string{js})[0]
		var want [4]byte
		binary.LittleEndian.PutUint32(want[:], math.Float32bits(marker))
		at := bytes.Index(msg.Value, want[:])
		if at < 0 {
			t.Fatalf("%s: the marker value is not in the encoded event", tc.feature)
		}
		if got := decodeMsgs(t, spec, []schemas.Message{msg}); len(got.Errors) != 0 {
			t.Fatalf("%s: finite event: %v", tc.feature, got.Errors)
		}
		binary.LittleEndian.PutUint32(msg.Value[at:], tc.bits)
		got := decodeMsgs(t, spec, []schemas.Message{msg})
		if len(got.Errors) != 1 || got.Errors[0].Reason != schemas.ReasonNonFinite || got.Errors[0].Field != tc.feature {
			t.Fatalf("%s: errors %v, want one non_finite for it", tc.feature, got.Errors)
		}
	}
}
