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
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// KafkaSecurityConfig is how streamscore authenticates to and encrypts its
// connections with the brokers. Secrets come from the environment (write
// ${NAME} in the file) or from files; they are never logged.
type KafkaSecurityConfig struct {
	TLS  TLSConfig  `yaml:"tls"`
	SASL SASLConfig `yaml:"sasl"`
	// DialTimeout bounds each step of reaching a broker: the dial, the TLS
	// and SASL handshakes and, at start-up, the first request. Zero means
	// 10 s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// StartupTimeout is how long run waits at start-up, retrying with
	// backoff, for a broker to answer before it exits 1. Zero means 60 s.
	StartupTimeout time.Duration `yaml:"startup_timeout"`
}

// DialTimeoutOrDefault returns DialTimeout, or 10 s when it is zero.
func (c *KafkaSecurityConfig) DialTimeoutOrDefault() time.Duration {
	if c.DialTimeout <= 0 {
		return 10 * time.Second
	}
	return c.DialTimeout
}

// TLSConfig enables TLS to the brokers.
type TLSConfig struct {
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM bundle of the CAs that sign the brokers' certificates;
	// empty means the system roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a client certificate for mutual TLS.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the broker's certificate.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify disables certificate checks (tests only).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// SASLConfig authenticates to the brokers.
type SASLConfig struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty disables SASL.
	Mechanism string `yaml:"mechanism"`
	Username  string `yaml:"username"`
	// Password, or PasswordFile (which wins), holds the secret.
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
}

// Redacted stands in for a secret wherever a config is printed or logged.
const Redacted = "[redacted]"

// String prints c with the password replaced, so that printing a Config
// (fmt's %v and %+v use it for this field) never shows the secret.
func (c SASLConfig) String() string {
	pw := ""
	if c.Password != "" {
		pw = Redacted
	}
	return fmt.Sprintf("{Mechanism:%s Username:%s Password:%s PasswordFile:%s}", c.Mechanism, c.Username, pw, c.PasswordFile)
}

// LogValue logs c with the password replaced.
func (c SASLConfig) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("mechanism", c.Mechanism), slog.String("username", c.Username)}
	if c.Password != "" {
		attrs = append(attrs, slog.String("password", Redacted))
	}
	if c.PasswordFile != "" {
		attrs = append(attrs, slog.String("password_file", c.PasswordFile))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON encodes c with the password replaced, so JSON logs or dumps of
// a Config never show the secret.
func (c SASLConfig) MarshalJSON() ([]byte, error) {
	type plain SASLConfig
	p := plain(c)
	if p.Password != "" {
		p.Password = Redacted
	}
	return json.Marshal(p)
}

// LogValue logs c with the SASL password replaced.
func (c KafkaSecurityConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("tls", c.TLS.Enabled), slog.String("ca_file", c.TLS.CAFile), slog.String("cert_file", c.TLS.CertFile),
		slog.Any("sasl", c.SASL),
	)
}

// Validate reports the first problem.
func (c *KafkaSecurityConfig) Validate() error {
	switch strings.ToUpper(c.SASL.Mechanism) {
	case "", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		return fmt.Errorf("kafka.sasl.mechanism: %q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", c.SASL.Mechanism)
	}
	if c.SASL.Mechanism != "" && c.SASL.Username == "" {
		return errors.New("kafka.sasl.username: required with a SASL mechanism")
	}
	if c.SASL.Mechanism != "" && c.SASL.Password == "" && c.SASL.PasswordFile == "" {
		return errors.New("kafka.sasl.password: required with a SASL mechanism (write ${ENV_VAR} or use password_file)")
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return errors.New("kafka.tls: cert_file and key_file go together")
	}
	if c.DialTimeout < 0 || c.StartupTimeout < 0 {
		return errors.New("kafka.dial_timeout and kafka.startup_timeout: must not be negative (write a duration such as 10s)")
	}
	return nil
}

func (c *KafkaSecurityConfig) enabled() bool { return c.TLS.Enabled || c.SASL.Mechanism != "" }

func (c *KafkaSecurityConfig) tlsConfig() (*tls.Config, error) {
	if !c.TLS.Enabled {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLS.ServerName, InsecureSkipVerify: c.TLS.InsecureSkipVerify}
	if c.TLS.CAFile != "" {
		pem, err := os.ReadFile(c.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka.tls.ca_file: %s holds no PEM certificate", c.TLS.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka.tls: loading the client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func (c *KafkaSecurityConfig) mechanism() (sasl.Mechanism, error) {
	if c.SASL.Mechanism == "" {
		return nil, nil
	}
	pw := c.SASL.Password
	if c.SASL.PasswordFile != "" {
		b, err := os.ReadFile(c.SASL.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("kafka.sasl.password_file: %w", err)
		}
		pw = strings.TrimRight(string(b), "\r\n")
	}
	switch strings.ToUpper(c.SASL.Mechanism) {
	case "PLAIN":
		return plain.Mechanism{Username: c.SASL.Username, Password: pw}, nil
	case "SCRAM-SHA-256":
		return scram.Mechanism(scram.SHA256, c.SASL.Username, pw)
	default:
		return scram.Mechanism(scram.SHA512, c.SASL.Username, pw)
	}
}

// dialer returns the dialer for consumers and admin calls, or nil for
// kafka-go's default when no security is configured.
func (c *KafkaSecurityConfig) Dialer() (*kafka.Dialer, error) {
	if !c.enabled() {
		if c.DialTimeoutOrDefault() == kafka.DefaultDialer.Timeout {
			return nil, nil
		}
		return &kafka.Dialer{Timeout: c.DialTimeoutOrDefault(), DualStack: true}, nil
	}
	tc, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	m, err := c.mechanism()
	if err != nil {
		return nil, fmt.Errorf("kafka.sasl: %w", err)
	}
	return &kafka.Dialer{Timeout: c.DialTimeoutOrDefault(), DualStack: true, TLS: tc, SASLMechanism: m}, nil
}

// transport returns the transport for producers, or nil for the default.
func (c *KafkaSecurityConfig) Transport() (*kafka.Transport, error) {
	if !c.enabled() {
		return nil, nil
	}
	tc, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	m, err := c.mechanism()
	if err != nil {
		return nil, fmt.Errorf("kafka.sasl: %w", err)
	}
	return &kafka.Transport{TLS: tc, SASL: m, DialTimeout: c.DialTimeoutOrDefault()}, nil
}
