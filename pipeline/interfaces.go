package pipeline

import (
	"context"

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

// ScoreInput is one batch handed to a Scorer (see schemas.ScoreInput).
type ScoreInput = schemas.ScoreInput

// ScoreResult is what a Scorer returns for a batch (see
// schemas.ScoreResult).
type ScoreResult = schemas.ScoreResult

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

// ShadowSink takes a challenger's scored events (schemas.ScoreResult's
// Challenger, encoded by the engine as it encodes the champion's), best
// effort: they are for comparison, so they never hold up or fail a batch
// and are never acknowledged to the Source.
type ShadowSink interface {
	// Offer hands over msgs, which belong to the sink from then on. It
	// must not block: a sink that cannot keep up drops and counts.
	Offer(msgs []schemas.Message)
}

// Sink publishes a batch's results.
type Sink interface {
	// Publish returns nil once every scored event and dead letter is
	// durably acknowledged. An error means none may be assumed written; the
	// batch is not acknowledged to the Source. The scored events' values are
	// valid until Publish returns nil (for PublishAsync, until done(nil)):
	// the engine then reuses their memory, so a sink that keeps them longer
	// copies them.
	Publish(ctx context.Context, scored []schemas.Message, dead []schemas.DeadLetter) error
}

// EnrichInput is one batch handed to a FeatureStore (see
// schemas.EnrichInput).
type EnrichInput = schemas.EnrichInput

// EnrichResult says which rows lacked stored features (see
// schemas.EnrichResult).
type EnrichResult = schemas.EnrichResult

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
