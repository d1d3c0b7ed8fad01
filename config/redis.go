package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"
)

// RedisConfig connects to Redis: one address for a single server, several
// for a Cluster, or MasterName for Sentinel (through redis.UniversalClient).
type RedisConfig struct {
	// Addrs are host:port addresses. Env STREAMSCORE_REDIS (comma-separated)
	// overrides them. Empty means Redis is not used.
	Addrs []string `yaml:"addrs"`
	// MasterName selects Sentinel mode.
	MasterName string `yaml:"master_name"`
	// Username and Password authenticate (ACL user or requirepass).
	// PasswordFile, if set, holds the password; the file wins over Password.
	// Write Password as ${ENV_VAR} so it never sits in the file.
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	DB           int    `yaml:"db"`
	// TLS enables TLS. TLSCAFile is a PEM bundle of the CAs that sign the
	// server's certificate (empty: the system roots); TLSInsecureSkipVerify
	// is for tests only.
	TLS                   bool   `yaml:"tls"`
	TLSCAFile             string `yaml:"tls_ca_file"`
	TLSInsecureSkipVerify bool   `yaml:"tls_insecure_skip_verify"`
}

// String prints the settings with the password redacted.
func (c RedisConfig) String() string {
	c.Password = redactIfSet(c.Password)
	type plain RedisConfig
	return fmt.Sprintf("%+v", plain(c))
}

// LogValue keeps the password out of logs.
func (c RedisConfig) LogValue() slog.Value {
	return slog.StringValue(c.String())
}

// MarshalJSON keeps the password out of JSON.
func (c RedisConfig) MarshalJSON() ([]byte, error) {
	c.Password = redactIfSet(c.Password)
	type plain RedisConfig
	return json.Marshal(plain(c))
}

func redactIfSet(s string) string {
	if s == "" {
		return ""
	}
	return Redacted
}

// Enabled reports whether any Redis address is configured.
func (c *RedisConfig) Enabled() bool { return len(c.Addrs) > 0 }

func (c *RedisConfig) applyEnv() {
	if v := os.Getenv("STREAMSCORE_REDIS"); v != "" {
		c.Addrs = SplitList(v)
	}
}

// Validate reports the first problem.
func (c *RedisConfig) Validate() error {
	for _, a := range c.Addrs {
		if !strings.Contains(a, ":") {
			return fmt.Errorf("redis.addrs: %q has no port; write host:port", a)
		}
	}
	if c.DB < 0 {
		return errors.New("redis.db: must not be negative")
	}
	return nil
}

// NewClient returns a client for c. The caller closes it.
func (c *RedisConfig) NewClient() (redis.UniversalClient, error) {
	pw := c.Password
	if c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("redis.password_file: %w", err)
		}
		pw = strings.TrimSpace(string(b))
	}
	opts := &redis.UniversalOptions{
		Addrs: c.Addrs, MasterName: c.MasterName, Username: c.Username, Password: pw, DB: c.DB,
		// Bound socket reads by the caller's context, so a hung server
		// cannot stall a batch past the feature timeout.
		ContextTimeoutEnabled: true,
	}
	if c.TLS {
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.TLSInsecureSkipVerify}
		if c.TLSCAFile != "" {
			pem, err := os.ReadFile(c.TLSCAFile)
			if err != nil {
				return nil, fmt.Errorf("redis.tls_ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("redis.tls_ca_file: %s holds no PEM certificate", c.TLSCAFile)
			}
			opts.TLSConfig.RootCAs = pool
		}
	}
	return redis.NewUniversalClient(opts), nil
}
