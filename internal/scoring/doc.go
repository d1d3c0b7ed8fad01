// Package scoring builds the scoring path that run, serve and replay share
// between decoding and publishing: the schema (with its registry attached),
// the online feature store and its policy, the model line-up with its
// shadow topic, registry watch and HTTP routes, the models a replay
// compares, the drift observer and the batch tracer. Build is the one place
// that assembles them from an already loaded and validated config.Config,
// so a capability added to scoring reaches every command.
//
// It also opens, from the same configuration, what the commands around
// scoring work on: a feature set and its Redis (features load and get), a
// drift window and its baseline (drift status and report), and the model
// and event reader that score training rows for a prediction baseline.
//
// It is wiring: it imports config, the engine (pipeline) for the types of
// its ports, and the adapters (consumers, producers, pipeline/model,
// pipeline/features, pipeline/drift, pipeline/replay, pipeline/serve),
// schemas and tracing. Only cmd imports it.
package scoring
