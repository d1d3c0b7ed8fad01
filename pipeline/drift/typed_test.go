package drift

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamscore/streamscore/schemas"
)

// countingScorer counts its calls and returns no outputs.
type countingScorer struct{ calls int }

func (s *countingScorer) Score(context.Context, schemas.ScoreInput) (schemas.ScoreResult, error) {
	s.calls++
	return schemas.ScoreResult{}, nil
}

// TestBuildTypedScorerNeedsEventsAndProbe checks that a typed schema with a
// scorer but no event reader or prober fails before scoring anything, with
// a message naming what is missing.
func TestBuildTypedScorerNeedsEventsAndProbe(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "models", "typed")
	spec, err := schemas.Load(filepath.Join(dir, "df_pipeline.schema.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sc := &countingScorer{}
	_, err = Build(t.Context(), BuildConfig{Spec: spec, Files: []string{filepath.Join(dir, "events.jsonl")}, Scorer: sc, Model: "df"})
	if err == nil || !strings.Contains(err.Error(), "BuildConfig.Events and Probe") {
		t.Fatalf("err = %v, want one naming BuildConfig.Events and Probe", err)
	}
	if sc.calls != 0 {
		t.Errorf("the scorer was called %d times", sc.calls)
	}
}
