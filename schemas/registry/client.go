package registry

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/streamscore/streamscore/schemas"
)

// maxResponseBytes bounds one registry answer.
const maxResponseBytes = 8 << 20

// Client asks a Confluent-compatible schema registry for schemas. Schemas
// by id never change, so each is fetched once and kept. It is safe for
// concurrent use.
type Client struct {
	base     *url.URL
	user     string
	password string
	http     *http.Client

	mu    sync.Mutex
	cache map[int]schemas.WriterSchema
}

// New returns a client for the registry cfg names: cfg.URL, basic auth
// from cfg.Username and the environment variable cfg.PasswordEnv, TLS from
// cfg.CAFile (and cfg.CertFile/cfg.KeyFile for a client certificate), each
// request bounded by cfg.Timeout. It fails, naming the key to fix, when a
// setting cannot be used.
func New(cfg schemas.RegistrySpec) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(cfg.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("registry.url: %q is not an http:// or https:// URL", cfg.URL)
	}
	c := &Client{base: u, user: cfg.Username, cache: map[int]schemas.WriterSchema{}}
	if cfg.PasswordEnv != "" {
		p, ok := os.LookupEnv(cfg.PasswordEnv)
		if !ok {
			return nil, fmt.Errorf("registry.password_env: the environment variable %s is not set", cfg.PasswordEnv)
		}
		c.password = p
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.CAFile != "" || cfg.CertFile != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("registry.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("registry.ca_file: %s holds no PEM certificate", cfg.CAFile)
			}
			tc.RootCAs = pool
		}
		if cfg.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("registry.cert_file/key_file: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		tr.TLSClientConfig = tc
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = schemas.DefaultRegistryTimeout
	}
	c.http = &http.Client{Transport: tr, Timeout: timeout}
	return c, nil
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// apiError is a registry's error body.
type apiError struct {
	Code    int    `json:"error_code"`
	Message string `json:"message"`
}

// StatusError is a registry answer other than success.
type StatusError struct {
	Status  int
	Code    int
	Message string
}

// Error names the HTTP status and the registry's message.
func (e *StatusError) Error() string {
	return fmt.Sprintf("registry answered %d (error %d): %s", e.Status, e.Code, e.Message)
}

// do sends one request and decodes a JSON answer into out. A 404 wraps
// schemas.ErrUnknownSchema; a network error, a timeout, 401, 403, 429 or
// 5xx wraps schemas.ErrUnreachable.
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.schemaregistry.v1+json, application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// A refused connection, a timeout, a TLS failure: the registry
		// could not be asked.
		return fmt.Errorf("%s %s: %w: %v", method, path, schemas.ErrUnreachable, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w: %v", method, path, schemas.ErrUnreachable, err)
	}
	if resp.StatusCode/100 != 2 {
		se := &StatusError{Status: resp.StatusCode}
		var ae apiError
		if json.Unmarshal(b, &ae) == nil {
			se.Code, se.Message = ae.Code, ae.Message
		} else {
			se.Message = strings.TrimSpace(string(b[:min(len(b), 200)]))
		}
		switch {
		case resp.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%s %s: %w (%v)", method, path, schemas.ErrUnknownSchema, se)
		case resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests,
			resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
			return fmt.Errorf("%s %s: %w (%w)", method, path, schemas.ErrUnreachable, se)
		}
		return fmt.Errorf("%s %s: %w", method, path, se)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}

// schemaResponse is GET /schemas/ids/{id} and a subject version's answer.
type schemaResponse struct {
	Subject    string      `json:"subject"`
	Version    int         `json:"version"`
	ID         int         `json:"id"`
	Schema     string      `json:"schema"`
	SchemaType string      `json:"schemaType"`
	References []Reference `json:"references"`
}

// Reference is a schema's reference to another registered schema.
type Reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// writer returns the answer as a writer schema, a Protobuf one compiled
// into descriptors with the registered schemas it references (fetched
// through c). A .proto that does not compile, or whose references the
// registry does not hold, wraps schemas.ErrUnknownSchema: its events cannot
// be read.
func (c *Client) writer(ctx context.Context, r *schemaResponse, id int) (schemas.WriterSchema, error) {
	ws := schemas.WriterSchema{ID: id, Type: schemaType(r.SchemaType, r.Schema), Text: r.Schema}
	if ws.Type == schemas.SchemaTypeProtobuf {
		imports := map[string]string{}
		if err := c.references(ctx, r.References, imports, 0); err != nil {
			return ws, fmt.Errorf("schema %d: %w", id, err)
		}
		d, err := compileProto(ctx, r.Schema, imports)
		if err != nil {
			return ws, fmt.Errorf("schema %d: %w: %v", id, schemas.ErrUnknownSchema, err)
		}
		ws.Descriptors = d
	}
	return ws, nil
}

// Bounds on a schema's references, which a registry could make cyclic or
// endless.
const (
	maxReferenceDepth = 16
	maxReferences     = 256
)

