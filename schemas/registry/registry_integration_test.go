//go:build integration

package registry_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
	"github.com/streamscore/streamscore/schemas/registry"
)

// TestRealRegistry registers the payments Avro schema and its evolved
// version with the Apicurio Registry that `STREAMSCORE_REGISTRY=1 make up`
// starts, then reads events framed with the ids it gave through a spec
// whose registry.url points at it. Without the registry it skips.
func TestRealRegistry(t *testing.T) {
	url := os.Getenv("STREAMSCORE_REGISTRY_URL")
	if url == "" {
		t.Skip("STREAMSCORE_REGISTRY_URL is not set: start the registry with STREAMSCORE_REGISTRY=1 make up")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := registry.New(schemas.RegistrySpec{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	read := func(p string) string {
		b, err := os.ReadFile("../../testdata/formats/" + p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	subject := fmt.Sprintf("it-payments-%d-value", time.Now().UnixNano())
	v1, err := c.Register(ctx, subject, schemas.SchemaTypeAvro, read("payments.avsc"))
	if err != nil {
		t.Fatalf("registering: %v", err)
	}
	v2, err := c.Register(ctx, subject, schemas.SchemaTypeAvro, read("payments_v2.avsc"))
	if err != nil || v2 == v1 {
		t.Fatalf("registering v2: id %d (v1 %d), %v", v2, v1, err)
	}
	if vs, err := c.Versions(ctx, subject); err != nil || !slices.Equal(vs, []int{1, 2}) {
		t.Fatalf("versions %v, %v", vs, err)
	}
	if latest, err := c.Version(ctx, subject, "latest"); err != nil || latest.Schema.ID != v2 || latest.Version != 2 {
		t.Fatalf("latest %+v, %v", latest, err)
	}
	if subs, err := c.Subjects(ctx); err != nil || !slices.Contains(subs, subject) {
		t.Fatalf("subjects %v, %v", subs, err)
	}

	spec, err := schemas.Parse([]byte(mustSpecText(t) + "format: avro\nregistry: {url: " + url + "}\n"))
	if err != nil {
		t.Fatal(err)
	}
	closeReg, err := registry.Attach(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer closeReg()
	ev := `{"event_id":"e1","user_id":"u1","ts":1732460000123,"merchant":"m"`
	for f := range 32 {
		ev += fmt.Sprintf(`,"f%02d":%d.5`, f, f)
	}
	var msgs []schemas.Message
	for _, id := range []int{v1, v2} {
		e := ev
		if id == v2 {
			e += `,"channel":"APP","amount":1.25`
		}
		enc, err := schemas.NewWireEncoder(ctx, spec.SchemaSource(), schemas.FormatAvro, id, "")
		if err != nil {
			t.Fatal(err)
		}
		v, err := enc.Encode(nil, []byte(e+"}"))
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, schemas.Message{Value: v, Time: time.Now()})
	}
	unknown := append(schemas.AppendFrame(nil, v2+1000), msgs[0].Value[5:]...)
	msgs = append(msgs, schemas.Message{Value: unknown, Time: time.Now()})
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	out := schemas.NewDecoder(spec, mem).Decode(msgs)
	defer out.Release()
	if len(out.Errors) != 1 || out.Errors[0].Index != 2 || out.Errors[0].Reason != schemas.ReasonUnknownSchema {
		t.Fatalf("errors %+v, want the unknown id only", out.Errors)
	}
	x := out.Features()
	if x[0] != 0.5 || x[31] != 31.5 || x[32] != 0.5 || x[63] != 0 {
		t.Fatalf("features %v: v1 should carry f31 = 31.5, v2 (no f31) the default 0", x)
	}
	if ids := out.Record.Column(0).(*array.String); ids.Value(1) != "e1" {
		t.Fatalf("id %q", ids.Value(1))
	}
}

// TestRealRegistryProtobuf registers payments.proto as source; the client
// compiles what the registry returns, and events written with its id decode.
func TestRealRegistryProtobuf(t *testing.T) {
	url := os.Getenv("STREAMSCORE_REGISTRY_URL")
	if url == "" {
		t.Skip("STREAMSCORE_REGISTRY_URL is not set: start the registry with STREAMSCORE_REGISTRY=1 make up")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	src, err := os.ReadFile("../../testdata/formats/payments.proto")
	if err != nil {
		t.Fatal(err)
	}
	c, err := registry.New(schemas.RegistrySpec{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := c.Register(ctx, fmt.Sprintf("it-proto-%d-value", time.Now().UnixNano()), schemas.SchemaTypeProtobuf, string(src))
	if err != nil {
		t.Fatalf("registering: %v", err)
	}
	spec, err := schemas.Parse([]byte(mustSpecText(t) + "format: protobuf\nregistry: {url: " + url + "}\n"))
	if err != nil {
		t.Fatal(err)
	}
	closeReg, err := registry.Attach(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer closeReg()
	ev := `{"event_id":"p1","user_id":"u1","ts":1732460000123,"merchant":"m"`
	for f := range 32 {
		ev += fmt.Sprintf(`,"f%02d":%d.25`, f, f)
	}
	enc, err := schemas.NewWireEncoder(ctx, spec.SchemaSource(), schemas.FormatProtobuf, id, "streamscore.test.Payment")
	if err != nil {
		t.Fatal(err)
	}
	v, err := enc.Encode(nil, []byte(ev+"}"))
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	out := schemas.NewDecoder(spec, mem).Decode([]schemas.Message{{Value: v, Time: time.Now()}})
	defer out.Release()
	if len(out.Errors) != 0 {
		t.Fatalf("errors %+v", out.Errors)
	}
	if x := out.Features(); x[0] != 0.25 || x[31] != 31.25 {
		t.Fatalf("features %v", x)
	}
	if ts := out.Record.Column(2).(*array.Timestamp); int64(ts.Value(0)) != 1732460000123 {
		t.Fatalf("event time %d", ts.Value(0))
	}
}

func mustSpecText(t *testing.T) string {
	b, err := os.ReadFile("../../testdata/mlp.schema.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b)) + "\n"
}
