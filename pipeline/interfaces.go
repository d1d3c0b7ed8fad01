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

// TxnSink is a Sink that commits the consumed offsets itself, in the same
// Kafka transaction as the batch's results (exactly-once delivery). The
// engine hands it every batch with its spans, in fetch order, from one
// goroutine, with at most Config.Publishes batches awaiting their
// transaction's end; it then never relies on the Source to commit.
type TxnSink interface {
	Sink
	// PublishTxn adds the batch and the offsets after spans to the current
	// transaction and returns; done is called exactly once, on any
	// goroutine: nil once the transaction committed; an error with an
	// Aborted() bool method that reports true when the transaction aborted
	// or the batch was stale (nothing of it is visible to read_committed
	// readers and its offsets were not committed: the Source must fetch
	// them again, see Rewinder); any other error is fatal.
	PublishTxn(ctx context.Context, scored []schemas.Message, dead []schemas.DeadLetter, spans []schemas.Span, done func(error))
}

// Rewinder is a Source that can fetch again from the last committed
// offsets, as a TxnSink's aborted transaction requires.
type Rewinder interface {
	// Rewind restarts fetching of assignment epoch (schemas.Span.Epoch)
	// from the offsets after the last acknowledged, committed batch, in a
	// new epoch. It does nothing if epoch is no longer the current one. It
	// does not block.
	Rewind(epoch uint64)
}