// references fetches the schemas refs name (GET
// /subjects/{subject}/versions/{version}), and theirs, into imports, keyed
// by the import name each reference gives. A reference the registry does
// not hold wraps schemas.ErrUnknownSchema; one it could not be asked for,
// schemas.ErrUnreachable.
func (c *Client) references(ctx context.Context, refs []Reference, imports map[string]string, depth int) error {
	if depth > maxReferenceDepth || len(imports)+len(refs) > maxReferences {
		return fmt.Errorf("%w: references nest deeper than %d levels or number over %d", schemas.ErrUnknownSchema, maxReferenceDepth, maxReferences)
	}
	for _, ref := range refs {
		if _, ok := imports[ref.Name]; ok {
			continue
		}
		version := "latest"
		if ref.Version > 0 {
			version = strconv.Itoa(ref.Version)
		}
		var r schemaResponse
		if err := c.do(ctx, http.MethodGet, "/subjects/"+url.PathEscape(ref.Subject)+"/versions/"+version, nil, &r); err != nil {
			if errors.Is(err, schemas.ErrUnreachable) {
				return fmt.Errorf("reference %q (subject %s version %s): %w", ref.Name, ref.Subject, version, err)
			}
			return fmt.Errorf("reference %q (subject %s version %s): %w: %v", ref.Name, ref.Subject, version, schemas.ErrUnknownSchema, err)
		}
		imports[ref.Name] = r.Schema
		if err := c.references(ctx, r.References, imports, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// Schema returns the schema registered under id (GET /schemas/ids/{id}),
// from the cache after the first time. An id the registry does not know
// wraps schemas.ErrUnknownSchema; one it could not be asked for wraps
// schemas.ErrUnreachable.
func (c *Client) Schema(ctx context.Context, id int) (schemas.WriterSchema, error) {
	c.mu.Lock()
	ws, ok := c.cache[id]
	c.mu.Unlock()
	if ok {
		return ws, nil
	}
	var r schemaResponse
	if err := c.do(ctx, http.MethodGet, "/schemas/ids/"+strconv.Itoa(id), nil, &r); err != nil {
		return schemas.WriterSchema{}, fmt.Errorf("schema %d: %w", id, err)
	}
	ws, err := c.writer(ctx, &r, id)
	if err != nil {
		return ws, err
	}
	c.mu.Lock()
	c.cache[id] = ws
	c.mu.Unlock()
	return ws, nil
}

// Subjects lists the registry's subjects (GET /subjects).
func (c *Client) Subjects(ctx context.Context) ([]string, error) {
	var out []string
	err := c.do(ctx, http.MethodGet, "/subjects", nil, &out)
	return out, err
}

// Versions lists a subject's versions (GET /subjects/{subject}/versions).
func (c *Client) Versions(ctx context.Context, subject string) ([]int, error) {
	var out []int
	err := c.do(ctx, http.MethodGet, "/subjects/"+url.PathEscape(subject)+"/versions", nil, &out)
	return out, err
}

// SubjectVersion is one version of a subject.
type SubjectVersion struct {
	Subject string
	Version int
	Schema  schemas.WriterSchema
}

// Version returns one version of a subject, "latest" or a number (GET
// /subjects/{subject}/versions/{version}), and caches its schema by id.
func (c *Client) Version(ctx context.Context, subject, version string) (SubjectVersion, error) {
	var r schemaResponse
	if err := c.do(ctx, http.MethodGet, "/subjects/"+url.PathEscape(subject)+"/versions/"+url.PathEscape(version), nil, &r); err != nil {
		return SubjectVersion{}, err
	}
	ws, err := c.writer(ctx, &r, r.ID)
	if err != nil {
		return SubjectVersion{}, err
	}
	c.mu.Lock()
	c.cache[r.ID] = ws
	c.mu.Unlock()
	return SubjectVersion{Subject: r.Subject, Version: r.Version, Schema: ws}, nil
}

// Register registers a schema of type typ (schemas.SchemaTypeAvro or
// SchemaTypeProtobuf) under subject (POST /subjects/{subject}/versions)
// and returns its id; registering the same schema again returns the same id.
func (c *Client) Register(ctx context.Context, subject, typ, schema string) (int, error) {
	body := map[string]any{"schema": schema}
	if typ != "" && typ != schemas.SchemaTypeAvro {
		body["schemaType"] = typ
	}
	var r struct {
		ID int `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, "/subjects/"+url.PathEscape(subject)+"/versions", body, &r); err != nil {
		return 0, err
	}
	return r.ID, nil
}

// Chain asks each source in turn: the first that knows the id answers. An
// unreachable source is passed over for the next; if none knows the id and
// one was unreachable, the result wraps schemas.ErrUnreachable.
type Chain []schemas.SchemaSource

// Schema returns the first answer for id.
func (ch Chain) Schema(ctx context.Context, id int) (schemas.WriterSchema, error) {
	var msgs []string
	unreachable := false
	for _, s := range ch {
		ws, err := s.Schema(ctx, id)
		if err == nil {
			return ws, nil
		}
		if !errors.Is(err, schemas.ErrUnknownSchema) {
			// Not known to be unknown: asking again may find it.
			unreachable = true
		}
		msgs = append(msgs, err.Error())
	}
	if unreachable {
		return schemas.WriterSchema{}, fmt.Errorf("schema %d: %w: %s", id, schemas.ErrUnreachable, strings.Join(msgs, "; "))
	}
	return schemas.WriterSchema{}, fmt.Errorf("schema %d: %w: %s", id, schemas.ErrUnknownSchema, strings.Join(msgs, "; "))
}

// Attach gives spec its writer schemas when its format is binary: its local
// files (registry.files, registry.dir) first, then the registry at
// registry.url. It returns a function that releases the client, and fails
// naming the key to fix when the registry settings cannot be used.
func Attach(spec *schemas.Spec) (func(), error) {
	if !spec.Format.Binary() || spec.Registry.URL == "" {
		return func() {}, nil
	}
	c, err := New(spec.Registry)
	if err != nil {
		return nil, err
	}
	var ch Chain
	if len(spec.Registry.Files) > 0 || spec.Registry.Dir != "" {
		ch = append(ch, &schemas.FileSource{Files: spec.Registry.Files, Dir: spec.Registry.Dir})
	}
	spec.SetSchemaSource(append(ch, c))
	return c.Close, nil
}
