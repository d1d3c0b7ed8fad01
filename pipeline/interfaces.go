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

// Scorer runs the model on a batch.
type Scorer interface {
	// Score runs one inference over rows×cols float32 features (row-major)
	// and returns the model outputs the schema binds, in binding order. It
	// must be safe for concurrent use.
	Score(ctx context.Context, features []float32, rows, cols int) ([]schemas.Scores, error)
	// Name and Version identify the model in scored events.
	Name() string
	Version() string
}

// Sink publishes a batch's results.
type Sink interface {
	// Publish returns nil once every scored event and dead letter is
	// durably acknowledged. An error means none may be assumed written; the
	// batch is not acknowledged to the Source.
	Publish(ctx context.Context, scored []schemas.Message, dead []schemas.DeadLetter) error
}
