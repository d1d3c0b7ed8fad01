package servicetest

import (
	"os"
	"strings"
	"testing"
)

// Environment variables that `make up` writes to .run/env.
const (
	// BrokersEnv names the Kafka bootstrap brokers, comma-separated.
	BrokersEnv = "STREAMSCORE_BROKERS"
	// RedisEnv names the Redis address.
	RedisEnv = "STREAMSCORE_REDIS"
	// ONNXRuntimeEnv names the ONNX Runtime shared library.
	ONNXRuntimeEnv = "ONNXRUNTIME_LIB"
)

// Env returns the environment variable name, failing tb with how to set
// it when it is empty.
func Env(tb testing.TB, name string) string {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		tb.Fatalf("%s is not set: run the integration tests with `make test`, or `make up && source .run/env` first", name)
	}
	return v
}

// Brokers returns the Kafka brokers from STREAMSCORE_BROKERS.
func Brokers(tb testing.TB) []string {
	tb.Helper()
	return strings.Split(Env(tb, BrokersEnv), ",")
}

// RedisAddr returns the Redis address from STREAMSCORE_REDIS.
func RedisAddr(tb testing.TB) string {
	tb.Helper()
	return Env(tb, RedisEnv)
}
