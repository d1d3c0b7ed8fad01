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
	// WarmupRows is the smoke batch a registry version scores on every
	// session before it serves; 0 means 64.
	WarmupRows int `yaml:"warmup_rows"`
	// Watch, if set, polls the registry this often and activates the
	// version models/<name>/active names (or the newest) as champion.
	Watch time.Duration `yaml:"watch"`
	// Canary sends a stable fraction of keys to another version.
	Canary CanaryConfig `yaml:"canary"`
	// Challenger scores every batch with a second model in the shadow.
	Challenger ChallengerConfig `yaml:"challenger"`
	// Admin turns on the /admin/models endpoints.
	Admin AdminConfig `yaml:"admin"`
	// Serve turns on POST /v1/score on the http.addr endpoint.
	Serve ServeConfig `yaml:"serve"`
}

// CanaryConfig names the canary: a version of the same registry model, or
// a path (file or registry version folder). Empty means no canary.
type CanaryConfig struct {
	Version string `yaml:"version"`
	Path    string `yaml:"path"`
	// Fraction of keys (0 < f ≤ 1) the canary scores, chosen by a stable
	// hash of the key (FNV-1a 64, modulo 10000).
	Fraction float64 `yaml:"fraction"`
}

// ChallengerConfig names the challenger, as CanaryConfig does.
type ChallengerConfig struct {
	Version string `yaml:"version"`
	Path    string `yaml:"path"`
	// ShadowTopic, if set, also receives one scored event per event as
	// the challenger scored it (best effort: dropped, and counted, when the
	// topic cannot keep up).
	ShadowTopic string `yaml:"shadow_topic"`
	// Tolerance is the relative difference under which a single-value
	// output agrees when the champion's manifest sets no threshold; 0
	// means 1e-6.
	Tolerance float64 `yaml:"tolerance"`
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
	if c.WarmupRows < 0 {
		add("model.warmup_rows: must be 0 (64) or more")
	}
	if c.Watch < 0 {
		add("model.watch: must be a positive duration such as 10s, or 0 for no watch")
	}
	if c.Canary.Version != "" && c.Canary.Path != "" {
		add("model.canary: set version or path, not both")
	}
	if (c.Canary.Version != "" || c.Canary.Path != "") && (c.Canary.Fraction <= 0 || c.Canary.Fraction > 1) {
		add("model.canary.fraction: %v must be in (0, 1], such as 0.05", c.Canary.Fraction)
	}
	if c.Canary.Version == "" && c.Canary.Path == "" && c.Canary.Fraction != 0 {
		add("model.canary.fraction: set model.canary.version (or path) too")
	}
	if c.Challenger.Version != "" && c.Challenger.Path != "" {
		add("model.challenger: set version or path, not both")
	}
	if c.Challenger.Version == "" && c.Challenger.Path == "" && c.Challenger.ShadowTopic != "" {
		add("model.challenger.shadow_topic: set model.challenger.version (or path) too")
	}
	if c.Challenger.Tolerance < 0 {
		add("model.challenger.tolerance: must not be negative")
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
