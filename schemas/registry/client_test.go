package registry_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/streamscore/streamscore/schemas"
	"github.com/streamscore/streamscore/schemas/registry"
)

const avroText = `{"type":"record","name":"E","fields":[{"name":"id","type":"string"}]}`

// fakeRegistry speaks the Confluent REST contract for a few schemas.
type fakeRegistry struct {
	mu       sync.Mutex
	schemas  map[int]map[string]any
	subjects map[string][]int // subject -> ids by version
	hits     atomic.Int32
	user     string
	password string
}

func newFake() *fakeRegistry {
	return &fakeRegistry{
		schemas: map[int]map[string]any{
			1: {"schema": avroText},
			2: {"schema": "syntax = \"proto3\"; message M { string id = 1; }", "schemaType": "PROTOBUF"},
			4: {"schema": "syntax = \"proto3\"; message { broken", "schemaType": "PROTOBUF"},
			// Apicurio 2.0's ccompat API leaves schemaType out for Protobuf too.
			5: {"schema": "syntax = \"proto3\";\nimport \"google/protobuf/timestamp.proto\";\nmessage N { google.protobuf.Timestamp ts = 1; }"},
		},
		subjects: map[string][]int{"events-value": {1}},
	}
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	if f.user != "" {
		if u, p, ok := r.BasicAuth(); !ok || u != f.user || p != f.password {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]any{"error_code": 40101, "message": "Unauthorized"})
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	notFound := func(code int) {
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]any{"error_code": code, "message": "not found"})
	}
	switch {
	case len(parts) == 3 && parts[0] == "schemas" && parts[1] == "ids":
		if parts[2] == "500" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var id int
		json.Unmarshal([]byte(parts[2]), &id)
		s, ok := f.schemas[id]
		if !ok {
			notFound(40403)
			return
		}
		json.NewEncoder(w).Encode(s)
	case len(parts) == 1 && parts[0] == "subjects":
		var out []string
		for s := range f.subjects {
			out = append(out, s)
		}
		json.NewEncoder(w).Encode(out)
	case len(parts) == 3 && parts[0] == "subjects" && parts[2] == "versions" && r.Method == http.MethodPost:
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		for id, s := range f.schemas {
			if s["schema"] == body["schema"] {
				json.NewEncoder(w).Encode(map[string]int{"id": id})
				return
			}
		}
		id := 0
		for k := range f.schemas {
			id = max(id, k)
		}
		id++
		f.schemas[id] = body
		f.subjects[parts[1]] = append(f.subjects[parts[1]], id)
		json.NewEncoder(w).Encode(map[string]int{"id": id})
	case len(parts) == 3 && parts[0] == "subjects" && parts[2] == "versions":
		ids, ok := f.subjects[parts[1]]
		if !ok {
			notFound(40401)
			return
		}
		var vs []int
		for i := range ids {
			vs = append(vs, i+1)
		}
		json.NewEncoder(w).Encode(vs)
	case len(parts) == 4 && parts[0] == "subjects" && parts[2] == "versions":
		ids, ok := f.subjects[parts[1]]
		if !ok {
			notFound(40401)
			return
		}
		v := len(ids)
		if parts[3] != "latest" {
			json.Unmarshal([]byte(parts[3]), &v)
		}
		if v < 1 || v > len(ids) {
			notFound(40402)
			return
		}
		s := f.schemas[ids[v-1]]
		json.NewEncoder(w).Encode(map[string]any{"subject": parts[1], "version": v, "id": ids[v-1], "schema": s["schema"], "schemaType": s["schemaType"]})
	default:
		notFound(404)
	}
}

