package schemas

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow/array"
)

// EventEncoder writes the scored event of one row of a scored batch. The
// engine calls it for every scored row, from one goroutine per batch;
// implementations are safe for concurrent use.
type EventEncoder interface {
	// Append appends the scored event for record row row of b to dst.
	Append(dst []byte, b *ScoredBatch, row int) []byte
}

var (
	_ EventEncoder = (*Encoder)(nil)
	_ EventEncoder = (*AvroEncoder)(nil)
)

// Output formats of scored events (topics.output_format).
const (
	OutputJSON = "json"
	OutputAvro = "avro"
)

// scoreUnion is the Avro type of one score: null for a non-finite value,
// float or double for a number (float when the model gave float32), string
// for a label, an array for a vector of numbers or labels, a map for a
// ZipMap's per-class values.
const scoreUnion = `["null","float","double","string",{"type":"array","items":["null","float","double","string"]},{"type":"map","values":["null","float","double"]}]`

// Branches of scoreUnion and of its array's items.
const (
	scoreNull = iota
	scoreFloat
	scoreDouble
	scoreString
	scoreArray
	scoreMap
)

// passUnion is the Avro type of a passthrough field: its JSON value as the
// closest Avro type, null when the event lacked it, and an object or array
// as its JSON text in a JSONValue record.
const passUnion = `["null","boolean","long","double","string",{"type":"record","name":"JSONValue","fields":[{"name":"json","type":"string"}]}]`

// passUnionRef is passUnion after JSONValue's definition.
const passUnionRef = `["null","boolean","long","double","string","JSONValue"]`

// Branches of passUnion.
const (
	passNull = iota
	passBool
	passLong
	passDouble
	passString
	passJSON
)

var avroName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ScoredAvroSchema returns the Avro schema of spec's scored events: the
// fields the JSON encoder writes, in its order, with features_missing
// always present, scores a record of one field per model output (each
// the union scoreUnion) and passthrough a record of one field per
// passthrough field (each the union passUnion). Times are
// timestamp-millis longs. It fails when an output's "as" name or a
// passthrough name is not a valid Avro name.
func ScoredAvroSchema(spec *Spec) (string, error) {
	var scores, pass []string
	for _, o := range spec.Model.Outputs {
		name := o.As
		if name == "" {
			name = o.Name
		}
		if !avroName.MatchString(name) {
			return "", fmt.Errorf("model.outputs: %q is not a valid Avro field name (letters, digits and _, not first a digit); give the output an as: name for Avro scored events", name)
		}
		scores = append(scores, `{"name":"`+name+`","type":`+scoreUnion+`,"default":null}`)
	}
	for _, p := range spec.Passthrough {
		if !avroName.MatchString(p) {
			return "", fmt.Errorf("passthrough: %q is not a valid Avro field name (letters, digits and _, not first a digit), so Avro scored events cannot carry it; rename the field or remove it from passthrough", p)
		}
		u := passUnion
		if len(pass) > 0 {
			// JSONValue is defined once, then named.
			u = passUnionRef
		}
		pass = append(pass, `{"name":"`+p+`","type":`+u+`,"default":null}`)
	}
	ts := `{"type":"long","logicalType":"timestamp-millis"}`
	fields := []string{
		`{"name":"event_id","type":"string"}`,
		`{"name":"key","type":"string"}`,
		`{"name":"event_time","type":` + ts + `}`,
		`{"name":"topic","type":"string"}`,
		`{"name":"partition","type":"int"}`,
		`{"name":"offset","type":"long"}`,
		`{"name":"model","type":"string"}`,
		`{"name":"model_version","type":"string"}`,
		`{"name":"schema","type":"string"}`,
		`{"name":"scores","type":{"type":"record","name":"Scores","fields":[` + strings.Join(scores, ",") + `]}}`,
		`{"name":"features_missing","type":"boolean","default":false}`,
		`{"name":"input_ts","type":` + ts + `}`,
		`{"name":"scored_at","type":` + ts + `}`,
	}
	if len(pass) > 0 {
		fields = append(fields, `{"name":"passthrough","type":{"type":"record","name":"Passthrough","fields":[`+strings.Join(pass, ",")+`]}}`)
	}
	s := `{"type":"record","name":"ScoredEvent","namespace":"streamscore","fields":[` + strings.Join(fields, ",") + `]}`
	if _, err := ParseAvro(s); err != nil {
		return "", fmt.Errorf("the scored-event Avro schema does not parse: %w", err)
	}
	return s, nil
}

// AvroEncoder writes scored events as Avro records of ScoredAvroSchema in
// the Confluent wire format (magic byte 0, then the schema id). It is
// stateless and safe for concurrent use.
type AvroEncoder struct {
	id     int
	schema string
	pass   []string
	scores []string
}

// NewAvroEncoder returns an encoder for scored events of spec whose
// schema (ScoredAvroSchema) is registered as id.
func NewAvroEncoder(spec *Spec, id int) (*AvroEncoder, error) {
	if _, err := ScoredAvroSchema(spec); err != nil {
		return nil, err
	}
	e := &AvroEncoder{id: id, schema: spec.String(), pass: spec.Passthrough}
	for _, o := range spec.Model.Outputs {
		name := o.As
		if name == "" {
			name = o.Name
		}
		e.scores = append(e.scores, name)
	}
	return e, nil
}

