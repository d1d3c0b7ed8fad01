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
// The package imports no other streamscore package; the engine (pipeline)
// sees a Model through its own small scorer interface, and cmd/ wires them.
package model
