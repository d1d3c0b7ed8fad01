package model

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RefusedError is returned when a version is refused: it failed to load or
// validate, or cannot join the lineup. The active lineup is unchanged.
type RefusedError struct {
	Name, Version string
	Role          Role
	Err           error
}

// Error names the version, the role and why it was refused.
func (e *RefusedError) Error() string {
	return fmt.Sprintf("refusing %s version %s as %s (the active lineup keeps scoring): %v", e.Name, e.Version, e.Role, e.Err)
}

// Unwrap returns the cause, so errors.Is(err, ErrChecksum) works.
func (e *RefusedError) Unwrap() error { return e.Err }

// DeployerConfig configures a Deployer.
type DeployerConfig struct {
	// Registry and Name say where versions of the served model live.
	Registry Registry
	Name     string
	// Load opens and validates every candidate version.
	Load LoadOptions
}

// Deployer activates registered versions on a Router: it loads a version
// with LoadDir (sha256, binding, smoke batch, golden file), then swaps it
// into the lineup between batches. A version that fails any step is refused
// with a RefusedError and the lineup stays as it was. Activations are
// serialised; all methods are safe for concurrent use.
type Deployer struct {
	cfg    DeployerConfig
	router *Router
	log    *slog.Logger
	m      *deployMetrics

	mu sync.Mutex // serialises activations
	// refused remembers, per version, the manifest's modification time at
	// the last refusal, so Watch does not retry an unchanged bad version.
	refused map[string]time.Time
}

// NewDeployer returns a Deployer for router's lineup. log and reg may be
// nil.
func NewDeployer(cfg DeployerConfig, router *Router, log *slog.Logger, reg prometheus.Registerer) (*Deployer, error) {
	if err := checkName("model name", cfg.Name); err != nil {
		return nil, fmt.Errorf("creating deployer: %w", err)
	}
	if cfg.Registry.Root == "" {
		return nil, errors.New("creating deployer: a registry is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Deployer{cfg: cfg, router: router, log: log.With("component", "model", "model", cfg.Name), m: newDeployMetrics(cfg.Name, reg), refused: map[string]time.Time{}}, nil
}

// Name returns the served model's name.
func (d *Deployer) Name() string { return d.cfg.Name }

// Registry returns the registry versions come from.
func (d *Deployer) Registry() Registry { return d.cfg.Registry }

// Activation says what Activate did.
type Activation struct {
	Role     Role
	Version  string
	Fraction float64
	// Unchanged is true when the version already held the role.
	Unchanged bool
	Report    Report
}

// Activate loads version and makes it the model of role: the champion
// (replacing the old champion; a canary or challenger of the same version
// is dropped, as it would be scoring against itself), the canary at
// fraction (0 < fraction ≤ 1), or the challenger. It blocks while the
// version loads and warms up (the old lineup keeps scoring meanwhile) and
// until the swap is done. A failure is a *RefusedError.
func (d *Deployer) Activate(ctx context.Context, role Role, version string, fraction float64) (Activation, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	act := Activation{Role: role, Version: version, Fraction: fraction}
	refuse := func(err error) (Activation, error) {
		d.m.activations.WithLabelValues(d.cfg.Name, string(role), "refused").Inc()
		d.log.Warn("version refused; the active lineup keeps scoring", "version", version, "role", role, "err", err)
		return act, &RefusedError{Name: d.cfg.Name, Version: version, Role: role, Err: err}
	}
	if err := checkName("version", version); err != nil {
		return refuse(err)
	}
	switch role {
	case RoleChampion, RoleChallenger:
	case RoleCanary:
		if fraction <= 0 || fraction > 1 {
			return refuse(fmt.Errorf("canary fraction %v: set a fraction of keys in (0, 1], such as 0.05", fraction))
		}
	default:
		return refuse(fmt.Errorf("role %q: use champion, canary or challenger", role))
	}

	cur := d.router.Lineup()
	if held := roleModel(cur, role); held != nil && held.Version() == version && (role != RoleCanary || cur.CanaryFraction == fraction) {
		act.Unchanged = true
		return act, nil
	}
	// A canary that only changes its fraction keeps its model.
	if role == RoleCanary && cur.Canary != nil && cur.Canary.Version() == version {
		next := cur
		next.CanaryFraction = fraction
		if err := d.router.Swap(ctx, next); err != nil {
			return refuse(err)
		}
		d.m.activations.WithLabelValues(d.cfg.Name, string(role), "ok").Inc()
		d.log.Info("canary fraction changed", "version", version, "fraction", fraction)
		return act, nil
	}

	dir := d.cfg.Registry.Dir(d.cfg.Name, version)
	m, rep, err := LoadDir(ctx, dir, d.cfg.Load)
	act.Report = rep
	if err != nil {
		return refuse(err)
	}
	next := cur
	switch role {
	case RoleChampion:
		next.Champion = m
		if next.Canary != nil && next.Canary.Version() == version {
			next.Canary, next.CanaryFraction = nil, 0
		}
		if next.Challenger != nil && next.Challenger.Version() == version {
			next.Challenger = nil
		}
	case RoleCanary:
		next.Canary, next.CanaryFraction = m, fraction
	case RoleChallenger:
		next.Challenger = m
	}
	if err := d.router.Swap(ctx, next); err != nil {
		m.Close()
		return refuse(err)
	}
	d.m.activations.WithLabelValues(d.cfg.Name, string(role), "ok").Inc()
	d.log.Info("version activated", "version", version, "role", role, "fraction", fraction,
		"sha256", rep.Manifest.SHA256, "open", rep.Open, "warmup", rep.Warmup, "golden_rows", rep.GoldenRows)
	return act, nil
}

// Deactivate removes the canary or the challenger from the lineup.
func (d *Deployer) Deactivate(ctx context.Context, role Role) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	next := d.router.Lineup()
	switch role {
	case RoleCanary:
		if next.Canary == nil {
			return nil
		}
		next.Canary, next.CanaryFraction = nil, 0
	case RoleChallenger:
		if next.Challenger == nil {
			return nil
		}
		next.Challenger = nil
	default:
		return fmt.Errorf("deactivating %q: only a canary or a challenger can be removed; activate another champion instead", role)
	}
	if err := d.router.Swap(ctx, next); err != nil {
		return fmt.Errorf("deactivating the %s: %w", role, err)
	}
	d.log.Info("removed from the lineup", "role", role)
	return nil
}

func roleModel(l Lineup, role Role) *Model {
	switch role {
	case RoleChampion:
		return l.Champion
	case RoleCanary:
		return l.Canary
	case RoleChallenger:
		return l.Challenger
	}
	return nil
}

// Watch polls the registry every interval and activates, as champion, the
// version Registry.Active names whenever it differs from the champion's. A
// refused version is not tried again until its manifest changes. Watch
// blocks until ctx is done and returns nil.
func (d *Deployer) Watch(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		d.poll(ctx)
	}
}

