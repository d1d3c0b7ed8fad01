package schemas

import (
	"fmt"
	"strconv"
	"time"
)

// Reason is the machine-readable code of a dead letter.
type Reason string

// Dead-letter reasons. They travel in the dead letter's headers and are what
// `streamscore dlq redrive --reason` filters on.
const (
	ReasonInvalidJSON    Reason = "invalid_json"
	ReasonMissingField   Reason = "missing_field"
	ReasonTypeMismatch   Reason = "type_mismatch"
	ReasonNonFinite      Reason = "non_finite"
	ReasonTooLarge       Reason = "too_large"
	ReasonSchemaMismatch Reason = "schema_mismatch"
	// ReasonDuplicateField: a field the schema reads (the id, key, event
	// time, a feature or a feature-set key field) appears more than once in
	// one event, so which value was meant is unknown.
	ReasonDuplicateField Reason = "duplicate_field"
	ReasonModelError     Reason = "model_error"
	// ReasonOutputRejected marks an input whose scored event the broker
	// refused for good (too large for the output topic, invalid record);
	// the broker's error is in the streamscore.error header.
	ReasonOutputRejected Reason = "output_rejected"
)

// Reasons returns every dead-letter reason code, in the order of the
// constants above.
func Reasons() []Reason {
	return []Reason{ReasonInvalidJSON, ReasonMissingField, ReasonTypeMismatch, ReasonNonFinite, ReasonTooLarge,
		ReasonSchemaMismatch, ReasonDuplicateField, ReasonModelError, ReasonOutputRejected,
		ReasonUnknownSchema, ReasonMalformed}
}

// ReasonCodes returns every dead-letter reason code as text, in the order
// of Reasons: the values --reason accepts.
func ReasonCodes() []string {
	rs := Reasons()
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}

// DecodeError says why one message could not become a row. Index is the
// message's position in the slice given to Decode.
type DecodeError struct {
	Index  int
	Reason Reason
	Field  string
	Msg    string
}

// Error returns a one-line description naming the field where there is one.
func (e *DecodeError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: field %q: %s", e.Reason, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Reason, e.Msg)
}

// DeadLetter is an input message that could not be scored, with why.
type DeadLetter struct {
	Msg          Message
	Reason       Reason
	Field        string
	Detail       string
	Schema       string
	Model        string
	ModelVersion string
	At           time.Time
}

// Dead-letter header names. The original record's headers come first,
// unchanged; these follow.
const (
	HeaderReason          = "streamscore.reason"
	HeaderError           = "streamscore.error"
	HeaderField           = "streamscore.field"
	HeaderSourceTopic     = "streamscore.source.topic"
	HeaderSourcePartition = "streamscore.source.partition"
	HeaderSourceOffset    = "streamscore.source.offset"
	HeaderTime            = "streamscore.time"
	HeaderSchema          = "streamscore.schema"
	HeaderModel           = "streamscore.model"
	HeaderModelVersion    = "streamscore.model.version"
)

// Headers returns the dead letter's headers: the original ones, then the
// streamscore.* headers naming the reason and the source.
func (d *DeadLetter) Headers() []Header {
	h := make([]Header, 0, len(d.Msg.Headers)+10)
	h = append(h, d.Msg.Headers...)
	add := func(k, v string) {
		if v != "" {
			h = append(h, Header{Key: k, Value: []byte(v)})
		}
	}
	add(HeaderReason, string(d.Reason))
	add(HeaderError, d.Detail)
	add(HeaderField, d.Field)
	add(HeaderSourceTopic, d.Msg.Topic)
	add(HeaderSourcePartition, strconv.Itoa(d.Msg.Partition))
	add(HeaderSourceOffset, strconv.FormatInt(d.Msg.Offset, 10))
	add(HeaderTime, d.At.UTC().Format(time.RFC3339Nano))
	add(HeaderSchema, d.Schema)
	add(HeaderModel, d.Model)
	add(HeaderModelVersion, d.ModelVersion)
	return h
}