func TestClient(t *testing.T) {
	f := newFake()
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := registry.New(schemas.RegistrySpec{URL: srv.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	ws, err := c.Schema(ctx, 1)
	if err != nil || ws.Type != schemas.SchemaTypeAvro || ws.Text != avroText || ws.ID != 1 {
		t.Fatalf("Schema(1) = %+v, %v", ws, err)
	}
	before := f.hits.Load()
	if _, err := c.Schema(ctx, 1); err != nil || f.hits.Load() != before {
		t.Fatalf("the second lookup of id 1 asked the registry again (%v)", err)
	}
	for id, msg := range map[int]string{2: "M", 5: "N"} {
		ws, err := c.Schema(ctx, id)
		if err != nil || ws.Type != schemas.SchemaTypeProtobuf {
			t.Fatalf("Schema(%d) = %+v, %v", id, ws, err)
		}
		fd, err := schemas.FileDescriptorSet(ws.Descriptors)
		if err != nil || fd.Messages().Len() != 1 || string(fd.Messages().Get(0).Name()) != msg {
			t.Fatalf("Schema(%d): the .proto compiled to %v, %v", id, fd, err)
		}
	}
	if _, err := c.Schema(ctx, 4); !errors.Is(err, schemas.ErrUnknownSchema) || !strings.Contains(err.Error(), "compiling") {
		t.Fatalf("Schema(4), a .proto that does not compile: %v", err)
	}
	if _, err := c.Schema(ctx, 9); !errors.Is(err, schemas.ErrUnknownSchema) || errors.Is(err, schemas.ErrUnreachable) {
		t.Fatalf("Schema(9): %v, want ErrUnknownSchema", err)
	}
	if _, err := c.Schema(ctx, 500); !errors.Is(err, schemas.ErrUnreachable) {
		t.Fatalf("Schema(500): %v, want ErrUnreachable", err)
	}
	subs, err := c.Subjects(ctx)
	if err != nil || len(subs) != 1 || subs[0] != "events-value" {
		t.Fatalf("Subjects = %v, %v", subs, err)
	}
	id, err := c.Register(ctx, "events-value", schemas.SchemaTypeAvro, `{"type":"record","name":"E","fields":[]}`)
	if err != nil || id != 6 {
		t.Fatalf("Register = %d, %v", id, err)
	}
	if again, err := c.Register(ctx, "events-value", schemas.SchemaTypeAvro, `{"type":"record","name":"E","fields":[]}`); err != nil || again != id {
		t.Fatalf("registering again = %d, %v; want %d", again, err, id)
	}
	vs, err := c.Versions(ctx, "events-value")
	if err != nil || len(vs) != 2 {
		t.Fatalf("Versions = %v, %v", vs, err)
	}
	latest, err := c.Version(ctx, "events-value", "latest")
	if err != nil || latest.Version != 2 || latest.Schema.ID != 6 {
		t.Fatalf("latest = %+v, %v", latest, err)
	}
	if _, err := c.Versions(ctx, "nope"); !errors.Is(err, schemas.ErrUnknownSchema) {
		t.Fatalf("Versions(nope): %v", err)
	}
}

func TestClientUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := registry.New(schemas.RegistrySpec{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Schema(context.Background(), 1); !errors.Is(err, schemas.ErrUnreachable) {
		t.Fatalf("got %v, want ErrUnreachable", err)
	}
}

func TestClientAuthAndTLS(t *testing.T) {
	f := newFake()
	f.user, f.password = "svc", "s3cret"
	srv := httptest.NewTLSServer(f)
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_REGISTRY_PASSWORD", "s3cret")
	good := schemas.RegistrySpec{URL: srv.URL, Username: "svc", PasswordEnv: "TEST_REGISTRY_PASSWORD", CAFile: ca}
	c, err := registry.New(good)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Schema(context.Background(), 1); err != nil {
		t.Fatalf("with auth and the CA: %v", err)
	}

	t.Setenv("TEST_REGISTRY_PASSWORD", "wrong")
	bad, _ := registry.New(good)
	var se *registry.StatusError
	if _, err := bad.Schema(context.Background(), 1); !errors.As(err, &se) || se.Status != 401 || !errors.Is(err, schemas.ErrUnreachable) {
		t.Fatalf("wrong password: %v", err)
	}
	noCA, _ := registry.New(schemas.RegistrySpec{URL: srv.URL, Username: "svc", PasswordEnv: "TEST_REGISTRY_PASSWORD"})
	if _, err := noCA.Schema(context.Background(), 1); !errors.Is(err, schemas.ErrUnreachable) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the CA: %v", err)
	}
	for _, tc := range []struct {
		cfg  schemas.RegistrySpec
		want string
	}{
		{schemas.RegistrySpec{URL: "ftp://x"}, "registry.url"},
		{schemas.RegistrySpec{URL: srv.URL, Username: "u", PasswordEnv: "TEST_REGISTRY_UNSET_VAR"}, "registry.password_env"},
		{schemas.RegistrySpec{URL: srv.URL, CAFile: filepath.Join(dir, "none.pem")}, "registry.ca_file"},
	} {
		if _, err := registry.New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error naming %s", tc.cfg, err, tc.want)
		}
	}
}

func TestChainAndAttach(t *testing.T) {
	f := newFake()
	srv := httptest.NewServer(f)
	defer srv.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "7.avsc"), []byte(avroText), 0o600); err != nil {
		t.Fatal(err)
	}
	spec, err := schemas.Parse([]byte(`name: e
id: id
features: [{name: x}]
model: {input: x, outputs: [{name: y}]}
format: avro
registry: {url: ` + srv.URL + `, dir: ` + dir + `}
`))
	if err != nil {
		t.Fatal(err)
	}
	closeFn, err := registry.Attach(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	src := spec.SchemaSource()
	ctx := context.Background()
	before := f.hits.Load()
	if ws, err := src.Schema(ctx, 7); err != nil || ws.Text != avroText || f.hits.Load() != before {
		t.Fatalf("local file 7: %+v, %v (registry asked: %v)", ws, err, f.hits.Load() != before)
	}
	if ws, err := src.Schema(ctx, 1); err != nil || ws.Text != avroText {
		t.Fatalf("registry id 1: %+v, %v", ws, err)
	}
	if _, err := src.Schema(ctx, 8); !errors.Is(err, schemas.ErrUnknownSchema) {
		t.Fatalf("id 8: %v", err)
	}
	down := registry.Chain{&schemas.FileSource{Dir: dir}, unreachable{}}
	if _, err := down.Schema(ctx, 8); !errors.Is(err, schemas.ErrUnreachable) || errors.Is(err, schemas.ErrUnknownSchema) {
		t.Fatalf("unknown locally, registry down: %v; want ErrUnreachable only", err)
	}
}

type unreachable struct{}

func (unreachable) Schema(context.Context, int) (schemas.WriterSchema, error) {
	return schemas.WriterSchema{}, schemas.ErrUnreachable
}
