// Package tracing carries trace context through the scorer: its Config says
// which input headers scored events keep (traceparent and tracestate always)
// and whether, where and how often batches are traced with OpenTelemetry.
//
// It imports OpenTelemetry and schemas; the engine sees only the small
// pipeline.Tracer interface it satisfies, and cmd wires it in.
package tracing
