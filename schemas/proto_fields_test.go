package schemas_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/streamscore/streamscore/schemas"
)

// protoPayment writes a standard payments event by hand: id, key, time,
// then the float features f00..f23 (field numbers 10..33) in the order
// given, with extra raw bytes appended.
func protoPayment(order []int, vals func(f int) uint32, extra []byte) []byte {
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	b = protowire.AppendString(b, "e1")
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, "u1")
	var ts []byte
	ts = protowire.AppendTag(ts, 1, protowire.VarintType)
	ts = protowire.AppendVarint(ts, 1732460000)
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendBytes(b, ts)
	for _, f := range order {
		b = protowire.AppendTag(b, protowire.Number(10+f), protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, vals(f))
	}
	return append(b, extra...)
}

// TestProtobufFloatFields checks the float feature reader against field
// order, repeats, unknown fields between features, a long-form message
// index, and the dead letters of bad float fields.
func TestProtobufFloatFields(t *testing.T) {
	spec := loadSpec(t, "../testdata/formats/payments.protobuf.yaml")
	frame := func(body []byte) schemas.Message {
		return schemas.Message{Value: append(schemas.AppendMessageIndexes(schemas.AppendFrame(nil, idProto), []int{0}), body...), Time: msgTime}
	}
	val := func(f int) uint32 { return math.Float32bits(float32(f) + 0.25) }
	inOrder := make([]int, 24)
	for i := range inOrder {
		inOrder[i] = i
	}
	reversed := slices.Clone(inOrder)
	slices.Reverse(reversed)
	// Unknown fields between features: fixed32 field 9, fixed32 field
	// 5000 (past the dense table), a varint and a string.
	var unknown []byte
	unknown = protowire.AppendFixed32(protowire.AppendTag(unknown, 9, protowire.Fixed32Type), 7)
	unknown = protowire.AppendFixed32(protowire.AppendTag(unknown, 5000, protowire.Fixed32Type), 7)
	unknown = protowire.AppendVarint(protowire.AppendTag(unknown, 77, protowire.VarintType), 300)
	unknown = protowire.AppendString(protowire.AppendTag(unknown, 4000, protowire.BytesType), "x")
	// f05 written twice: the last one counts.
	repeat := protowire.AppendFixed32(protowire.AppendTag(nil, 15, protowire.Fixed32Type), val(5))
	first := protoPayment(inOrder, func(f int) uint32 {
		if f == 5 {
			return math.Float32bits(-9)
		}
		return val(f)
	}, repeat)
	longIndex := append(schemas.AppendFrame(nil, idProto), 2, 0) // count 1, index 0
	longIndex = append(longIndex, protoPayment(inOrder, val, nil)...)
	msgs := []schemas.Message{
		frame(protoPayment(inOrder, val, nil)),
		frame(protoPayment(reversed, val, nil)),
		frame(append(protoPayment(inOrder[:12], val, unknown), protoPayment(inOrder[12:], val, nil)...)),
		frame(first),
		{Value: longIndex, Time: msgTime},
	}
	got := decodeMsgs(t, spec, msgs)
	if len(got.Errors) != 0 {
		t.Fatal(got.Errors)
	}
	for r := range msgs {
		row := got.features(r)
		for f := range 24 {
			if want := float32(f) + 0.25; row[f] != want {
				t.Fatalf("event %d: f%02d = %v, want %v", r, f, row[f], want)
			}
		}
		for f := 24; f < 32; f++ {
			if row[f] != 0 {
				t.Fatalf("event %d: f%02d = %v, want the default 0", r, f, row[f])
			}
		}
	}

	// Optional features left out between present ones (f25, f27, f28,
	// f30): the reader finds its place again after each gap.
	gaps := decodeMsgs(t, spec, []schemas.Message{frame(protoPayment(append(slices.Clone(inOrder), 24, 26, 29, 31), val, nil))})
	if len(gaps.Errors) != 0 {
		t.Fatal(gaps.Errors)
	}
	row := gaps.features(0)
	for f := range 32 {
		want := float32(f) + 0.25
		if f == 25 || f == 27 || f == 28 || f == 30 {
			want = 0
		}
		if row[f] != want {
			t.Fatalf("with gaps: f%02d = %v, want %v", f, row[f], want)
		}
	}

	nan := protoPayment(inOrder, func(f int) uint32 {
		if f == 5 {
			return 0x7fc00000
		}
		return val(f)
	}, nil)
	inf := protoPayment(inOrder, func(f int) uint32 {
		if f == 20 {
			return math.Float32bits(float32(math.Inf(-1)))
		}
		return val(f)
	}, nil)
	varint := append(protoPayment(inOrder, val, nil), protowire.AppendVarint(protowire.AppendTag(nil, 15, protowire.VarintType), 1)...)
	short := append(protoPayment(inOrder, val, nil), protowire.AppendTag(nil, 15, protowire.Fixed32Type)...)
	short = append(short, 1, 2)
	zero := append(protoPayment(inOrder, val, nil), protowire.AppendFixed32(protowire.AppendTag(nil, 0, protowire.Fixed32Type), 1)...)
	for _, tc := range []struct {
		name   string
		body   []byte
		reason schemas.Reason
		field  string
	}{
		{"NaN", nan, schemas.ReasonNonFinite, "f05"},
		{"infinity", inf, schemas.ReasonNonFinite, "f20"},
		{"float as varint", varint, schemas.ReasonMalformed, "f05"},
		{"truncated float", short, schemas.ReasonMalformed, "f05"},
		{"field number 0", zero, schemas.ReasonMalformed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := decodeMsgs(t, spec, []schemas.Message{frame(tc.body)})
			if len(got.Errors) != 1 || got.Errors[0].Reason != tc.reason || got.Errors[0].Field != tc.field {
				t.Fatalf("got %+v, want one %s dead letter on field %q", got.Errors, tc.reason, tc.field)
			}
		})
	}
}

