//go:build integration

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/segmentio/kafka-go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/streamscore/streamscore/internal/servicetest"
	"github.com/streamscore/streamscore/schemas"
)

// typedAvroWriter is the writer schema of the typed fixtures' events as
// Avro: device an enum, emb an array, label a field no fixture reads.
const typedAvroWriter = `{"type":"record","name":"TypedEvent","fields":[
 {"name":"id","type":"string"},
 {"name":"amount","type":"float"},
 {"name":"n_items","type":"long"},
 {"name":"country","type":"string"},
 {"name":"device","type":{"type":"enum","name":"Device","symbols":["web","ios","android"]}},
 {"name":"label","type":"int"},
 {"name":"emb","type":{"type":"array","items":"float"}}
]}`

// typedAvroWrongType is typedAvroWriter with country an int, which cannot
// feed the df_pipeline's string feature.
var typedAvroWrongType = strings.Replace(typedAvroWriter, `{"name":"country","type":"string"}`, `{"name":"country","type":"int"}`, 1)

// typedProtoWriter is the writer schema of the typed fixtures' events as
// Protobuf (proto3: emb packed), built as a descriptor.
func typedProtoWriter(t *testing.T) protoreflect.FileDescriptor {
	t.Helper()
	field := func(name string, num int32, typ descriptorpb.FieldDescriptorProto_Type) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(num), JsonName: proto.String(name),
			Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: typ.Enum()}
	}
	device := field("device", 5, descriptorpb.FieldDescriptorProto_TYPE_ENUM)
	device.TypeName = proto.String(".streamscore.typed.Device")
	emb := field("emb", 6, descriptorpb.FieldDescriptorProto_TYPE_FLOAT)
	emb.Label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:    proto.String("typed_event.proto"),
		Package: proto.String("streamscore.typed"),
		Syntax:  proto.String("proto3"),
		EnumType: []*descriptorpb.EnumDescriptorProto{{Name: proto.String("Device"), Value: []*descriptorpb.EnumValueDescriptorProto{
			{Name: proto.String("web"), Number: proto.Int32(0)},
			{Name: proto.String("ios"), Number: proto.Int32(1)},
			{Name: proto.String("android"), Number: proto.Int32(2)},
		}}},
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("TypedEvent"), Field: []*descriptorpb.FieldDescriptorProto{
			field("id", 1, descriptorpb.FieldDescriptorProto_TYPE_STRING),
			field("amount", 2, descriptorpb.FieldDescriptorProto_TYPE_FLOAT),
			field("n_items", 3, descriptorpb.FieldDescriptorProto_TYPE_INT64),
			field("country", 4, descriptorpb.FieldDescriptorProto_TYPE_STRING),
			device,
			emb,
			field("label", 7, descriptorpb.FieldDescriptorProto_TYPE_INT32),
		}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

// typedFixtureEvent is one line of testdata/models/typed/events.jsonl.
type typedFixtureEvent struct {
	ID      string    `json:"id"`
	Amount  float64   `json:"amount"`
	NItems  int64     `json:"n_items"`
	Country string    `json:"country"`
	Device  string    `json:"device"`
	Label   int32     `json:"label"`
	Emb     []float32 `json:"emb"`
}

func (e typedFixtureEvent) avro(t *testing.T, s avro.Schema, id int) []byte {
	t.Helper()
	b, err := avro.Marshal(s, map[string]any{"id": e.ID, "amount": float32(e.Amount), "n_items": e.NItems,
		"country": e.Country, "device": e.Device, "label": e.Label, "emb": e.Emb})
	if err != nil {
		t.Fatal(err)
	}
	return append(schemas.AppendFrame(nil, id), b...)
}

func (e typedFixtureEvent) proto(t *testing.T, md protoreflect.MessageDescriptor, id int) []byte {
	t.Helper()
	m := dynamicpb.NewMessage(md)
	f := md.Fields()
	m.Set(f.ByName("id"), protoreflect.ValueOfString(e.ID))
	m.Set(f.ByName("amount"), protoreflect.ValueOfFloat32(float32(e.Amount)))
	m.Set(f.ByName("n_items"), protoreflect.ValueOfInt64(e.NItems))
	m.Set(f.ByName("country"), protoreflect.ValueOfString(e.Country))
	m.Set(f.ByName("device"), protoreflect.ValueOfEnum(f.ByName("device").Enum().Values().ByName(protoreflect.Name(e.Device)).Number()))
	m.Set(f.ByName("label"), protoreflect.ValueOfInt32(e.Label))
	l := m.Mutable(f.ByName("emb")).List()
	for _, v := range e.Emb {
		l.Append(protoreflect.ValueOfFloat32(v))
	}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return append(schemas.AppendMessageIndexes(schemas.AppendFrame(nil, id), []int{0}), b...)
}

