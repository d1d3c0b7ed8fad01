package pipeline

import (
	"context"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/streamscore/streamscore/schemas"
)

// Source yields input messages and takes acknowledgements.
type Source interface {
	// Run sends messages to out, blocking while out is full, until
	// StopFetching is called or ctx is done. It then closes out, waits for
	// the messages it sent to be acknowledged (until ctx is done), commits
	// what is acknowledged, and returns.
	Run(ctx context.Context, out chan<- schemas.Message) error
	// StopFetching begins a graceful stop. It does not block.
	StopFetching()
	// Ack marks spans as done: each offset in them ended as a scored event
	// or a dead letter that the Sink acknowledged.
	Ack(spans []schemas.Span)
}

// ScoreInput is one batch handed to a Scorer.
type ScoreInput struct {
	// Features holds Rows×Cols float32 values, row-major. It is valid only
	// during the Score call.
	Features   []float32
	Rows, Cols int
	// Keys holds each row's entity key (for canary routing); valid only
	// during the call.
	Keys []string
	// Columns is the decoded record, Rows rows, whose feature columns feed
	// a model with typed inputs (schemas.Spec.Typed); valid only during the
	// call.
	Columns arrow.Record
}

// ScoreResult is what a Scorer returns for a batch.
type ScoreResult struct {
	// Scores are the bound model outputs in binding order, Rows×Width each.
	Scores []schemas.Scores
	// Model and Version name the model that scored the batch; Versions,
	// if not nil, names each row's version instead.
	Model, Version string
	Versions       []string
}

// Scorer runs the model on a batch. A Scorer that swaps models must do so
// between calls, so each batch is scored by one model (or, with Versions,
// by a known version per row).
type Scorer interface {
	// Score runs inference on one batch. It must be safe for concurrent use.
	Score(ctx context.Context, in ScoreInput) (ScoreResult, error)
	// Name and Version identify the current model; they label dead letters.
	Name() string
	Version() string
}

// AsyncSink is a Sink that can have several batches in flight. The engine
// uses it when the Sink offers it, with at most Config.Publishes batches
// awaiting acknowledgement at once.
type AsyncSink interface {
	Sink
	// PublishAsync starts publishing and returns; done is called exactly
	// once, on any goroutine, with nil once every record is durably
	// acknowledged, or with an error once ctx is done first. Records of
	// successive calls must be written in call order per partition while
	// nothing fails.
	PublishAsync(ctx context.Context, scored []schemas.Message, dead []schemas.DeadLetter, done func(error))
}

// Observer sees every scored batch after inference and before its Arrow
// memory is released (drift monitoring, replay outputs). It runs on the
// inference stage's goroutine, so it must not block; the batch and
// everything it references are valid only during the call.
type Observer interface {
	ObserveBatch(b *schemas.ScoredBatch)
}

// Sink publishes a batch's results.
type Sink interface {
	// Publish returns nil once every scored event and dead letter is
	// durably acknowledged. An error means none may be assumed written; the
	// batch is not acknowledged to the Source.
	Publish(ctx context.Context, scored []schemas.Message, dead []schemas.DeadLetter) error
}

// EnrichInput is one batch handed to a FeatureStore.
type EnrichInput struct {
	// Features holds Rows×Cols float32 values, row-major; feature-set
	// columns hold their defaults. Enrich overwrites them in place. Valid
	// only during the call.
	Features   []float32
	Rows, Cols int
	// Keys holds, per feature set in schema order, each row's entity key.
	// Valid only during the call.
	Keys [][]string
}

// EnrichResult says which rows lacked stored features.
type EnrichResult struct {
	// Missing, if not nil, marks rows for which at least one entity was
	// missing or stale, so defaults were used.
	Missing []bool
	// MissingValues counts feature values left at their defaults.
	MissingValues int
}

// FeatureStore fills feature-set columns from the online store.
type FeatureStore interface {
	// Enrich writes each row's stored features into its feature-set
	// columns. An error means the store could not be read: the engine
	// applies its FeaturePolicy. It must be safe for concurrent use.
	Enrich(ctx context.Context, in EnrichInput) (EnrichResult, error)
}

// FeaturePolicy says what the engine does when the FeatureStore fails.
type FeaturePolicy string

// Feature policies.
const (
	// FailOpen scores with default values and flags the scored events
	// (features_missing); nothing waits.
	FailOpen FeaturePolicy = "fail_open"
	// FailClosed pauses scoring (and so consumption and commits) and
	// retries with backoff until the store answers.
	FailClosed FeaturePolicy = "fail_closed"
)
