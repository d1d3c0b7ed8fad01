package schemas_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
)

var wireReasons = map[schemas.Reason]bool{
	schemas.ReasonMalformed:      true,
	schemas.ReasonUnknownSchema:  true,
	schemas.ReasonSchemaMismatch: true,
	schemas.ReasonMissingField:   true,
	schemas.ReasonTypeMismatch:   true,
	schemas.ReasonNonFinite:      true,
	schemas.ReasonTooLarge:       true,
}

// fuzzWire decodes each input, framed with schema id, between two good
// events of the same schema: the neighbours must come through intact, the
// input must be a row or a dead letter with a known reason, and no Arrow
// memory may be left.
func fuzzWire(f *testing.F, specPath string, id int) {
	spec := loadSpec(f, specPath)
	events := paymentEvents(3)
	good := encodeAll(f, spec, id, events)
	for _, m := range good {
		body := m.Value[schemas.WireHeaderSize:]
		f.Add(body)
		f.Add(body[:len(body)/2])
	}
	f.Add([]byte{})
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	dec := schemas.NewDecoder(spec, mem)
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs := []schemas.Message{
			good[0],
			{Value: append(schemas.AppendFrame(nil, id), body...), Time: msgTime},
			good[1],
		}
		out := dec.Decode(msgs)
		defer func() {
			out.Release()
			mem.AssertSize(t, 0)
		}()
		if len(out.Rows)+len(out.Errors) != len(msgs) {
			t.Fatalf("%d rows + %d errors for %d messages", len(out.Rows), len(out.Errors), len(msgs))
		}
		for _, e := range out.Errors {
			if e.Index != 1 || !wireReasons[e.Reason] {
				t.Fatalf("dead letter %+v: a neighbour failed or the reason is unknown", e)
			}
		}
		ids := out.Record.Column(0).(*array.String)
		if ids.Value(0) != "e0" || ids.Value(int(out.Record.NumRows())-1) != "e1" {
			t.Fatalf("neighbours decoded as %q, %q", ids.Value(0), ids.Value(int(out.Record.NumRows())-1))
		}
	})
}

// FuzzDecodeAvro fuzzes the Avro record reader; seeds in
// testdata/fuzz/FuzzDecodeAvro and good events added here.
func FuzzDecodeAvro(f *testing.F) { fuzzWire(f, "../testdata/formats/payments.avro.yaml", idPayments) }

// FuzzDecodeProtobuf fuzzes the Protobuf reader (message indexes, then the
// message); seeds in testdata/fuzz/FuzzDecodeProtobuf and good events.
func FuzzDecodeProtobuf(f *testing.F) {
	fuzzWire(f, "../testdata/formats/payments.protobuf.yaml", idProto)
}

// FuzzWireJSON renders fuzzed Avro bodies as JSON (consume's path): it must
// return JSON or an error, never panic.
func FuzzWireJSON(f *testing.F) {
	spec := loadSpec(f, "../testdata/formats/payments.avro.yaml")
	for _, m := range encodeAll(f, spec, idPayments, paymentEvents(2)) {
		f.Add(m.Value[schemas.WireHeaderSize:])
	}
	r := schemas.NewWireJSON(spec.SchemaSource())
	f.Fuzz(func(t *testing.T, body []byte) {
		js, err := r.JSON(context.Background(), append(schemas.AppendFrame(nil, idPayments), body...))
		if err == nil && !jsonValid(js) {
			t.Fatalf("invalid JSON %q", js)
		}
	})
}

func jsonValid(b []byte) bool { return json.Valid(b) }
