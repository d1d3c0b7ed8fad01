package schemas_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/hamba/avro/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/streamscore/streamscore/schemas"
)

// typedWireSpec is a typed-input schema with a feature of every kind the
// binary formats feed: float64, float32, int64, int32, bool, string, a
// string from an enum, and a float32 array.
const typedWireSpec = `
name: typed
id: id
%s
features:
  - {name: amount, type: float64}
  - {name: price, type: float32}
  - {name: n, type: int64}
  - {name: small, type: int32, default: 7}
  - {name: ok, type: bool, default: 0}
  - {name: country, type: string, max_length: 4}
  - {name: device, type: string, default_string: web}
  - {name: emb, type: float32, length: 3, default: 0}
passthrough: [note]
model:
  outputs: [{name: score}]
`

// typedAvroFields are the fields of the Avro events' writer schema:
// nullable optional fields, device an enum.
var typedAvroFields = [][2]string{
	{"id", `"string"`},
	{"amount", `"double"`},
	{"price", `"float"`},
	{"n", `"long"`},
	{"small", `["null","long"]`},
	{"ok", `["null","boolean"]`},
	{"country", `"string"`},
	{"device", `["null",{"type":"enum","name":"Device","symbols":["web","ios","android"]}]`},
	{"emb", `["null",{"type":"array","items":"float"}]`},
	{"note", `["null","string"]`},
}

// typedAvroSchema returns the writer schema with the types of some fields
// replaced (an empty type leaves the field out).
func typedAvroSchema(replace map[string]string) string {
	var fields []string
	for _, f := range typedAvroFields {
		typ, ok := replace[f[0]]
		if !ok {
			typ = f[1]
		}
		if typ == "" {
			continue
		}
		def := ""
		if strings.HasPrefix(typ, `["null"`) {
			def = `,"default":null`
		}
		fields = append(fields, `{"name":"`+f[0]+`","type":`+typ+def+`}`)
	}
	return `{"type":"record","name":"Typed","fields":[` + strings.Join(fields, ",") + `]}`
}

// typedEvent is one event, with nil for an absent optional field.
type typedEvent struct {
	id      string
	amount  float64
	price   float32
	n       int64
	small   *int64
	ok      *bool
	country string
	device  *string
	emb     []float32
	note    *string
}

func ptr[T any](v T) *T { return &v }

func typedEvents() []typedEvent {
	var out []typedEvent
	devices := []string{"web", "ios", "android"}
	for i := range 40 {
		e := typedEvent{
			id:      fmt.Sprintf("e%d", i),
			amount:  0.1 * float64(i),
			price:   float32(i) / 3,
			n:       9007199254740993 + int64(i),
			country: []string{"DE", "US", "FR", "JP"}[i%4],
		}
		if i%3 != 0 {
			e.small = ptr(int64(-5 * i))
		}
		if i%4 != 1 {
			e.ok = ptr(i%2 == 0)
		}
		if i%5 != 2 {
			e.device = ptr(devices[i%3])
		}
		if i%6 != 3 {
			e.emb = []float32{float32(i), 2.5, -float32(i) / 8}
		}
		if i%2 == 0 {
			e.note = ptr(fmt.Sprintf("note \"%d\"", i))
		}
		out = append(out, e)
	}
	return out
}

