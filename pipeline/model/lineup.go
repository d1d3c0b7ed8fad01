package model

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
)

// Role is a model's part in a Lineup.
type Role string

// Roles.
const (
	// RoleChampion scores every row the canary does not take.
	RoleChampion Role = "champion"
	// RoleCanary scores a stable fraction of keys (Lineup.CanaryFraction).
	RoleCanary Role = "canary"
	// RoleChallenger scores every batch in the shadow: its outputs are
	// returned beside the champion's and never replace them.
	RoleChallenger Role = "challenger"
)

// Lineup is the set of models that scores a batch.
type Lineup struct {
	// Champion is required.
	Champion *Model
	// Canary, if set, scores the rows whose key falls in CanaryFraction
	// (see InCanary); it must return the champion's outputs, of the same
	// widths.
	Canary         *Model
	CanaryFraction float64
	// Challenger, if set, scores every batch too; its outputs go beside the
	// champion's.
	Challenger *Model
}

func (l Lineup) models() []*Model {
	var out []*Model
	for _, m := range []*Model{l.Champion, l.Canary, l.Challenger} {
		if m != nil {
			out = append(out, m)
		}
	}
	return out
}

// InCanary reports whether key goes to the canary at fraction: the 64-bit
// FNV-1a hash of the key's bytes, modulo 10000, is below fraction × 10000.
// The same key always lands on the same side, in every process and replica,
// and raising the fraction only moves keys from champion to canary.
func InCanary(key string, fraction float64) bool {
	if fraction <= 0 {
		return false
	}
	if fraction >= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return float64(h.Sum64()%10000) < fraction*10000
}

func containsModel(ms []*Model, m *Model) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

// checkLineup refuses a lineup that cannot serve: no champion, a canary
// fraction out of range, or a canary whose outputs differ from the
// champion's (names, or widths on a one-row probe).
func checkLineup(ctx context.Context, l Lineup) error {
	if l.Champion == nil {
		return errors.New("checking lineup: a champion is required")
	}
	if l.Canary == nil {
		return nil
	}
	if l.CanaryFraction <= 0 || l.CanaryFraction > 1 {
		return fmt.Errorf("checking lineup: canary fraction %v must be in (0, 1]", l.CanaryFraction)
	}
	a, err := probe(ctx, l.Champion)
	if err != nil {
		return fmt.Errorf("checking lineup: champion: %w", err)
	}
	b, err := probe(ctx, l.Canary)
	if err != nil {
		return fmt.Errorf("checking lineup: canary: %w", err)
	}
	if len(a) != len(b) {
		return fmt.Errorf("checking lineup: the canary (version %s) returns %d outputs, the champion (version %s) %d", l.Canary.Version(), len(b), l.Champion.Version(), len(a))
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Width != b[i].Width {
			return fmt.Errorf("checking lineup: canary output %s/%d differs from the champion's %s/%d: a canary must produce what the champion produces", b[i].Name, b[i].Width, a[i].Name, a[i].Width)
		}
		if (a[i].Strings == nil) != (b[i].Strings == nil) || !slices.Equal(a[i].Keys, b[i].Keys) {
			return fmt.Errorf("checking lineup: canary output %s is %s, the champion's %s: a canary must produce what the champion produces", b[i].Name, describeOutput(b[i]), describeOutput(a[i]))
		}
	}
	return nil
}

// probe scores one row: of zeros for the single [N, F] input, or one
// synthetic event (see smokeBatch) for a model bound to typed inputs.
func probe(ctx context.Context, m *Model) ([]Output, error) {
	if m.Typed() {
		return m.scoreSmoke(ctx, 1)
	}
	if len(m.inputs) != 1 || len(m.inputs[0].Shape) != 2 {
		return nil, fmt.Errorf("model %s: Score feeds one [N, F] input; it has %s", m.cfg.Path, listInfos(m.inputs))
	}
	cols := int(m.inputs[0].Shape[1])
	if cols < 0 {
		cols = 1
	}
	return m.Score(ctx, make([]float32, cols), 1, cols)
}

// describeOutput says what kind of values an output holds, for messages.
func describeOutput(o Output) string {
	switch {
	case o.Strings != nil:
		return "class labels (strings)"
	case o.Keys != nil:
		return fmt.Sprintf("a map of classes %v", o.Keys)
	}
	return fmt.Sprintf("%d %s value(s) per row", o.Width, o.Type)
}