func (d *Deployer) poll(ctx context.Context) {
	v, err := d.cfg.Registry.Active(d.cfg.Name)
	if err != nil {
		d.log.Warn("watching the registry", "err", err)
		return
	}
	if d.router.Lineup().Champion.Version() == v {
		return
	}
	st, err := os.Stat(filepath.Join(d.cfg.Registry.Dir(d.cfg.Name, v), ManifestFile))
	if err != nil {
		d.log.Warn("watching the registry: the active version has no manifest", "version", v, "err", err)
		return
	}
	d.mu.Lock()
	at, seen := d.refused[v]
	d.mu.Unlock()
	if seen && at.Equal(st.ModTime()) {
		return
	}
	if _, err := d.Activate(ctx, RoleChampion, v, 0); err != nil {
		d.mu.Lock()
		d.refused[v] = st.ModTime()
		d.mu.Unlock()
	}
}

type deployMetrics struct {
	activations *prometheus.CounterVec
}

func newDeployMetrics(name string, reg prometheus.Registerer) *deployMetrics {
	m := &deployMetrics{
		activations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamscore_model_activations_total",
			Help: "Activation attempts, by model, role and result (ok, refused).",
		}, []string{"model", "role", "result"}),
	}
	// Every series exists from the start, so dashboards and alerts see
	// zeros rather than nothing.
	for _, role := range []Role{RoleChampion, RoleCanary, RoleChallenger} {
		for _, result := range []string{"ok", "refused"} {
			m.activations.WithLabelValues(name, string(role), result)
		}
	}
	if reg != nil {
		reg.MustRegister(m.activations)
	}
	return m
}
