package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/streamscore/streamscore/pipeline/model"
)

// ModelConfig says which model scores and how ONNX Runtime runs it.
//
// Path is a plain .onnx file, or a registry location: models/<name> (serve
// the version models/<name>/active names, else the newest), or
// models/<name>/<version> (that version). A registry version is loaded only
// if its file matches the manifest's sha256, and its manifest, not Name and
// Version, names it.
type ModelConfig struct {
	// Config holds the keys of the model and its ONNX Runtime sessions
	// (path, name, version, sessions, intra_op_threads, inter_op_threads,
	// spinning, graph_optimization, execution_provider, cuda_device), as
	// package model defines and validates them.
	model.Config `yaml:",inline"`
	// LineupConfig holds the line-up keys (warmup_rows, watch, canary,
	// challenger), as package model defines and validates them.
	model.LineupConfig `yaml:",inline"`
	// Admin turns on the /admin/models endpoints.
	Admin AdminConfig `yaml:"admin"`
	// Serve turns on POST /v1/score on the http.addr endpoint.
	Serve ServeConfig `yaml:"serve"`
}

// AdminConfig guards the admin endpoints. They are off unless Enabled, and
// then every call needs "Authorization: Bearer <token>".
type AdminConfig struct {
	Enabled bool `yaml:"enabled"`
	// TokenFile holds the token; empty means the environment variable
	// TokenEnv (default STREAMSCORE_ADMIN_TOKEN).
	TokenFile string `yaml:"token_file"`
	TokenEnv  string `yaml:"token_env"`
}

// ServeConfig is the HTTP scoring endpoint (package pipeline/serve). Zero
// values take the package defaults.
type ServeConfig struct {
	Enabled      bool          `yaml:"enabled"`
	MaxRows      int           `yaml:"max_rows"`
	MaxWait      time.Duration `yaml:"max_wait"`
	MaxBodyBytes int64         `yaml:"max_body_bytes"`
	MaxEvents    int           `yaml:"max_events"`
	Workers      int           `yaml:"workers"`
}

// defaultAdminTokenEnv holds the admin token when no file is configured.
const defaultAdminTokenEnv = "STREAMSCORE_ADMIN_TOKEN"

// minAdminToken is the shortest admin token accepted.
const minAdminToken = 16

// Validate reports every invalid model key but a missing path (which
// only commands that score need), naming the key and the fix: the session
// keys as model.Config.Validate reports them, then the line-up's.
func (c *ModelConfig) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	session := c.Config
	if session.Path == "" {
		session.Path = "-" // reported by Config.Validate, with the flag
	}
	if err := session.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.LineupConfig.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Admin.Enabled {
		if _, err := c.Admin.Token(); err != nil {
			errs = append(errs, err)
		}
	}
	s := c.Serve
	if s.MaxRows < 0 || s.MaxWait < 0 || s.MaxBodyBytes < 0 || s.MaxEvents < 0 || s.Workers < 0 {
		add("model.serve: max_rows, max_wait, max_body_bytes, max_events and workers must not be negative (0 takes the default)")
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration:\n%w", errors.Join(errs...))
	}
	return nil
}

// token reads the admin bearer token.
func (a AdminConfig) Token() ([]byte, error) {
	var tok string
	if a.TokenFile != "" {
		b, err := os.ReadFile(a.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("model.admin.token_file: %w", err)
		}
		tok = strings.TrimSpace(string(b))
	} else {
		env := a.TokenEnv
		if env == "" {
			env = defaultAdminTokenEnv
		}
		tok = strings.TrimSpace(os.Getenv(env))
		if tok == "" {
			return nil, fmt.Errorf("model.admin: enabled but no token: set $%s or model.admin.token_file (e.g. openssl rand -hex 32)", env)
		}
	}
	if len(tok) < minAdminToken {
		return nil, fmt.Errorf("model.admin: the token has %d characters; use at least %d (e.g. openssl rand -hex 32)", len(tok), minAdminToken)
	}
	return []byte(tok), nil
}
