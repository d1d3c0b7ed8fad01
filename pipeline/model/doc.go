// Package model scores batches with an ONNX model through ONNX Runtime.
//
// It is the only package in streamscore that uses cgo or touches ONNX Runtime
// (through github.com/yalue/onnxruntime_go): the runtime is loaded once per
// process by Init, a Model holds a fixed pool of sessions (each with its own
// session options: one intra-op thread and spinning off by default, because
// for small models several single-threaded sessions beat one wide session and
// idle spinning threads steal the cores the decoders need), and every ONNX
// Runtime object it creates is destroyed by the code that created it.
//
// A batch goes in as one row-major float32 slice [rows, features] and comes
// out as one Output per requested model output, converted to float64. Check
// tells, before any event is scored, whether a model fits the event schema
// (input name and width, output names, types and shapes), with errors that
// name what differs and how to fix it.
//
// The shared library is found through Init's argument, then $ONNXRUNTIME_LIB,
// then the loader's search path; deployments/local/onnxruntime.sh fetches it.
// ONNX Runtime 1.24 or newer is needed (onnxruntime_go v1.27 asks for API 24).
//
// Around a Model it keeps the model lifecycle:
//
//   - Registry: models/<name>/<version>/model.onnx plus manifest.json (Manifest:
//     sha256, schema Binding, what each output means, decision threshold,
//     golden file, created time) and an optional models/<name>/active file.
//   - LoadDir: the only way a registered version is opened. It checks the
//     sha256 on the bytes it then hands to ONNX Runtime (a mismatch matches
//     ErrChecksum and is never loaded), the binding against the schema's, the
//     declared input and outputs, a smoke batch on every session (warming them
//     up), and the golden outputs within a tolerance. A model with typed
//     inputs (Binding.Typed) is bound to the schema's feature columns
//     instead, and its smoke batch is synthetic events decoded by the
//     schema (smoke.go); golden files, which hold one float32 matrix, are
//     refused for it. The canary probe of a line-up scores one such event.
//   - Router: scores each batch with one Lineup (champion, optional canary
//     taking a stable FNV-1a fraction of keys, optional challenger scoring
//     the same batch in the shadow), read once per call, and swaps lineups
//     atomically between batches; agreement and latency-difference metrics
//     (lineup.go, router.go, routing.go, compare.go, router_metrics.go).
//     Router takes and returns the engine's batch types
//     (schemas.ScoreInput, schemas.ScoreResult, the challenger's outputs
//     and version in ScoreResult.Challenger), so it is the engine's Scorer
//     as it stands, with no adapter in between.
//   - Deployer: activates registered versions on a Router (admin calls, a
//     watch on the active file); a version that fails any check is refused
//     with a RefusedError and the old lineup keeps scoring.
//   - ReadFileInfo, Inspect and Optimize: what `streamscore model inspect`
//     and `model optimize` show and write.
//
// The package imports no other streamscore package (Prometheus and the
// standard library only); the engine (pipeline) sees a Model through its own
// small scorer interface, and cmd/ wires them.
package model
