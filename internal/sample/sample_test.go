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

func TestLabelsStringsAndFeatureRows(t *testing.T) {
	var plain, labeled bytes.Buffer
	cfg := Config{N: 500, Seed: 3, Users: 20}
	Write(&plain, cfg)
	cfg.Label, cfg.StringFeatures = "is_fraud", []string{"country"}
	Write(&labeled, cfg)
	pl := strings.Split(strings.TrimSpace(plain.String()), "\n")
	ll := strings.Split(strings.TrimSpace(labeled.String()), "\n")
	pos := 0
	users := map[string]bool{}
	for i := range ll {
		var p, l map[string]any
		json.Unmarshal([]byte(pl[i]), &p)
		if err := json.Unmarshal([]byte(ll[i]), &l); err != nil {
			t.Fatal(err)
		}
		if p["f00"] != l["f00"] || p["user_id"] != l["user_id"] {
			t.Fatalf("line %d: a label changed the other values: %v vs %v", i, p, l)
		}
		y, ok := l["is_fraud"].(float64)
		c, _ := l["country"].(string)
		if !ok || (y != 0 && y != 1) || !strings.HasPrefix(c, "country-") {
			t.Fatalf("line %d: label %v, country %v", i, l["is_fraud"], l["country"])
		}
		pos += int(y)
		users[l["user_id"].(string)] = true
	}
	if pos < 150 || pos > 350 {
		t.Errorf("%d of 500 labels are 1, want about half", pos)
	}
	var rows bytes.Buffer
	if err := WriteFeatures(&rows, "user_id", cfg.Users, []string{"f28", "f29"}, cfg.Seed); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(rows.String()), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil || r["f28"] == nil || r["f29"] == nil {
			t.Fatalf("feature row %q: %v", line, err)
		}
		keys[r["user_id"].(string)] = true
	}
	for u := range users {
		if !keys[u] {
			t.Errorf("event user %s has no feature row", u)
		}
	}
}
