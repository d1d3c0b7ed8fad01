package features

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of Config's zero values.
const (
	DefaultCacheSize     = 100_000
	DefaultCacheTTL      = 10 * time.Second
	DefaultNegativeTTL   = time.Second
	DefaultTimeout       = time.Second
	DefaultRetryInterval = time.Second
)

// Policies: what scoring does when Redis cannot be read (Config.Policy).
// They are the engine's pipeline.FailOpen and pipeline.FailClosed.
const (
	PolicyFailOpen   = "fail_open"
	PolicyFailClosed = "fail_closed"
)

// Config configures online feature enrichment: the schema's feature_sets
// read from Redis before each batch is scored. It is the features section
// of streamscore.yaml; the zero value is usable and every zero field takes
// the default named.
type Config struct {
	// Policy is what scoring does when Redis cannot be read: fail_open (the
	// default) scores with the features' defaults and marks the scored
	// events "features_missing"; fail_closed pauses scoring, consumption and
	// commits, retrying with backoff until Redis answers. Neither loses an
	// event. The engine applies it; the Store does not read it.
	Policy string `yaml:"policy"`
	// CacheSize bounds each feature set's in-process cache, in entities.
	// Zero means DefaultCacheSize; -1 disables the cache.
	CacheSize int `yaml:"cache_size"`
	// CacheTTL is how long an entity read from Redis is served from the
	// cache; an entry never outlives the set's max_age either. Zero means
	// DefaultCacheTTL.
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// NegativeTTL is how long an entity found missing (absent, stale, of
	// another version, unreadable) is remembered as missing. Zero means
	// DefaultNegativeTTL; negative (-1s) disables negative caching.
	NegativeTTL time.Duration `yaml:"negative_ttl"`
	// Timeout bounds one batch's Redis round trip, go-redis's own retries
	// included; it takes effect on the socket only when the client has
	// ContextTimeoutEnabled. Zero means DefaultTimeout.
	Timeout time.Duration `yaml:"timeout"`
	// RetryInterval is how long after a failed round trip Enrich fails
	// batches that need Redis at once, without trying it (batches the
	// cache answers still succeed; the policy then applies), so an outage
	// costs each batch microseconds rather than a timeout. The first batch
	// after it tries Redis again. Zero means DefaultRetryInterval; negative
	// (-1s) means always try.
	RetryInterval time.Duration `yaml:"retry_interval"`
}

// Validate reports every invalid field, each naming its key (relative to
// the features section) and the fix.
func (c Config) Validate() error {
	var errs []error
	switch c.Policy {
	case "", PolicyFailOpen, PolicyFailClosed:
	default:
		errs = append(errs, fmt.Errorf("policy: %q is not fail_open or fail_closed", c.Policy))
	}
	if c.CacheSize < -1 {
		errs = append(errs, errors.New("cache_size: must be positive, 0 for the default, or -1 to disable the cache"))
	}
	if c.CacheTTL < 0 {
		errs = append(errs, errors.New("cache_ttl: must not be negative"))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout: must not be negative"))
	}
	return errors.Join(errs...)
}

// WithDefaults returns c with its zero fields replaced by the defaults.
func (c Config) WithDefaults() Config {
	if c.Policy == "" {
		c.Policy = PolicyFailOpen
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.CacheTTL == 0 {
		c.CacheTTL = DefaultCacheTTL
	}
	if c.NegativeTTL == 0 {
		c.NegativeTTL = DefaultNegativeTTL
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.RetryInterval == 0 {
		c.RetryInterval = DefaultRetryInterval
	}
	return c
}
