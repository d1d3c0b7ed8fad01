package main

import (
	"crypto/tls"
	"errors"
	"fmt"
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
	// TLS enables TLS; TLSInsecureSkipVerify is for tests only.
	TLS                   bool `yaml:"tls"`
	TLSInsecureSkipVerify bool `yaml:"tls_insecure_skip_verify"`
}

// Enabled reports whether any Redis address is configured.
func (c *RedisConfig) Enabled() bool { return len(c.Addrs) > 0 }

func (c *RedisConfig) applyEnv() {
	if v := os.Getenv("STREAMSCORE_REDIS"); v != "" {
		c.Addrs = splitList(v)
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
	}
	if c.TLS {
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.TLSInsecureSkipVerify}
	}
	return redis.NewUniversalClient(opts), nil
}
