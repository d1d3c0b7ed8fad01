package schemas

import "github.com/apache/arrow/go/v15/arrow"

// The batch types below cross the engine's ports: the engine hands them to
// its FeatureStore and Scorer, and the adapters (pipeline/features,
// pipeline/model) take and return them as they are, so they satisfy the
// engine's interfaces by shape, with no conversion in between.

// EnrichInput is one batch handed to a feature store.
type EnrichInput struct {
	// Features holds Rows×Cols float32 values, row-major; feature-set
	// columns hold their defaults. Enrich overwrites them in place. Valid
	// only during the call.
	Features   []float32
	Rows, Cols int
	// Keys holds, per feature set in schema order, each row's entity key.
	// Valid only during the call (a store keeps copies of what it caches).
	Keys [][]string
	// Decoded, if not nil, is the decoded batch: Enrich writes feature
	// sets' string features into its own columns with SetStrings. When
	// nil, those columns keep their defaults.
	Decoded *Decoded
}

// EnrichResult says which rows lacked stored features.
type EnrichResult struct {
	// Missing, if not nil, marks rows for which at least one entity was
	// missing or stale, so defaults were used.
	Missing []bool
	// MissingValues counts feature values left at their defaults.
	MissingValues int
}

// ScoreInput is one batch handed to a scorer.
type ScoreInput struct {
	// Features holds Rows×Cols float32 values, row-major. It is valid only
	// during the Score call.
	Features   []float32
	Rows, Cols int
	// Keys holds each row's entity key (for canary routing); valid only
	// during the call.
	Keys []string
	// Columns is the decoded record whose feature columns feed a model
	// with typed inputs (Spec.Typed); valid only during the call. Select,
	// if not nil, maps batch row r to record row Select[r] (Features is
	// then already gathered), as when a canary takes some of the rows.
	Columns arrow.Record
	Select  []int
}

// RecordRow returns the record row of batch row r.
func (b *ScoreInput) RecordRow(r int) int {
	if b.Select != nil {
		return b.Select[r]
	}
	return r
}

// Take returns the batch of rows rows of b: the features matrix gathered,
// the columns selected.
func (b *ScoreInput) Take(rows []int) ScoreInput {
	x := make([]float32, 0, len(rows)*b.Cols)
	for _, i := range rows {
		x = append(x, b.Features[i*b.Cols:(i+1)*b.Cols]...)
	}
	out := ScoreInput{Features: x, Rows: len(rows), Cols: b.Cols, Columns: b.Columns}
	if b.Keys != nil {
		out.Keys = make([]string, len(rows))
		for k, i := range rows {
			out.Keys[k] = b.Keys[i]
		}
	}
	if b.Columns != nil {
		out.Select = make([]int, len(rows))
		for k, i := range rows {
			out.Select[k] = b.RecordRow(i)
		}
	}
	return out
}

// ScoreResult is what a scorer returns for a batch.
type ScoreResult struct {
	// Scores are the bound model outputs in binding order, Rows×Width each,
	// named as the scored events name them.
	Scores []Scores
	// Model and Version name the model that scored the batch; Versions,
	// if not nil, names each row's version instead.
	Model, Version string
	Versions       []string
	// Challenger, if not nil, holds a challenger's outputs for the same
	// rows. They are written beside the champion's in the scored events
	// (as ChallengerPrefix + name) and, where a shadow topic is
	// configured, as the challenger's own scored events.
	Challenger *ChallengerScores
}

// ChallengerScores are a challenger model's outputs for a batch, with the
// model that produced them, so they travel with the batch they belong to.
type ChallengerScores struct {
	Model, Version string
	// Scores are named as the champion's are, without ChallengerPrefix.
	Scores []Scores
}

// ChallengerPrefix starts the scored-event names of a challenger's outputs
// written beside the champion's ("challenger.score").
const ChallengerPrefix = "challenger."

// WithChallenger returns r's scores followed by the challenger's, named
// ChallengerPrefix + name: what a scored event carries. It returns
// r.Scores itself when there is no challenger.
func (r *ScoreResult) WithChallenger() []Scores {
	if r.Challenger == nil {
		return r.Scores
	}
	out := make([]Scores, 0, len(r.Scores)+len(r.Challenger.Scores))
	out = append(out, r.Scores...)
	for _, s := range r.Challenger.Scores {
		s.Name = ChallengerPrefix + s.Name
		out = append(out, s)
	}
	return out
}
