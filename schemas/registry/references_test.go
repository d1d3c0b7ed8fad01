package registry

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/streamscore/streamscore/schemas"
)

// refRegistry serves Protobuf schemas that import other registered
// schemas: /schemas/ids/{id} and /subjects/{subject}/versions/{version}.
type refRegistry struct {
	ids      map[string]map[string]any
	versions map[string]map[string]any // "subject/version"
	asked    []string
}

func (f *refRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	p := strings.Trim(r.URL.Path, "/")
	f.asked = append(f.asked, p)
	var s map[string]any
	switch parts := strings.Split(p, "/"); {
	case len(parts) == 3 && parts[0] == "schemas":
		s = f.ids[parts[2]]
	case len(parts) == 4 && parts[0] == "subjects":
		s = f.versions[parts[1]+"/"+parts[3]]
	}
	if s == nil {
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]any{"error_code": 40401, "message": "not found"})
		return
	}
	json.NewEncoder(w).Encode(s)
}

func ref(name, subject string, version int) map[string]any {
	return map[string]any{"name": name, "subject": subject, "version": version}
}

// TestProtobufReferences reads a Protobuf schema that imports a registered
// schema, which imports another: the client fetches both by subject and
// version and compiles the three together; a reference the registry lacks
// makes the schema unknown.
func TestProtobufReferences(t *testing.T) {
	f := &refRegistry{
		ids: map[string]map[string]any{
			"10": {"schemaType": "PROTOBUF", "references": []any{ref("common/money.proto", "money", 1)},
				"schema": "syntax = \"proto3\";\npackage ev;\nimport \"common/money.proto\";\nmessage Payment { string id = 1; common.Money amount = 2; float f = 3; }\n"},
			"11": {"schemaType": "PROTOBUF", "references": []any{ref("common/gone.proto", "gone", 3)},
				"schema": "syntax = \"proto3\";\nimport \"common/gone.proto\";\nmessage P { string id = 1; }\n"},
		},
		versions: map[string]map[string]any{
			"money/1": {"schemaType": "PROTOBUF", "references": []any{ref("common/currency.proto", "currency", 2)},
				"schema": "syntax = \"proto3\";\npackage common;\nimport \"common/currency.proto\";\nmessage Money { int64 units = 1; Currency cur = 2; }\n"},
			"currency/2": {"schemaType": "PROTOBUF",
				"schema": "syntax = \"proto3\";\npackage common;\nenum Currency { EUR = 0; USD = 1; }\n"},
		},
	}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := New(schemas.RegistrySpec{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	ws, err := c.Schema(ctx, 10)
	if err != nil {
		t.Fatalf("schema 10: %v", err)
	}
	for _, want := range []string{"subjects/money/versions/1", "subjects/currency/versions/2"} {
		if !strings.Contains(strings.Join(f.asked, " "), want) {
			t.Fatalf("the client asked %v, not %s", f.asked, want)
		}
	}
	fd, err := schemas.FileDescriptorSet(ws.Descriptors)
	if err != nil {
		t.Fatal(err)
	}
	md, err := schemas.MessageAt(fd, []int{0})
	if err != nil || md.FullName() != "ev.Payment" {
		t.Fatalf("message [0] is %v (%v), want ev.Payment", md, err)
	}
	amount := md.Fields().ByName("amount")
	if amount == nil || amount.Message().FullName() != "common.Money" || amount.Message().Fields().ByName("cur").Enum().FullName() != "common.Currency" {
		t.Fatalf("field amount is %v, want common.Money with a common.Currency", amount)
	}

	// An event of that schema reads back through the descriptors.
	m := dynamicpb.NewMessage(md)
	m.Set(md.Fields().ByName("id"), protoreflect.ValueOfString("e1"))
	money := m.Mutable(amount).Message()
	money.Set(amount.Message().Fields().ByName("units"), protoreflect.ValueOfInt64(12))
	money.Set(amount.Message().Fields().ByName("cur"), protoreflect.ValueOfEnum(1))
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	js, err := schemas.ProtoToJSON(ws.Descriptors, append(schemas.AppendMessageIndexes(nil, []int{0}), b...))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	json.Unmarshal(js, &got)
	if a, _ := got["amount"].(map[string]any); got["id"] != "e1" || a["units"] != "12" || a["cur"] != "USD" {
		t.Fatalf("read back %s", js)
	}

	if _, err := c.Schema(ctx, 11); !errors.Is(err, schemas.ErrUnknownSchema) {
		t.Fatalf("schema 11 references a subject the registry lacks: got %v, want ErrUnknownSchema", err)
	}
}
