// Package serve scores events sent over HTTP (POST /v1/score) with dynamic
// batching: requests from many clients are gathered into one micro-batch,
// which closes at MaxRows events or MaxWait after its first request, is
// decoded into Arrow columns by the schema's Decoder, scored with one Scorer
// call, encoded by the schema's Encoder, and fanned back to each request in
// its order. While every worker is busy the open batch keeps growing (up to
// MaxRows), so under load batches get larger rather than queues longer.
//
// A request body is one JSON event object or a JSON array of them. The
// scored events are the ones the Kafka path publishes, with topic "http",
// partition -1 and, as offset, the event's index in its request.
//
// It imports pipeline (for the Scorer interface) and schemas; cmd mounts its
// handler on the operations endpoint, beside /metrics, /healthz and /readyz.
package serve
