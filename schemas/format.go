package schemas

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Format is how event values are encoded on the input topic.
type Format string

// Event formats. Avro and Protobuf values are framed in the Confluent wire
// format (see wire.go): magic byte 0, the writer schema's 4-byte id, and for
// Protobuf the message-index list, then the encoded event.
const (
	FormatJSON     Format = "json"
	FormatAvro     Format = "avro"
	FormatProtobuf Format = "protobuf"
)

// Binary reports whether f is framed in the Confluent wire format.
func (f Format) Binary() bool { return f == FormatAvro || f == FormatProtobuf }

// Registry policies for a registry that cannot be reached.
const (
	// UnreachableWait retries the lookup, holding the batch (and so the
	// fetching behind it) for up to Registry.MaxWait, then dead-letters the
	// events of that schema id as unknown_schema, asking again a second
	// later.
	UnreachableWait = "wait"
	// UnreachableDeadLetter dead-letters the events without waiting.
	UnreachableDeadLetter = "dead_letter"
)

// RegistrySpec says where the writer schemas of binary events come from: a
// Confluent-compatible schema registry (URL), local files keyed by schema
// id (Files, Dir), or both, the files taking precedence.
type RegistrySpec struct {
	// URL is the registry's base URL, e.g. http://127.0.0.1:8081 (for
	// Apicurio Registry, its .../apis/ccompat/v7 path).
	URL string `yaml:"url"`
	// Username and PasswordEnv give HTTP basic auth; the password is read
	// from the named environment variable, never from the file.
	Username    string `yaml:"username"`
	PasswordEnv string `yaml:"password_env"`
	// CAFile, if set, is a PEM bundle of the CAs that sign the registry's
	// TLS certificate; CertFile and KeyFile give a client certificate.
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Timeout bounds one request; the zero value means 5s.
	Timeout time.Duration `yaml:"timeout"`
	// Unreachable is the policy when the registry cannot be reached:
	// wait (the default) or dead_letter.
	Unreachable string `yaml:"unreachable"`
	// MaxWait bounds how long the wait policy holds a batch; the zero value
	// means 30s.
	MaxWait time.Duration `yaml:"max_wait"`
	// Files maps schema ids to local schema files: an Avro schema (.avsc,
	// JSON) or a Protobuf FileDescriptorSet (protoc --include_imports
	// --descriptor_set_out; the last file in the set is the schema's).
	// Relative paths are relative to the schema spec's folder.
	Files map[int]string `yaml:"files"`
	// Dir, if set, holds schema files named <id>.avsc or <id>.desc.
	Dir string `yaml:"dir"`
}

// Default registry settings.
const (
	DefaultRegistryTimeout = 5 * time.Second
	DefaultRegistryMaxWait = 30 * time.Second
)

// applyFormatDefaults fills the format's zero values and makes local
// schema paths absolute against base, the spec file's folder.
func (s *Spec) applyFormatDefaults(base string) {
	if s.Format == "" {
		s.Format = FormatJSON
	}
	r := &s.Registry
	if r.Timeout == 0 {
		r.Timeout = DefaultRegistryTimeout
	}
	if r.MaxWait == 0 {
		r.MaxWait = DefaultRegistryMaxWait
	}
	if r.Unreachable == "" {
		r.Unreachable = UnreachableWait
	}
	if base == "" {
		return
	}
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	for id, p := range r.Files {
		r.Files[id] = abs(p)
	}
	r.Dir = abs(r.Dir)
	for _, p := range []*string{&r.CAFile, &r.CertFile, &r.KeyFile} {
		*p = abs(*p)
	}
}

// validateFormat reports what is wrong with format, registry and protobuf.
func (s *Spec) validateFormat() []error {
	var errs []error
	switch s.Format {
	case FormatJSON, FormatAvro, FormatProtobuf, "":
	default:
		return []error{fmt.Errorf("format: %q is not one of json, avro, protobuf", s.Format)}
	}
	r := s.Registry
	if !s.Format.Binary() {
		if r.URL != "" || len(r.Files) > 0 || r.Dir != "" {
			errs = append(errs, errors.New("registry: only avro and protobuf events use a registry; set format: avro or format: protobuf, or remove registry"))
		}
		return errs
	}
	if r.URL == "" && len(r.Files) == 0 && r.Dir == "" {
		errs = append(errs, fmt.Errorf("registry: format %s needs writer schemas: set registry.url, registry.files (id: file) or registry.dir", s.Format))
	}
	if r.URL != "" && !strings.HasPrefix(r.URL, "http://") && !strings.HasPrefix(r.URL, "https://") {
		errs = append(errs, fmt.Errorf("registry.url: %q must start with http:// or https://", r.URL))
	}
	if r.PasswordEnv != "" && r.Username == "" {
		errs = append(errs, errors.New("registry.password_env: set registry.username too"))
	}
	if (r.CertFile == "") != (r.KeyFile == "") {
		errs = append(errs, errors.New("registry.cert_file and registry.key_file: set both or neither"))
	}
	switch r.Unreachable {
	case UnreachableWait, UnreachableDeadLetter, "":
	default:
		errs = append(errs, fmt.Errorf("registry.unreachable: %q is not wait or dead_letter", r.Unreachable))
	}
	if r.Timeout < 0 || r.MaxWait < 0 {
		errs = append(errs, errors.New("registry.timeout and registry.max_wait: must not be negative"))
	}
	for id := range r.Files {
		if id < 0 {
			errs = append(errs, fmt.Errorf("registry.files: schema id %d must not be negative", id))
		}
	}
	return errs
}

// AsJSON returns a copy of s that reads JSON events: what replay uses for
// files, which hold JSON rows whatever the topic's format.
func (s *Spec) AsJSON() *Spec {
	cp := *s
	cp.Format = FormatJSON
	return &cp
}
