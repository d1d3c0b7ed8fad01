package features

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/streamscore/streamscore/schemas"
)

func TestFindSetAndLoadOptions(t *testing.T) {
	spec := &schemas.Spec{FeatureSets: []schemas.FeatureSet{{Name: "user_stats"}, {Name: "merchant"}}}
	if fs, err := FindSet(spec, "merchant", "s.yaml"); err != nil || fs != &spec.FeatureSets[1] {
		t.Fatalf("FindSet = %v, %v", fs, err)
	}
	if _, err := FindSet(spec, "users", "s.yaml"); err == nil || !strings.Contains(err.Error(), "it has: user_stats, merchant") {
		t.Errorf("FindSet of an absent set: %v", err)
	}
	if _, err := FindSet(&schemas.Spec{}, "users", "s.yaml"); err == nil || !strings.Contains(err.Error(), "declares no feature_sets") {
		t.Errorf("FindSet without sets: %v", err)
	}
	for _, tc := range []struct {
		opts LoadOptions
		want string
	}{
		{LoadOptions{TTL: -time.Second, Batch: 1}, "--ttl"},
		{LoadOptions{Batch: 0}, "--batch"},
		{LoadOptions{Batch: 1}, ""},
	} {
		err := tc.opts.Validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.opts, err, tc.want)
		}
	}
}

func TestInspectionText(t *testing.T) {
	fs := &schemas.FeatureSet{Name: "user_stats", Key: "user:{user_id}", Layout: schemas.LayoutVector, Version: 2,
		Features: []schemas.SetFeature{{Name: "a"}, {Name: "b"}}}
	in := Inspection{Key: "user:1", Status: "partial", Version: 2, TTL: -1, Values: []float32{1.5, 0}, Present: []bool{true, false}}
	var text, js bytes.Buffer
	if err := in.WriteText(&text, fs, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := in.WriteJSON(&js, fs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"max_age none", "ttl  none", "b  0 (default)"} {
		if !strings.Contains(strings.Join(strings.Fields(text.String()), "  "), strings.Join(strings.Fields(want), "  ")) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if !strings.Contains(js.String(), `"ttl_ms": -1`) || !strings.Contains(js.String(), `"default": true`) {
		t.Errorf("json:\n%s", js.String())
	}
	if KeyHint(fs, "42") == "" || KeyHint(fs, "user:42") != "" {
		t.Error("KeyHint")
	}
}
