package pipeline

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/streamscore/streamscore/schemas"
)

// maxLinks bounds the links of one span to the input events' trace
// contexts (OpenTelemetry's default span limit is 128 too).
const maxLinks = 128

// Span and attribute names of the batch traces.
const (
	spanBatch        = "streamscore.batch"
	attrBatchSize    = "streamscore.batch.size"
	attrModel        = "streamscore.model"
	attrModelVersion = "streamscore.model.version"
	attrTopic        = "messaging.destination.name"
	attrPartition    = "messaging.destination.partition.id"
	attrPartitions   = "streamscore.partitions"
	attrDead         = "streamscore.batch.dead_letters"
)

// SpanBatch is the name of a batch's root span, in run and serve alike;
// its stage spans are named for the stage (decode, enrich, infer, then
// publish in run, encode in serve).
const SpanBatch = spanBatch

// AttrBatchSize is the attribute of a batch span that holds its events.
const AttrBatchSize = attrBatchSize

// BatchTrace is one sampled batch's root span and the links every stage
// span carries. A batch that is not traced has none: every method accepts
// a nil *BatchTrace and then does nothing, so untraced batches pay one nil
// check per stage. A BatchTrace is used by one goroutine at a time.
type BatchTrace struct {
	tr    trace.Tracer
	ctx   context.Context
	root  trace.Span
	links []trace.Link
	attrs []attribute.KeyValue
}

// batchTrace is the engine's name for BatchTrace.
type batchTrace = BatchTrace

// StartBatchTrace starts a batch's root span with tr: a new root (a batch
// gathers many callers' events, so it is linked to their span contexts
// rather than a child of one), begun at opened, of the given kind, with
// attrs also set on every stage span. It returns nil when tr is nil or the
// sampler drops the batch.
func StartBatchTrace(tr trace.Tracer, opened time.Time, kind trace.SpanKind, links []trace.Link, attrs ...attribute.KeyValue) *BatchTrace {
	if tr == nil {
		return nil
	}
	tctx, root := tr.Start(context.Background(), spanBatch, trace.WithNewRoot(), trace.WithLinks(links...),
		trace.WithAttributes(attrs...), trace.WithSpanKind(kind), trace.WithTimestamp(opened))
	if !root.IsRecording() {
		return nil
	}
	return &BatchTrace{tr: tr, ctx: tctx, root: root, links: links, attrs: attrs}
}

// Stage starts the span of one stage of the batch; end it with EndSpan.
// It returns nil when t is nil.
func (t *BatchTrace) Stage(name string, extra ...attribute.KeyValue) trace.Span {
	return t.stage(name, extra...)
}

// EndSpan ends sp, recording err on it; a nil sp is fine.
func EndSpan(sp trace.Span, err error) { endSpan(sp, err) }

// Model records the model name and version that scored the batch on its
// root span and on the stage spans started after.
func (t *BatchTrace) Model(name, version string) { t.model(name, version) }

// End ends the root span, with the batch's dead-letter (or rejected event)
// count and err.
func (t *BatchTrace) End(dead int, err error) { t.end(dead, err) }

// startTrace starts the batch's root span, linked to the trace contexts its
// events carry in traceparent headers. It returns nil when tracing is off or
// the sampler drops the batch, so the stages skip all tracing work.
func (e *Engine) startTrace(_ context.Context, b *Batch) *batchTrace {
	if e.cfg.Tracer == nil {
		return nil
	}
	links := inputLinks(b.Msgs)
	attrs := []attribute.KeyValue{attribute.Int(attrBatchSize, len(b.Msgs))}
	if len(b.Spans) > 0 {
		attrs = append(attrs, attribute.String(attrTopic, b.Spans[0].Topic))
	}
	if len(b.Spans) == 1 {
		attrs = append(attrs, attribute.Int(attrPartition, b.Spans[0].Partition))
	} else {
		ps := make([]int, len(b.Spans))
		for i, s := range b.Spans {
			ps[i] = s.Partition
		}
		attrs = append(attrs, attribute.IntSlice(attrPartitions, ps))
	}
	return StartBatchTrace(e.cfg.Tracer, b.Opened, trace.SpanKindConsumer, links, attrs...)
}

// stage starts the span of one stage of a traced batch; t may be nil.
func (t *batchTrace) stage(name string, extra ...attribute.KeyValue) trace.Span {
	if t == nil {
		return nil
	}
	_, sp := t.tr.Start(t.ctx, name,
		trace.WithLinks(t.links...), trace.WithAttributes(t.attrs...), trace.WithAttributes(extra...))
	return sp
}

// endSpan ends sp (nil is fine), recording err.
func endSpan(sp trace.Span, err error) {
	if sp == nil {
		return
	}
	if err != nil {
		sp.RecordError(err)
		sp.SetStatus(codes.Error, err.Error())
	}
	sp.End()
}

// model records the model that scored the batch on the root span.
func (t *batchTrace) model(name, version string) {
	if t == nil {
		return
	}
	t.attrs = append(t.attrs, attribute.String(attrModel, name), attribute.String(attrModelVersion, version))
	t.root.SetAttributes(attribute.String(attrModel, name), attribute.String(attrModelVersion, version))
}

// end ends the root span once the batch is published (or failed).
func (t *batchTrace) end(dead int, err error) {
	if t == nil {
		return
	}
	t.root.SetAttributes(attribute.Int(attrDead, dead))
	endSpan(t.root, err)
}

// inputLinks returns one link per distinct valid traceparent among msgs'
// headers, at most maxLinks.
func inputLinks(msgs []schemas.Message) []trace.Link {
	var links []trace.Link
	for i := range msgs {
		for _, h := range msgs[i].Headers {
			if len(h.Key) != len(HeaderTraceparent) || h.Key != HeaderTraceparent {
				continue
			}
			sc, ok := ParseTraceparent(h.Value)
			if !ok {
				continue
			}
			dup := false
			for j := range links {
				if links[j].SpanContext.Equal(sc) {
					dup = true
					break
				}
			}
			if !dup {
				links = append(links, trace.Link{SpanContext: sc})
				if len(links) == maxLinks {
					return links
				}
			}
		}
	}
	return links
}

// ParseTraceparent reads a W3C traceparent header value
// ("00-<trace id>-<span id>-<flags>") into a remote span context; ok is
// false when it is malformed or names the invalid all-zero ids.
func ParseTraceparent(v []byte) (trace.SpanContext, bool) {
	// version(2) - trace id(32) - span id(16) - flags(2)
	if len(v) < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-' || (len(v) > 55 && v[55] != '-') {
		return trace.SpanContext{}, false
	}
	if string(v[:2]) == "ff" || (string(v[:2]) == "00" && len(v) != 55) {
		return trace.SpanContext{}, false
	}
	var tid trace.TraceID
	var sid trace.SpanID
	var flags [1]byte
	if !unhex(tid[:], v[3:35]) || !unhex(sid[:], v[36:52]) || !unhex(flags[:], v[53:55]) {
		return trace.SpanContext{}, false
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.TraceFlags(flags[0]) & trace.FlagsSampled, Remote: true})
	return sc, sc.IsValid()
}

// unhex decodes lower-case hex src into dst (len(src) == 2*len(dst)).
func unhex(dst, src []byte) bool {
	val := func(c byte) (byte, bool) {
		switch {
		case c >= '0' && c <= '9':
			return c - '0', true
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10, true
		}
		return 0, false
	}
	for i := range dst {
		hi, ok1 := val(src[2*i])
		lo, ok2 := val(src[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}
