package config

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/streamscore/streamscore/schemas"
	"github.com/streamscore/streamscore/schemas/registry"
)

// OutputRegistry is the Confluent-compatible registry that Avro scored
// events' schema is registered in (topics.output_registry): the settings
// of the event schema's registry that apply to one registration.
type OutputRegistry struct {
	// URL is the registry's base URL; empty means the event schema's
	// registry.url.
	URL string `yaml:"url"`
	// Username and PasswordEnv give HTTP basic auth; the password is read
	// from the named environment variable.
	Username    string `yaml:"username"`
	PasswordEnv string `yaml:"password_env"`
	// CAFile, CertFile and KeyFile configure TLS, relative to the config
	// file.
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Timeout bounds the registration request; zero means 5s.
	Timeout time.Duration `yaml:"timeout"`
}

func (r *OutputRegistry) resolve(dir string) {
	for _, p := range []*string{&r.CAFile, &r.CertFile, &r.KeyFile} {
		*p = resolve(dir, *p)
	}
}

// spec returns r as the registry settings of a schema file.
func (r OutputRegistry) spec() schemas.RegistrySpec {
	return schemas.RegistrySpec{URL: r.URL, Username: r.Username, PasswordEnv: r.PasswordEnv,
		CAFile: r.CAFile, CertFile: r.CertFile, KeyFile: r.KeyFile, Timeout: r.Timeout}
}

// outputProblems checks topics.output_format and the keys that go with it.
func (t TopicsConfig) outputProblems() []error {
	var errs []error
	switch t.OutputFormat {
	case "", schemas.OutputJSON, schemas.OutputAvro:
	default:
		return []error{fmt.Errorf("topics.output_format: %q is not json or avro", t.OutputFormat)}
	}
	r := t.OutputRegistry
	if t.OutputFormat != schemas.OutputAvro {
		if t.OutputSchemaID != 0 || r != (OutputRegistry{}) {
			errs = append(errs, errors.New("topics.output_schema_id and topics.output_registry: only Avro scored events use them; set topics.output_format: avro, or remove them"))
		}
		return errs
	}
	if t.OutputSchemaID < 0 {
		errs = append(errs, errors.New("topics.output_schema_id: must not be negative (0 registers the schema in the registry)"))
	}
	if r.URL != "" && !strings.HasPrefix(r.URL, "http://") && !strings.HasPrefix(r.URL, "https://") {
		errs = append(errs, fmt.Errorf("topics.output_registry.url: %q must start with http:// or https://", r.URL))
	}
	if r.URL == "" && r != (OutputRegistry{}) {
		errs = append(errs, errors.New("topics.output_registry: set its url too (or remove it to use the event schema's registry)"))
	}
	if r.PasswordEnv != "" && r.Username == "" {
		errs = append(errs, errors.New("topics.output_registry.password_env: set topics.output_registry.username too"))
	}
	if (r.CertFile == "") != (r.KeyFile == "") {
		errs = append(errs, errors.New("topics.output_registry.cert_file and key_file: set both or neither"))
	}
	if r.Timeout < 0 {
		errs = append(errs, errors.New("topics.output_registry.timeout: must not be negative"))
	}
	return errs
}

// OutputEncoder returns the encoder of the scored events of spec that
// topics.output_format names. For json, the JSON encoder. For avro, an
// encoder of schemas.ScoredAvroSchema(spec) records in the Confluent wire
// format, carrying topics.output_schema_id when it is set; else the schema
// is registered under the subject "<topics.output>-value" in
// topics.output_registry (or the event schema's registry.url) and events
// carry the id the registry gives. It fails, naming the key to fix, when
// neither an id nor a registry is configured or the registry refuses the
// schema. It blocks for at most the registry's timeout.
func (c *Config) OutputEncoder(ctx context.Context, spec *schemas.Spec) (schemas.EventEncoder, error) {
	if c.Topics.OutputFormat != schemas.OutputAvro {
		return schemas.NewEncoder(spec), nil
	}
	text, err := schemas.ScoredAvroSchema(spec)
	if err != nil {
		return nil, fmt.Errorf("topics.output_format: avro: %w", err)
	}
	id := c.Topics.OutputSchemaID
	if id == 0 {
		reg, key := c.Topics.OutputRegistry.spec(), "topics.output_registry"
		if reg.URL == "" {
			reg, key = spec.Registry, "the schema's registry"
		}
		if reg.URL == "" {
			return nil, errors.New("topics.output_format: avro scored events need their schema's id: set topics.output_registry.url (or the event schema's registry.url) to register it, or register it yourself (streamscore topics schema prints it) and set topics.output_schema_id")
		}
		client, err := registry.New(reg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		defer client.Close()
		subject := c.Topics.Output + "-value"
		if id, err = client.Register(ctx, subject, schemas.SchemaTypeAvro, text); err != nil {
			return nil, fmt.Errorf("registering the scored-event schema under %s in %s (%s): %w", subject, key, reg.URL, err)
		}
	}
	return schemas.NewAvroEncoder(spec, id)
}
