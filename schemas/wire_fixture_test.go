package schemas_test

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// paymentsDesc is the FileDescriptorSet of testdata/formats/payments.proto.
const paymentsDesc = "../testdata/formats/payments.desc"

// paymentsDescriptor builds the FileDescriptorSet of payments.proto by hand
// (no protoc here): timestamp.proto, then payments.proto.
func paymentsDescriptor() *descriptorpb.FileDescriptorSet {
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL
	rep := descriptorpb.FieldDescriptorProto_LABEL_REPEATED
	field := func(name string, num int32, t descriptorpb.FieldDescriptorProto_Type, label descriptorpb.FieldDescriptorProto_Label) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{Name: proto.String(name), JsonName: proto.String(name), Number: proto.Int32(num), Type: t.Enum(), Label: label.Enum()}
	}
	msg := &descriptorpb.DescriptorProto{Name: proto.String("Payment")}
	optional := func(f *descriptorpb.FieldDescriptorProto) *descriptorpb.FieldDescriptorProto {
		// proto3 optional: a synthetic oneof gives the field presence.
		f.Proto3Optional = proto.Bool(true)
		f.OneofIndex = proto.Int32(int32(len(msg.OneofDecl)))
		msg.OneofDecl = append(msg.OneofDecl, &descriptorpb.OneofDescriptorProto{Name: proto.String("_" + f.GetName())})
		return f
	}
	ts := field("ts", 3, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, opt)
	ts.TypeName = proto.String(".google.protobuf.Timestamp")
	ch := field("channel", 5, descriptorpb.FieldDescriptorProto_TYPE_ENUM, opt)
	ch.TypeName = proto.String(".streamscore.test.Payment.Channel")
	msg.Field = []*descriptorpb.FieldDescriptorProto{
		field("event_id", 1, descriptorpb.FieldDescriptorProto_TYPE_STRING, opt),
		field("user_id", 2, descriptorpb.FieldDescriptorProto_TYPE_STRING, opt),
		ts,
	}
	msg.Field = append(msg.Field, optional(field("merchant", 4, descriptorpb.FieldDescriptorProto_TYPE_STRING, opt)))
	msg.Field = append(msg.Field, ch, field("tags", 6, descriptorpb.FieldDescriptorProto_TYPE_STRING, rep))
	for i := range 32 {
		f := field(fmt.Sprintf("f%02d", i), int32(10+i), descriptorpb.FieldDescriptorProto_TYPE_FLOAT, opt)
		if i >= 24 {
			f = optional(f)
		}
		msg.Field = append(msg.Field, f)
	}
	msg.EnumType = []*descriptorpb.EnumDescriptorProto{{
		Name: proto.String("Channel"),
		Value: []*descriptorpb.EnumValueDescriptorProto{
			{Name: proto.String("WEB"), Number: proto.Int32(0)},
			{Name: proto.String("APP"), Number: proto.Int32(1)},
		},
	}}
	file := &descriptorpb.FileDescriptorProto{
		Name:        proto.String("payments.proto"),
		Package:     proto.String("streamscore.test"),
		Dependency:  []string{"google/protobuf/timestamp.proto"},
		Syntax:      proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{msg},
	}
	return &descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{
		protodesc.ToFileDescriptorProto(timestamppb.File_google_protobuf_timestamp_proto),
		file,
	}}
}

// TestProtoFixture checks testdata/formats/payments.desc against the
// descriptor built here; -update rewrites it.
func TestProtoFixture(t *testing.T) {
	set := paymentsDescriptor()
	if _, err := protodesc.NewFiles(set); err != nil {
		t.Fatalf("the descriptor does not build: %v", err)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(paymentsDesc, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(paymentsDesc)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if !bytes.Equal(got, b) {
		t.Fatalf("%s is stale: run go test ./schemas -run TestProtoFixture -update", paymentsDesc)
	}
}