func (e typedEvent) json() []byte {
	m := map[string]any{"id": e.id, "amount": e.amount, "price": e.price, "n": e.n, "country": e.country}
	if e.small != nil {
		m["small"] = *e.small
	}
	if e.ok != nil {
		m["ok"] = *e.ok
	}
	if e.device != nil {
		m["device"] = *e.device
	}
	if e.emb != nil {
		m["emb"] = e.emb
	}
	if e.note != nil {
		m["note"] = *e.note
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// avroRecord is e as hamba/avro marshals it with typedAvroSchema.
func (e typedEvent) avroRecord() map[string]any {
	m := map[string]any{"id": e.id, "amount": e.amount, "price": e.price, "n": e.n, "country": e.country,
		"small": nil, "ok": nil, "device": nil, "emb": nil, "note": nil}
	if e.small != nil {
		m["small"] = *e.small
	}
	if e.ok != nil {
		m["ok"] = *e.ok
	}
	if e.device != nil {
		m["device"] = map[string]any{"Device": *e.device}
	}
	if e.emb != nil {
		m["emb"] = map[string]any{"array": e.emb}
	}
	if e.note != nil {
		m["note"] = *e.note
	}
	return m
}

// typedProtoFile is the writer schema of the Protobuf events, built as a
// descriptor: proto2, so that optional fields have presence; emb packed.
func typedProtoFile(t testing.TB, smallKind descriptorpb.FieldDescriptorProto_Type) protoreflect.FileDescriptor {
	t.Helper()
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	field := func(name string, num int32, typ descriptorpb.FieldDescriptorProto_Type) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(num), Label: opt, Type: typ.Enum(), JsonName: proto.String(name)}
	}
	device := field("device", 7, descriptorpb.FieldDescriptorProto_TYPE_ENUM)
	device.TypeName = proto.String(".typed.Device")
	emb := field("emb", 8, descriptorpb.FieldDescriptorProto_TYPE_FLOAT)
	emb.Label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
	emb.Options = &descriptorpb.FieldOptions{Packed: proto.Bool(true)}
	fdp := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("typed.proto"),
		Package: proto.String("typed"),
		Syntax:  proto.String("proto2"),
		EnumType: []*descriptorpb.EnumDescriptorProto{{
			Name: proto.String("Device"),
			Value: []*descriptorpb.EnumValueDescriptorProto{
				{Name: proto.String("web"), Number: proto.Int32(0)},
				{Name: proto.String("ios"), Number: proto.Int32(1)},
				{Name: proto.String("android"), Number: proto.Int32(2)},
			},
		}},
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Typed"),
			Field: []*descriptorpb.FieldDescriptorProto{
				field("id", 1, descriptorpb.FieldDescriptorProto_TYPE_STRING),
				field("amount", 2, descriptorpb.FieldDescriptorProto_TYPE_DOUBLE),
				field("price", 3, descriptorpb.FieldDescriptorProto_TYPE_FLOAT),
				field("n", 4, descriptorpb.FieldDescriptorProto_TYPE_INT64),
				field("small", 5, smallKind),
				field("ok", 6, descriptorpb.FieldDescriptorProto_TYPE_BOOL),
				device,
				emb,
				field("country", 9, descriptorpb.FieldDescriptorProto_TYPE_STRING),
				field("note", 10, descriptorpb.FieldDescriptorProto_TYPE_STRING),
			},
		}},
	}
	fd, err := protodesc.NewFile(fdp, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

func descriptorSet(t testing.TB, fd protoreflect.FileDescriptor) []byte {
	t.Helper()
	b, err := proto.Marshal(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{protodesc.ToFileDescriptorProto(fd)}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// protoMessage is e as a dynamic message of md.
func (e typedEvent) protoMessage(md protoreflect.MessageDescriptor) *dynamicpb.Message {
	m := dynamicpb.NewMessage(md)
	f := md.Fields()
	m.Set(f.ByName("id"), protoreflect.ValueOfString(e.id))
	m.Set(f.ByName("amount"), protoreflect.ValueOfFloat64(e.amount))
	m.Set(f.ByName("price"), protoreflect.ValueOfFloat32(e.price))
	m.Set(f.ByName("n"), protoreflect.ValueOfInt64(e.n))
	m.Set(f.ByName("country"), protoreflect.ValueOfString(e.country))
	if e.small != nil {
		if sf := f.ByName("small"); sf.Kind() == protoreflect.DoubleKind {
			m.Set(sf, protoreflect.ValueOfFloat64(float64(*e.small)))
		} else {
			m.Set(sf, protoreflect.ValueOfInt64(*e.small))
		}
	}
	if e.ok != nil {
		m.Set(f.ByName("ok"), protoreflect.ValueOfBool(*e.ok))
	}
	if e.device != nil {
		ev := f.ByName("device").Enum().Values().ByName(protoreflect.Name(*e.device))
		m.Set(f.ByName("device"), protoreflect.ValueOfEnum(ev.Number()))
	}
	if e.emb != nil {
		l := m.Mutable(f.ByName("emb")).List()
		for _, v := range e.emb {
			l.Append(protoreflect.ValueOfFloat32(v))
		}
	}
	if e.note != nil {
		m.Set(f.ByName("note"), protoreflect.ValueOfString(*e.note))
	}
	return m
}

func typedWire(t testing.TB, format schemas.Format, src mapSource) *schemas.Spec {
	t.Helper()
	head := "format: json"
	if format.Binary() {
		head = "format: " + string(format) + "\nregistry: {dir: /nonexistent}"
	}
	spec, err := schemas.Parse([]byte(fmt.Sprintf(typedWireSpec, head)))
	if err != nil {
		t.Fatal(err)
	}
	if !spec.Typed() {
		t.Fatal("the spec is not typed")
	}
	if src != nil {
		spec.SetSchemaSource(src)
	}
	return spec
}

// typedColumns decodes msgs and returns each row as text: every column
// of the record (id, key, time, matrix, passthrough, typed columns), and
// the errors.
func typedColumns(t *testing.T, spec *schemas.Spec, msgs []schemas.Message) ([]string, []schemas.DecodeError) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	out := schemas.NewDecoder(spec, mem).Decode(msgs)
	defer out.Release()
	rec := out.Record
	var rows []string
	for r := range int(rec.NumRows()) {
		var parts []string
		for c := range int(rec.NumCols()) {
			col := rec.Column(c)
			if l, ok := col.(*array.FixedSizeList); ok {
				sl := array.NewSlice(l, int64(r), int64(r+1))
				parts = append(parts, fmt.Sprintf("%s=%v", rec.ColumnName(c), sl))
				sl.Release()
				continue
			}
			parts = append(parts, rec.ColumnName(c)+"="+col.ValueStr(r))
		}
		rows = append(rows, strings.Join(parts, " "))
	}
	return rows, out.Errors
}

// TestTypedWireMatchesJSON decodes the same events written as JSON, as
// Avro by hamba/avro and as Protobuf by google.golang.org/protobuf into a
// typed-input schema: every column of every row must be equal.
func TestTypedWireMatchesJSON(t *testing.T) {
	events := typedEvents()
	var jsonMsgs []schemas.Message
	for i, e := range events {
		jsonMsgs = append(jsonMsgs, schemas.Message{Value: e.json(), Time: msgTime, Offset: int64(i)})
	}
	want, errs := typedColumns(t, typedWire(t, schemas.FormatJSON, nil), jsonMsgs)
	if len(errs) > 0 || len(want) != len(events) {
		t.Fatalf("JSON: %d rows, errors %v", len(want), errs)
	}
	// The JSON rows are what the events say: spot-check row 2 (no emb is
	// left out there, small and ok are set, device takes the default).
	for _, part := range []string{"feature:amount=0.2", "feature:small=-10", "feature:ok=true", "feature:device=web", "feature:n=9007199254740995", "note=\"note \\\"2\\\"\""} {
		if !strings.Contains(want[2], part) {
			t.Fatalf("JSON row 2 lacks %s: %s", part, want[2])
		}
	}

	avroText := typedAvroSchema(nil)
	avroSchema := avro.MustParse(avroText)
	fd := typedProtoFile(t, descriptorpb.FieldDescriptorProto_TYPE_SINT64)
	md := fd.Messages().Get(0)
	for _, tc := range []struct {
		format schemas.Format
		src    mapSource
		encode func(e typedEvent) []byte
	}{
		{schemas.FormatAvro, mapSource{11: {ID: 11, Type: schemas.SchemaTypeAvro, Text: avroText}}, func(e typedEvent) []byte {
			b, err := avro.Marshal(avroSchema, e.avroRecord())
			if err != nil {
				t.Fatal(err)
			}
			return append(schemas.AppendFrame(nil, 11), b...)
		}},
		{schemas.FormatProtobuf, mapSource{12: {ID: 12, Type: schemas.SchemaTypeProtobuf, Descriptors: descriptorSet(t, fd)}}, func(e typedEvent) []byte {
			b, err := proto.Marshal(e.protoMessage(md))
			if err != nil {
				t.Fatal(err)
			}
			return append(schemas.AppendMessageIndexes(schemas.AppendFrame(nil, 12), []int{0}), b...)
		}},
	} {
		t.Run(string(tc.format), func(t *testing.T) {
			var msgs []schemas.Message
			for i, e := range events {
				msgs = append(msgs, schemas.Message{Value: tc.encode(e), Time: msgTime, Offset: int64(i)})
			}
			got, errs := typedColumns(t, typedWire(t, tc.format, tc.src), msgs)
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			if len(got) != len(want) {
				t.Fatalf("%d rows, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("row %d:\n got %s\nwant %s", i, got[i], want[i])
				}
			}
		})
	}
}

// TestTypedWireDeadLetters checks the dead letters of typed binary events:
// a writer type that cannot feed a feature is schema_mismatch naming it,
// and values out of a feature's bounds fail as they do in JSON.
func TestTypedWireDeadLetters(t *testing.T) {
	swap := func(field, typ string) string { return typedAvroSchema(map[string]string{field: typ}) }
	base := typedEvents()[1]
	long := base
	long.country = "ATLANTIS"
	wide := base
	wide.small = ptr(int64(1) << 40)
	short := base
	short.emb = []float32{1, 2}
	huge := base
	huge.amount = 1e300
	for _, tc := range []struct {
		name   string
		schema string
		event  typedEvent
		reason schemas.Reason
		field  string
	}{
		{"string feature from an int", swap("country", `"int"`), base, schemas.ReasonSchemaMismatch, "country"},
		{"int32 feature from a double", swap("small", `"double"`), base, schemas.ReasonSchemaMismatch, "small"},
		{"bool feature from a string", swap("ok", `"string"`), base, schemas.ReasonSchemaMismatch, "ok"},
		{"array feature from a float", swap("emb", `"float"`), base, schemas.ReasonSchemaMismatch, "emb"},
		{"float feature from a string", swap("amount", `"string"`), base, schemas.ReasonSchemaMismatch, "amount"},
		{"required string feature missing", swap("country", ""), base, schemas.ReasonSchemaMismatch, "country"},
		{"string over max_length", swap("", ""), long, schemas.ReasonTooLarge, "country"},
		{"int32 out of range", swap("", ""), wide, schemas.ReasonTypeMismatch, "small"},
		{"array of the wrong length", swap("", ""), short, schemas.ReasonTypeMismatch, "emb"},
		{"float64 beyond the float32 matrix", swap("", ""), huge, schemas.ReasonNonFinite, "amount"},
	} {
		t.Run("avro/"+tc.name, func(t *testing.T) {
			spec := typedWire(t, schemas.FormatAvro, mapSource{5: {ID: 5, Type: schemas.SchemaTypeAvro, Text: tc.schema}})
			s, err := schemas.ParseAvro(tc.schema)
			if err != nil {
				t.Fatal(err)
			}
			rec := tc.event.avroRecord()
			switch tc.name {
			case "string feature from an int":
				rec["country"] = 44
			case "int32 feature from a double":
				rec["small"] = 1.5
			case "bool feature from a string":
				rec["ok"] = "yes"
			case "array feature from a float":
				rec["emb"] = float32(1)
			case "float feature from a string":
				rec["amount"] = "1.5"
			}
			b, err := avro.Marshal(s, rec)
			if err != nil {
				t.Fatal(err)
			}
			rows, errs := typedColumns(t, spec, []schemas.Message{{Value: append(schemas.AppendFrame(nil, 5), b...), Time: msgTime}})
			if len(rows) != 0 || len(errs) != 1 {
				t.Fatalf("%d rows, errors %v; want one dead letter", len(rows), errs)
			}
			if errs[0].Reason != tc.reason || errs[0].Field != tc.field {
				t.Fatalf("got %s on %q (%s), want %s on %q", errs[0].Reason, errs[0].Field, errs[0].Msg, tc.reason, tc.field)
			}
		})
	}

	// Protobuf: small written as a double cannot feed the int32 feature;
	// as an int64 out of int32's range it fails at decode.
	for _, tc := range []struct {
		name   string
		kind   descriptorpb.FieldDescriptorProto_Type
		event  typedEvent
		reason schemas.Reason
	}{
		{"int32 feature from a double", descriptorpb.FieldDescriptorProto_TYPE_DOUBLE, base, schemas.ReasonSchemaMismatch},
		{"int32 out of range", descriptorpb.FieldDescriptorProto_TYPE_INT64, wide, schemas.ReasonTypeMismatch},
	} {
		t.Run("protobuf/"+tc.name, func(t *testing.T) {
			fd := typedProtoFile(t, tc.kind)
			spec := typedWire(t, schemas.FormatProtobuf, mapSource{6: {ID: 6, Type: schemas.SchemaTypeProtobuf, Descriptors: descriptorSet(t, fd)}})
			b, err := proto.Marshal(tc.event.protoMessage(fd.Messages().Get(0)))
			if err != nil {
				t.Fatal(err)
			}
			rows, errs := typedColumns(t, spec, []schemas.Message{{Value: append(schemas.AppendMessageIndexes(schemas.AppendFrame(nil, 6), []int{0}), b...), Time: msgTime}})
			if len(rows) != 0 || len(errs) != 1 || errs[0].Reason != tc.reason || errs[0].Field != "small" {
				t.Fatalf("%d rows, errors %v; want one %s on small", len(rows), errs, tc.reason)
			}
		})
	}
	// Protobuf: an array of the wrong length, and a string over max_length.
	fd := typedProtoFile(t, descriptorpb.FieldDescriptorProto_TYPE_SINT64)
	spec := typedWire(t, schemas.FormatProtobuf, mapSource{6: {ID: 6, Type: schemas.SchemaTypeProtobuf, Descriptors: descriptorSet(t, fd)}})
	var msgs []schemas.Message
	for _, e := range []typedEvent{short, long} {
		b, err := proto.Marshal(e.protoMessage(fd.Messages().Get(0)))
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, schemas.Message{Value: append(schemas.AppendMessageIndexes(schemas.AppendFrame(nil, 6), []int{0}), b...), Time: msgTime})
	}
	rows, errs := typedColumns(t, spec, msgs)
	if len(rows) != 0 || len(errs) != 2 || errs[0].Reason != schemas.ReasonTypeMismatch || errs[0].Field != "emb" || errs[1].Reason != schemas.ReasonTooLarge || errs[1].Field != "country" {
		t.Fatalf("%d rows, errors %v; want type_mismatch on emb, too_large on country", len(rows), errs)
	}
}

// fuzzTypedWire decodes each fuzzed body, framed with schema id, into the
// typed-input schema between two good events: the neighbours must come
// through intact, the input must be a row or a dead letter with a known
// reason, and no Arrow memory may be left.
func fuzzTypedWire(f *testing.F, format schemas.Format, src mapSource, id int, encode func(typedEvent) []byte) {
	spec := typedWire(f, format, src)
	events := typedEvents()[:4]
	var good []schemas.Message
	for _, e := range events {
		v := encode(e)
		good = append(good, schemas.Message{Value: v, Time: msgTime})
		f.Add(v[schemas.WireHeaderSize:])
		f.Add(v[schemas.WireHeaderSize : schemas.WireHeaderSize+len(v[schemas.WireHeaderSize:])/2])
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	dec := schemas.NewDecoder(spec, mem)
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs := []schemas.Message{good[0], {Value: append(schemas.AppendFrame(nil, id), body...), Time: msgTime}, good[1]}
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

// FuzzDecodeTypedAvro fuzzes the Avro reader into typed feature columns.
func FuzzDecodeTypedAvro(f *testing.F) {
	text := typedAvroSchema(nil)
	s := avro.MustParse(text)
	fuzzTypedWire(f, schemas.FormatAvro, mapSource{11: {ID: 11, Type: schemas.SchemaTypeAvro, Text: text}}, 11, func(e typedEvent) []byte {
		b, err := avro.Marshal(s, e.avroRecord())
		if err != nil {
			f.Fatal(err)
		}
		return append(schemas.AppendFrame(nil, 11), b...)
	})
}

// FuzzDecodeTypedProtobuf fuzzes the Protobuf reader into typed feature
// columns.
func FuzzDecodeTypedProtobuf(f *testing.F) {
	fd := typedProtoFile(f, descriptorpb.FieldDescriptorProto_TYPE_SINT64)
	md := fd.Messages().Get(0)
	fuzzTypedWire(f, schemas.FormatProtobuf, mapSource{12: {ID: 12, Type: schemas.SchemaTypeProtobuf, Descriptors: descriptorSet(f, fd)}}, 12, func(e typedEvent) []byte {
		b, err := proto.Marshal(e.protoMessage(md))
		if err != nil {
			f.Fatal(err)
		}
		return append(schemas.AppendMessageIndexes(schemas.AppendFrame(nil, 12), []int{0}), b...)
	})
}

// BenchmarkTypedDecodeFormat decodes the typed test events (eight typed
// features, an array among them, and a passthrough field) as JSON, Avro
// and Protobuf into the batch's columns; compare the formats within one
// run.
func BenchmarkTypedDecodeFormat(b *testing.B) {
	events := typedEvents()
	text := typedAvroSchema(nil)
	as := avro.MustParse(text)
	fd := typedProtoFile(b, descriptorpb.FieldDescriptorProto_TYPE_SINT64)
	md := fd.Messages().Get(0)
	for _, tc := range []struct {
		format schemas.Format
		src    mapSource
		encode func(e typedEvent) []byte
	}{
		{schemas.FormatJSON, nil, func(e typedEvent) []byte { return e.json() }},
		{schemas.FormatAvro, mapSource{11: {ID: 11, Type: schemas.SchemaTypeAvro, Text: text}}, func(e typedEvent) []byte {
			v, _ := avro.Marshal(as, e.avroRecord())
			return append(schemas.AppendFrame(nil, 11), v...)
		}},
		{schemas.FormatProtobuf, mapSource{12: {ID: 12, Type: schemas.SchemaTypeProtobuf, Descriptors: descriptorSet(b, fd)}}, func(e typedEvent) []byte {
			v, _ := proto.Marshal(e.protoMessage(md))
			return append(schemas.AppendMessageIndexes(schemas.AppendFrame(nil, 12), []int{0}), v...)
		}},
	} {
		b.Run(string(tc.format), func(b *testing.B) {
			msgs := make([]schemas.Message, 0, 256)
			for len(msgs) < cap(msgs) {
				for _, e := range events {
					if len(msgs) < cap(msgs) {
						msgs = append(msgs, schemas.Message{Value: tc.encode(e), Time: msgTime})
					}
				}
			}
			dec := schemas.NewDecoder(typedWire(b, tc.format, tc.src), memory.NewGoAllocator())
			b.ReportAllocs()
			for b.Loop() {
				out := dec.Decode(msgs)
				if len(out.Errors) > 0 {
					b.Fatal(out.Errors[0])
				}
				out.Release()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs)), "ns/event")
		})
	}
}
