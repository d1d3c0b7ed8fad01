package model

import (
	"errors"
	"fmt"
	"time"
)

// LineupConfig is the line-up part of the model section of
// streamscore.yaml, beside the session keys of Config: the canary and the
// challenger that OpenLineup opens next to the champion, how registry
// versions are warmed up, and the registry watch. Zero values mean none.
type LineupConfig struct {
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
}

// CanaryConfig names the canary: a version of the same registry model, or
// a path (file or registry version folder). Empty means no canary.
type CanaryConfig struct {
	Version string `yaml:"version"`
	Path    string `yaml:"path"`
	// Fraction of keys (0 < f ≤ 1) the canary scores, chosen by a stable
	// hash of the key (FNV-1a 64, modulo 10000; see InCanary).
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
	// means 1e-6 (RouterOptions.Tolerance).
	Tolerance float64 `yaml:"tolerance"`
}

// Validate reports every invalid line-up key, naming the key and the fix.
func (c LineupConfig) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
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
	return errors.Join(errs...)
}