// Append appends the framed Avro scored event for record row row of b to
// dst. Strings are written in valid UTF-8 (invalid bytes become U+FFFD, as
// in JSON); a score the batch lacks is null.
func (e *AvroEncoder) Append(dst []byte, b *ScoredBatch, row int) []byte {
	rec := b.Decoded.Record
	m := &b.Msgs[b.Decoded.Rows[row]]
	dst = AppendFrame(dst, e.id)
	dst = avroString(dst, rec.Column(0).(*array.String).Value(row))
	dst = avroString(dst, rec.Column(1).(*array.String).Value(row))
	dst = avroLong(dst, int64(rec.Column(2).(*array.Timestamp).Value(row)))
	dst = avroString(dst, m.Topic)
	dst = avroLong(dst, int64(m.Partition))
	dst = avroLong(dst, m.Offset)
	dst = avroString(dst, b.Model)
	dst = avroString(dst, b.Version(row))
	dst = avroString(dst, e.schema)
	for _, name := range e.scores {
		dst = appendAvroScore(dst, b, name, row)
	}
	dst = append(dst, 0)
	if b.FeaturesMissing != nil && b.FeaturesMissing[row] {
		dst[len(dst)-1] = 1
	}
	dst = avroLong(dst, m.Time.UnixMilli())
	dst = avroLong(dst, b.ScoredAt.UnixMilli())
	for i := range e.pass {
		col := rec.Column(4 + i).(*array.String)
		if col.IsNull(row) {
			dst = avroLong(dst, passNull)
			continue
		}
		dst = appendAvroPass(dst, col.Value(row))
	}
	return dst
}

// appendAvroScore appends row's value of the output named name.
func appendAvroScore(dst []byte, b *ScoredBatch, name string, row int) []byte {
	var s *Scores
	for i := range b.Scores {
		if b.Scores[i].Name == name {
			s = &b.Scores[i]
			break
		}
	}
	if s == nil {
		return avroLong(dst, scoreNull)
	}
	if s.Keys != nil {
		vals := s.Values[row*s.Width : (row+1)*s.Width]
		dst = avroLong(dst, scoreMap)
		dst = avroLong(dst, int64(len(vals)))
		for j, v := range vals {
			dst = avroString(dst, s.Keys[j])
			dst = appendAvroNumber(dst, v, s.Bits)
		}
		return append(dst, 0)
	}
	if s.Strings != nil {
		vals := s.Strings[row*s.Width : (row+1)*s.Width]
		if s.Width == 1 {
			return avroString(avroLong(dst, scoreString), vals[0])
		}
		dst = avroLong(dst, scoreArray)
		dst = avroLong(dst, int64(len(vals)))
		for _, v := range vals {
			dst = avroString(avroLong(dst, scoreString), v)
		}
		return append(dst, 0)
	}
	vals := s.Values[row*s.Width : (row+1)*s.Width]
	if s.Width == 1 {
		return appendAvroNumber(dst, vals[0], s.Bits)
	}
	dst = avroLong(dst, scoreArray)
	dst = avroLong(dst, int64(len(vals)))
	for _, v := range vals {
		dst = appendAvroNumber(dst, v, s.Bits)
	}
	return append(dst, 0)
}

// appendAvroNumber appends a number as the union branch null (non-finite,
// as JSON writes null), float (bits 32) or double.
func appendAvroNumber(dst []byte, v float64, bits int) []byte {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return avroLong(dst, scoreNull)
	case bits == 32:
		return binary.LittleEndian.AppendUint32(avroLong(dst, scoreFloat), math.Float32bits(float32(v)))
	}
	return binary.LittleEndian.AppendUint64(avroLong(dst, scoreDouble), math.Float64bits(v))
}

// appendAvroPass appends a passthrough value, raw JSON text, as passUnion.
func appendAvroPass(dst []byte, raw string) []byte {
	if raw == "" {
		return avroLong(dst, passNull)
	}
	switch c := raw[0]; {
	case c == 't' || c == 'f':
		dst = avroLong(dst, passBool)
		if c == 't' {
			return append(dst, 1)
		}
		return append(dst, 0)
	case c == 'n':
		return avroLong(dst, passNull)
	case c == '"':
		var s string
		if err := json.Unmarshal([]byte(raw), &s); err == nil {
			return avroString(avroLong(dst, passString), s)
		}
	case c == '-' || c >= '0' && c <= '9':
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
			return avroLong(avroLong(dst, passLong), n)
		}
		if f, err := strconv.ParseFloat(raw, 64); err == nil {
			return binary.LittleEndian.AppendUint64(avroLong(dst, passDouble), math.Float64bits(f))
		}
	}
	// An object, an array, or a value the decoder kept as written that
	// the cases above do not take (a number beyond float64): its JSON text.
	return avroString(avroLong(dst, passJSON), string(AppendRawJSON(nil, raw)))
}

// avroLong appends v as an Avro int or long (zigzag varint).
func avroLong(dst []byte, v int64) []byte {
	return binary.AppendUvarint(dst, uint64(v<<1^v>>63))
}

// avroString appends s as an Avro string in valid UTF-8.
func avroString(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	dst = avroLong(dst, int64(len(s)))
	return append(dst, s...)
}
