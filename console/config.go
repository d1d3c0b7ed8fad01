package console

import (
	"errors"
	"fmt"
	"time"
)

// Config configures the console. The zero value is not useful; start from
// Default.
type Config struct {
	// Enabled serves the page at / and the JSON at /api/status on the ops
	// address (http.addr). Default true.
	Enabled bool `yaml:"enabled"`
	// Refresh is how often the page polls /api/status and how often the
	// console samples the metrics for rates and sparklines. Default 2s.
	Refresh time.Duration `yaml:"refresh"`
	// History is how many samples the sparklines and rates keep. Default 90.
	History int `yaml:"history"`
	// RequireToken makes / and /api/status ask for the admin bearer token
	// (model.admin's token), as an "Authorization: Bearer" header or the
	// streamscore_token cookie the page sets. Default false: the console is
	// read-only and shows what /metrics shows, on the same address.
	RequireToken bool `yaml:"require_token"`
}

// Default returns the default configuration.
func Default() Config {
	return Config{Enabled: true, Refresh: 2 * time.Second, History: 90}
}

// Validate reports a setting that cannot work, naming its key (relative to
// the console section: config.InSection prefixes it) and the fix.
func (c *Config) Validate() error {
	var errs []error
	if c.Refresh < 100*time.Millisecond || c.Refresh > time.Minute {
		errs = append(errs, fmt.Errorf("refresh: %s is outside 100ms..1m; use e.g. 2s", c.Refresh))
	}
	if c.History < 2 || c.History > 10000 {
		errs = append(errs, fmt.Errorf("history: %d is outside 2..10000 samples; use e.g. 90", c.History))
	}
	return errors.Join(errs...)
}