// TestProtobufFloatOrders decodes events whose float features come in
// random orders and subsets (runs in number order broken by gaps, fields
// out of order, repeats, unknown fields between them, a run ending at the
// body's last byte) and checks every feature against what the wire says:
// the last value written, or the default of an optional feature left out.
func TestProtobufFloatOrders(t *testing.T) {
	spec := loadSpec(t, "../testdata/formats/payments.protobuf.yaml")
	rng := rand.New(rand.NewPCG(3, 4))
	const events = 400
	var msgs []schemas.Message
	want := make([][32]float32, events)
	for e := range events {
		var order []int
		switch e % 4 {
		case 0: // in number order, some optional ones left out
			for f := range 32 {
				if f < 24 || rng.IntN(2) == 0 {
					order = append(order, f)
				}
			}
		case 1: // shuffled
			order = rng.Perm(32)
		case 2: // in order with a stretch moved to the end
			cut := 1 + rng.IntN(30)
			for f := cut; f < 32; f++ {
				order = append(order, f)
			}
			for f := range cut {
				order = append(order, f)
			}
		default: // in order with repeats
			for f := range 32 {
				order = append(order, f)
				if rng.IntN(6) == 0 {
					order = append(order, rng.IntN(32))
				}
			}
		}
		vals := map[int]uint32{}
		body := protoPayment(nil, nil, nil)
		for _, f := range order {
			v := float32(rng.NormFloat64())
			if v == 0 {
				v = 1
			}
			vals[f] = math.Float32bits(v)
			body = protowire.AppendTag(body, protowire.Number(10+f), protowire.Fixed32Type)
			body = protowire.AppendFixed32(body, vals[f])
			if rng.IntN(20) == 0 {
				body = protowire.AppendVarint(protowire.AppendTag(body, 77, protowire.VarintType), uint64(rng.IntN(1000)))
			}
		}
		for f := range 32 {
			if bits, ok := vals[f]; ok {
				want[e][f] = math.Float32frombits(bits)
			}
		}
		msgs = append(msgs, schemas.Message{Value: append(schemas.AppendMessageIndexes(schemas.AppendFrame(nil, idProto), []int{0}), body...), Time: msgTime})
	}
	got := decodeMsgs(t, spec, msgs)
	if len(got.Errors) != 0 {
		t.Fatalf("dead letters: %+v", got.Errors)
	}
	for e := range events {
		row := got.features(e)
		for f := range 32 {
			if row[f] != want[e][f] {
				t.Fatalf("event %d (kind %d): f%02d = %v, want %v", e, e%4, f, row[f], want[e][f])
			}
		}
	}
}
