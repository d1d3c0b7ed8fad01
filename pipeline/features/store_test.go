package features

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

func TestNewRegistersMetrics(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never contacted
	defer client.Close()
	reg := prometheus.NewRegistry()
	if _, err := New(client, parseSpec(t, fileSpec), Config{}, nil, reg); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	for _, want := range []string{
		"streamscore_features_lookups_total", "streamscore_features_cache_hits_total", "streamscore_features_cache_misses_total",
		"streamscore_features_redis_round_trips_total", "streamscore_features_redis_seconds",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("metric %s is not registered (have %s)", want, strings.Join(names, ", "))
		}
	}
}

func TestNewRejects(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer client.Close()
	noSets := parseSpec(t, "name: t\nid: id\nfeatures: [{name: x}]\nmodel: {input: x, outputs: [{name: y}]}\n")
	if _, err := New(client, noSets, Config{}, nil, nil); err == nil {
		t.Error("New accepted a schema without feature sets")
	}
	if _, err := New(nil, parseSpec(t, fileSpec), Config{}, nil, nil); err == nil {
		t.Error("New accepted no client")
	}
	if _, err := New(client, parseSpec(t, fileSpec), Config{Timeout: -1}, nil, nil); err == nil {
		t.Error("New accepted a negative timeout")
	}
}