// TestTypedBinaryFormatsOnTheBroker scores the typed fixtures from Avro
// events (written by hamba/avro) and Protobuf events (written by
// google.golang.org/protobuf) on the real broker: the DataFrame pipeline
// (float32, int64 and string inputs, one from an enum) and the embedding
// model (an array input). Every event is scored exactly once with the
// scores of the same events read as JSON (and of Python onnxruntime);
// events that cannot feed the features are dead letters with their
// reasons and fields.
func TestTypedBinaryFormatsOnTheBroker(t *testing.T) {
	brokers := strings.Split(servicetest.Env(t, "STREAMSCORE_BROKERS"), ",")
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	dir := filepath.Join(repoRoot(t), "testdata", "models", "typed")
	tmp := t.TempDir()

	var events []typedFixtureEvent
	lines := readLines(t, filepath.Join(dir, "events.jsonl"))
	for _, l := range lines {
		var e typedFixtureEvent
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatal(err)
		}
		if float64(float32(e.Amount)) != e.Amount {
			t.Fatalf("event %s: amount %v is not a float32; the Avro float would differ from the JSON", e.ID, e.Amount)
		}
		events = append(events, e)
	}
	avscFile, wrongFile, descFile := filepath.Join(tmp, "typed.avsc"), filepath.Join(tmp, "typed_wrong.avsc"), filepath.Join(tmp, "typed.desc")
	fd := typedProtoWriter(t)
	desc, err := proto.Marshal(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{protodesc.ToFileDescriptorProto(fd)}})
	if err != nil {
		t.Fatal(err)
	}
	for p, b := range map[string][]byte{avscFile: []byte(typedAvroWriter), wrongFile: []byte(typedAvroWrongType), descFile: desc} {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	avroSchema := avro.MustParse(typedAvroWriter)
	wrongSchema := avro.MustParse(typedAvroWrongType)
	md := fd.Messages().Get(0)

	type typedRun struct {
		fixture, format string
		values          []inputEvent
		dead            map[string][2]string // value -> reason, field
		out, dlq        string
		want            typedExpected
		spec            *schemas.Spec
		scored, dlqMsgs []kafka.Message
		stop            func()
	}
	var runs []*typedRun
	for _, fixture := range []string{"df_pipeline", "embedding"} {
		for _, format := range []string{"json", "avro", "protobuf"} {
			r := &typedRun{fixture: fixture, format: format, dead: map[string][2]string{}}
			readJSON(t, filepath.Join(dir, fixture+".expected.json"), &r.want)
			specText, err := os.ReadFile(filepath.Join(dir, fixture+".schema.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			switch format {
			case "avro":
				specText = fmt.Appendf(specText, "format: avro\nregistry:\n  files: {1: %s, 2: %s}\n", avscFile, wrongFile)
			case "protobuf":
				specText = fmt.Appendf(specText, "format: protobuf\nregistry:\n  files: {3: %s}\n", descFile)
			}
			specFile := filepath.Join(tmp, fixture+"."+format+".schema.yaml")
			if err := os.WriteFile(specFile, specText, 0o644); err != nil {
				t.Fatal(err)
			}
			if r.spec, err = schemas.Load(specFile); err != nil {
				t.Fatalf("%s %s: %v", fixture, format, err)
			}
			for i, e := range events {
				v := lines[i]
				switch format {
				case "avro":
					v = e.avro(t, avroSchema, 1)
				case "protobuf":
					v = e.proto(t, md, 3)
				}
				r.values = append(r.values, inputEvent{id: e.ID, key: e.ID, value: v})
			}
			// Dead letters: a country over max_length, a writer schema
			// whose country is an int, an embedding one element short.
			bad := events[0]
			switch {
			case fixture == "df_pipeline" && format == "avro":
				bad.ID, bad.Country = "bad-long", strings.Repeat("X", 17)
				r.dead[string(bad.avro(t, avroSchema, 1))] = [2]string{string(schemas.ReasonTooLarge), "country"}
				b, err := avro.Marshal(wrongSchema, map[string]any{"id": "bad-type", "amount": float32(1), "n_items": int64(1),
					"country": 44, "device": "web", "label": int32(0), "emb": []float32{}})
				if err != nil {
					t.Fatal(err)
				}
				r.dead[string(append(schemas.AppendFrame(nil, 2), b...))] = [2]string{string(schemas.ReasonSchemaMismatch), "country"}
			case fixture == "df_pipeline" && format == "protobuf":
				bad.ID, bad.Country = "bad-long", strings.Repeat("X", 17)
				r.dead[string(bad.proto(t, md, 3))] = [2]string{string(schemas.ReasonTooLarge), "country"}
			case fixture == "embedding" && format == "avro":
				bad.ID, bad.Emb = "bad-short", bad.Emb[:7]
				r.dead[string(bad.avro(t, avroSchema, 1))] = [2]string{string(schemas.ReasonTypeMismatch), "emb"}
			case fixture == "embedding" && format == "protobuf":
				bad.ID, bad.Emb = "bad-short", bad.Emb[:7]
				r.dead[string(bad.proto(t, md, 3))] = [2]string{string(schemas.ReasonTypeMismatch), "emb"}
			}
			for v := range r.dead {
				r.values = append(r.values, inputEvent{key: "bad", value: []byte(v)})
			}
			in, out, dlq, group := uniqueTopics("it-typed-" + format + "-" + fixture)
			r.out, r.dlq = out, dlq
			cfg := writeConfig(t, fmt.Sprintf(`
brokers: ["${STREAMSCORE_BROKERS}"]
group: %s
topics: {input: %s, output: %s, dlq: %s, partitions: 2}
schema: %s
model: {path: %s, name: %s, version: "1"}
batch: {max_rows: 64, max_wait: 10ms}
http: {addr: "127.0.0.1:0"}
log: {format: json}
`, group, in, out, dlq, specFile, filepath.Join(dir, fixture+".onnx"), fixture))
			createTopics(t, cfg)
			produce(t, brokers, in, r.values)
			cmd, _ := startRun(t, cfg)
			r.stop = func() {
				cmd.Process.Signal(syscall.SIGTERM)
				if err := cmd.Wait(); err != nil {
					t.Errorf("%s %s: run did not exit 0 after SIGTERM: %v", fixture, format, err)
				}
			}
			runs = append(runs, r)
		}
	}
	for _, r := range runs {
		r.scored = readAll(t, brokers, r.out, len(events), 90*time.Second)
		wait := 20 * time.Second
		if len(r.dead) == 0 {
			wait = time.Second // expecting none: a short look for strays
		}
		r.dlqMsgs = readAll(t, brokers, r.dlq, len(r.dead), wait)
		r.stop()
	}

	// scores returns each scored event's outputs by id.
	scores := func(r *typedRun) map[string]map[string]json.RawMessage {
		out := map[string]map[string]json.RawMessage{}
		for _, m := range r.scored {
			var ev struct {
				ID     string                     `json:"event_id"`
				Scores map[string]json.RawMessage `json:"scores"`
			}
			if err := json.Unmarshal(m.Value, &ev); err != nil {
				t.Fatalf("%s %s: scored event is not JSON: %v: %s", r.fixture, r.format, err, m.Value)
			}
			if _, dup := out[ev.ID]; dup {
				t.Fatalf("%s %s: %s scored twice", r.fixture, r.format, ev.ID)
			}
			out[ev.ID] = ev.Scores
		}
		return out
	}
	var jsonScores map[string]map[string]json.RawMessage
	for _, r := range runs {
		t.Run(r.fixture+"/"+r.format, func(t *testing.T) {
			got := scores(r)
			if len(got) != len(events) {
				t.Fatalf("%d scored events, want exactly %d", len(got), len(events))
			}
			if r.format == "json" {
				jsonScores = got
			}
			bads := 0
			for i, id := range r.want.IDs {
				for _, o := range r.spec.Model.Outputs {
					// Python's score, within typedTolerance; and the JSON
					// run's, to the same tolerance (batches of other shapes
					// may round a float32 step differently).
					err := sameJSONValue(got[id][o.As], r.want.Outputs[o.Name][i])
					if err == nil && jsonScores != nil {
						err = sameJSONValue(got[id][o.As], jsonScores[id][o.As])
					}
					if err != nil {
						if bads++; bads <= 5 {
							t.Errorf("event %s, %s: %v", id, o.As, err)
						}
					}
				}
			}
			if len(r.dlqMsgs) != len(r.dead) {
				t.Fatalf("%d dead letters, want %d", len(r.dlqMsgs), len(r.dead))
			}
			for _, m := range r.dlqMsgs {
				var reason, field string
				for _, h := range m.Headers {
					switch h.Key {
					case schemas.HeaderReason:
						reason = string(h.Value)
					case schemas.HeaderField:
						field = string(h.Value)
					}
				}
				want, ok := r.dead[string(m.Value)]
				if !ok || reason != want[0] || field != want[1] {
					t.Errorf("dead letter %q: reason %q on %q, want %q on %q (bytes untouched: %v)", m.Value, reason, field, want[0], want[1], ok)
				}
			}
		})
	}
}
