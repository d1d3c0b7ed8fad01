// Package pipeline is the scoring engine: it gathers messages from a Source
// into micro-batches (Policy), decodes each batch into Arrow columns, scores
// it with one Scorer call, encodes one scored event per input, publishes
// scored events and dead letters through a Sink, and acknowledges the
// batch's offset spans back to the Source only once the Sink has them.
//
// Stages run concurrently on bounded channels (decode batch k+1 while k is
// scoring and k-1 publishing). It imports schemas only; it declares the
// small interfaces it needs (Source, Scorer, Sink, FeatureStore, Observer,
// ShadowSink) over batch types that live in schemas (ScoreInput,
// ScoreResult, EnrichInput, EnrichResult), so adapters satisfy them by
// shape, and cmd wires concrete adapters into them.
package pipeline
