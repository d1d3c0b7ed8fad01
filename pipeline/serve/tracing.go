package serve

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/streamscore/streamscore/pipeline"
)

// maxLinks bounds a batch span's links to its requests' spans, as the
// engine bounds its links to input events.
const maxLinks = 128

// Span and attribute names of HTTP scoring traces (OpenTelemetry's HTTP
// semantic conventions for the request span).
const (
	spanRequest      = "POST /v1/score"
	attrMethod       = "http.request.method"
	attrRoute        = "http.route"
	attrStatus       = "http.response.status_code"
	attrEvents       = "streamscore.request.events"
	attrRequests     = "streamscore.batch.requests"
	headerTraceState = "tracestate"
)

// startRequest starts the span of one HTTP request when tracing is on: a
// server span that is the child of the caller's span when the request
// carries a valid traceparent (and its tracestate), else a new root. The
// returned request's context holds the span, so Score links the batch to
// it. With tracing off it returns r and nil.
func (s *Server) startRequest(r *http.Request) (*http.Request, trace.Span) {
	if s.cfg.Tracer == nil {
		return r, nil
	}
	ctx := r.Context()
	if tp := r.Header.Get(pipeline.HeaderTraceparent); tp != "" {
		if sc, ok := pipeline.ParseTraceparent([]byte(tp)); ok {
			if ts, err := trace.ParseTraceState(r.Header.Get(headerTraceState)); err == nil {
				sc = sc.WithTraceState(ts)
			}
			ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
		}
	}
	ctx, sp := s.cfg.Tracer.Start(ctx, spanRequest, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String(attrMethod, r.Method), attribute.String(attrRoute, "/v1/score")))
	if !sp.IsRecording() {
		// Not sampled: the context still carries the span's ids, so the
		// batch links to it and the caller's sampling decision holds.
		return r.WithContext(ctx), nil
	}
	return r.WithContext(ctx), sp
}

// endRequest ends a request span (nil is fine) with its status code.
func endRequest(sp trace.Span, code int) {
	if sp == nil {
		return
	}
	sp.SetAttributes(attribute.Int(attrStatus, code))
	if code >= 500 {
		sp.SetStatus(codes.Error, http.StatusText(code))
	}
	sp.End()
}

// startBatch starts the span of a batch of requests, linked to each
// request's span, with the engine's stage spans under it. It returns nil
// when tracing is off or the batch is not sampled (a batch with a sampled
// request is always sampled).
func (s *Server) startBatch(batch []*request, rows int) *pipeline.BatchTrace {
	if s.cfg.Tracer == nil {
		return nil
	}
	var links []trace.Link
	for _, r := range batch {
		if !r.span.IsValid() || len(links) == maxLinks {
			continue
		}
		dup := false
		for i := range links {
			if links[i].SpanContext.Equal(r.span) {
				dup = true
				break
			}
		}
		if !dup {
			links = append(links, trace.Link{SpanContext: r.span})
		}
	}
	opened := batch[0].queued
	return pipeline.StartBatchTrace(s.cfg.Tracer, opened, trace.SpanKindInternal, links,
		attribute.Int(pipeline.AttrBatchSize, rows), attribute.Int(attrRequests, len(batch)))
}
