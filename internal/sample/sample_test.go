package sample

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestWriteIsDeterministicAndMixesBadEvents(t *testing.T) {
	var a, b bytes.Buffer
	cfg := Config{N: 2000, Seed: 7, BadRatio: 0.05}
	badA, err := Write(&a, cfg)
	if err != nil {
		t.Fatal(err)
	}
	badB, _ := Write(&b, cfg)
	if badA != badB {
		t.Fatalf("same seed, %d and %d bad events", badA, badB)
	}
	lines := strings.Split(strings.TrimSuffix(a.String(), "\n"), "\n")
	if len(lines) != cfg.N || badA < 50 || badA > 150 {
		t.Fatalf("%d lines, %d bad; want %d lines, about 100 bad", len(lines), badA, cfg.N)
	}
	good := 0
	for _, l := range lines {
		var ev map[string]any
		if json.Unmarshal([]byte(l), &ev) == nil && ev["f31"] != nil && ev["merchant"] != nil {
			good++
		}
	}
	if good != cfg.N-badA {
		t.Fatalf("%d complete events, want %d", good, cfg.N-badA)
	}
}
