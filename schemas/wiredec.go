package schemas

import (
	"context"
	"errors"
	"math"
	"strconv"
	"time"
)

// wireDecoder is the part of a Decoder that reads Confluent-framed Avro or
// Protobuf events: the writer schemas met so far, compiled against the
// spec, and the row scratch the binary formats need beyond the JSON one.
type wireDecoder struct {
	format Format
	src    SchemaSource
	policy string
	wait   time.Duration
	// progs holds, per schema id, the compiled reader or why the schema
	// cannot be read (a *DecodeError, the same for each of its events).
	progs map[int]*wireProg
	// passBufs holds passthrough values rendered as JSON, per passthrough.
	passBufs [][]byte
	ar       avroReader
	idx      []int
	// sleep waits between lookups under the wait policy; tests replace it.
	sleep func(time.Duration)
}

type wireProg struct {
	avro  *avroProgram
	proto *protoSchema
	err   *DecodeError
	// retryAt, when set, is when an id whose source could not be reached
	// is asked again; until then its events fail at once.
	retryAt time.Time
}

// unreachableRetry is how long an id whose source could not be reached
// fails at once before it is asked again.
const unreachableRetry = time.Second

func newWireDecoder(d *Decoder) *wireDecoder {
	return &wireDecoder{
		format:   d.spec.Format,
		src:      d.spec.SchemaSource(),
		policy:   d.spec.Registry.Unreachable,
		wait:     d.spec.Registry.MaxWait,
		progs:    map[int]*wireProg{},
		passBufs: make([][]byte, len(d.spec.Passthrough)),
		sleep:    time.Sleep,
	}
}

// wireFail records why the current event failed and returns false.
func (d *Decoder) wireFail(r Reason, field, msg string) bool {
	if d.failField == "" {
		d.failField = field
	}
	return d.sc.fail(r, msg)
}

// prog returns the compiled reader of schema id, looking it up and
// compiling it the first time.
func (w *wireDecoder) prog(d *Decoder, id int) *wireProg {
	if p, ok := w.progs[id]; ok && (p.retryAt.IsZero() || time.Now().Before(p.retryAt)) {
		return p
	}
	ws, err := w.lookup(id)
	p := &wireProg{}
	switch {
	case errors.Is(err, ErrUnknownSchema):
		p.err = &DecodeError{Reason: ReasonUnknownSchema, Msg: err.Error()}
	case err != nil:
		// Unreachable after the wait: these events are dead letters, and
		// the id is asked again a second later.
		p.err = &DecodeError{Reason: ReasonUnknownSchema, Msg: err.Error()}
		p.retryAt = time.Now().Add(unreachableRetry)
	case w.format == FormatAvro && ws.Type != SchemaTypeAvro && ws.Type != "":
		p.err = &DecodeError{Reason: ReasonSchemaMismatch, Msg: "schema " + strconv.Itoa(id) + " is " + ws.Type + ", not AVRO"}
	case w.format == FormatProtobuf && ws.Type != SchemaTypeProtobuf:
		p.err = &DecodeError{Reason: ReasonSchemaMismatch, Msg: "schema " + strconv.Itoa(id) + " is " + ws.Type + ", not PROTOBUF"}
	case w.format == FormatAvro:
		p.avro, p.err = d.compileAvro(ws.Text)
	default:
		p.proto, p.err = d.compileProto(ws)
	}
	w.progs[id] = p
	return p
}

// lookup asks the source for schema id, retrying an unreachable one for up
// to the wait under the wait policy.
func (w *wireDecoder) lookup(id int) (WriterSchema, error) {
	deadline := time.Now().Add(w.wait)
	delay := 100 * time.Millisecond
	for {
		ws, err := w.src.Schema(context.Background(), id)
		if err == nil || !errors.Is(err, ErrUnreachable) || w.policy != UnreachableWait || time.Now().After(deadline) {
			return ws, err
		}
		w.sleep(delay)
		delay = min(2*delay, 2*time.Second)
	}
}

// wireRow decodes one framed event into the row scratch.
func (d *Decoder) wireRow(m *Message) (tsMillis int64, defaulted int, ok bool) {
	clear(d.seen)
	clear(d.passSet)
	clear(d.lookupSet)
	d.r = rowState{ts: m.Time.UnixMilli()}
	id, body, err := ParseFrame(m.Value)
	if err != nil {
		return 0, 0, d.wireFail(ReasonMalformed, "", err.Error())
	}
	p := d.wire.prog(d, id)
	if p.err != nil {
		return 0, 0, d.wireFail(p.err.Reason, p.err.Field, p.err.Msg)
	}
	if p.avro != nil {
		ok = d.avroRow(p.avro, body)
	} else {
		ok = d.protoRow(p.proto, body)
	}
	if !ok {
		return 0, 0, false
	}
	return d.finishRow()
}

// finishRow checks that the event set everything the spec requires and
// fills the defaults, as the JSON path does after its last field.
func (d *Decoder) finishRow() (tsMillis int64, defaulted int, ok bool) {
	if !d.r.idSet {
		return 0, 0, d.wireFail(ReasonMissingField, d.spec.ID, "the event id is missing")
	}
	if d.spec.Key != "" && !d.r.keySet {
		return 0, 0, d.wireFail(ReasonMissingField, d.spec.Key, "the entity key is missing")
	}
	for i, set := range d.lookupSet {
		if !set {
			return 0, 0, d.wireFail(ReasonMissingField, d.lookups[i], "a feature-set key field is missing")
		}
	}
	for i := 0; i < len(d.seen); i++ {
		if i+8 <= len(d.seen) && allSeen8(d.seen, i) {
			i += 7
			continue
		}
		if d.seen[i] {
			continue
		}
		if d.required[i] {
			return 0, 0, d.wireFail(ReasonMissingField, d.spec.Features[i].Name, "required feature is missing or null")
		}
		d.row[i] = d.defaults[i]
		defaulted++
	}
	return d.r.ts, defaulted, true
}

// passBuf returns the JSON buffer of the passthrough field sl, or false
// when sl is not one.
func (w *wireDecoder) passBuf(sl slot) (*[]byte, bool) {
	if sl.kinds&slotPass == 0 {
		return nil, false
	}
	return &w.passBufs[sl.idx], true
}

func (d *Decoder) setPass(sl slot, js []byte) {
	d.pass[sl.idx] = js
	d.passSet[sl.idx] = true
}

// setText sets the id, key and feature-set key fields sl names to txt.
func (d *Decoder) setText(sl slot, txt []byte) {
	if sl.kinds&slotID != 0 {
		d.idBuf = append(d.idBuf[:0], txt...)
		d.r.idSet = true
	}
	if sl.kinds&slotKey != 0 {
		d.keyBuf = append(d.keyBuf[:0], txt...)
		d.r.keySet = true
	}
	if sl.kinds&slotLookup != 0 {
		d.setLookup(sl, txt)
	}
}

// setFloat sets field sl to a number read as a float of bits 32 or 64.
func (d *Decoder) setFloat(sl slot, v float64, bits int) bool {
	if sl.kinds&slotFeature != 0 {
		i := sl.idx
		// A typed float64 feature is also a float32 matrix column: beyond
		// float32's range it is non-finite there, as in JSON.
		overflows := d.kinds[i] == kindFloat32 || d.tc != nil && d.kinds[i] == kindFloat64
		if math.IsNaN(v) || math.IsInf(v, 0) || math.IsInf(float64(float32(v)), 0) && overflows {
			f := &d.spec.Features[i]
			if d.spec.Limits.NonFinite == NonFiniteDefault && f.Default != nil {
				d.seen[i] = false
				return true
			}
			return d.wireFail(ReasonNonFinite, f.Name, "value is NaN or infinite")
		}
		if d.tc != nil {
			return d.tc.setFloat(d, i, v)
		}
		d.row[i] = float32(v)
		d.seen[i] = true
		return true
	}
	if sl.kinds&slotPass != 0 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return d.wireFail(ReasonNonFinite, d.fieldName(sl), "passthrough value holds NaN or Infinity, which JSON cannot carry")
		}
		buf := &d.wire.passBufs[sl.idx]
		*buf = appendJSONFloat((*buf)[:0], v, bits)
		d.setPass(sl, *buf)
	}
	return true
}

// setInt sets field sl to an integer; unit says how it counts time.
func (d *Decoder) setInt(sl slot, v int64, unit timeUnit) bool {
	if sl.kinds&slotFeature != 0 {
		if d.tc != nil {
			return d.tc.setInt(d, sl.idx, v)
		}
		d.row[sl.idx] = float32(v)
		d.seen[sl.idx] = true
		return true
	}
	if sl.kinds&slotTime != 0 && sl.kinds&(slotID|slotKey) == 0 {
		d.r.ts = unit.toMillis(v)
		d.r.tsSet = true
	}
	if sl.kinds&(slotID|slotKey|slotLookup|slotPass) != 0 {
		var tmp [20]byte
		txt := strconv.AppendInt(tmp[:0], v, 10)
		d.setText(sl, txt)
		if sl.kinds&slotPass != 0 {
			buf := &d.wire.passBufs[sl.idx]
			*buf = append((*buf)[:0], txt...)
			d.setPass(sl, *buf)
		}
	}
	return true
}

// setString sets field sl to a string value.
func (d *Decoder) setString(sl slot, s []byte) bool {
	if sl.kinds&slotTime != 0 && sl.kinds&(slotID|slotKey) == 0 {
		t, err := time.Parse(time.RFC3339Nano, string(s))
		if err != nil {
			return d.wireFail(ReasonTypeMismatch, d.fieldName(sl), "event time is not RFC 3339: "+strconv.Quote(string(s)))
		}
		d.r.ts = t.UnixMilli()
		d.r.tsSet = true
	}
	if sl.kinds&slotFeature != 0 {
		if d.tc == nil {
			return d.wireFail(ReasonTypeMismatch, d.fieldName(sl), "expected "+string(d.spec.Features[sl.idx].Type))
		}
		if !d.tc.setString(d, sl.idx, s) {
			return false
		}
	}
	d.setText(sl, s)
	if sl.kinds&slotPass != 0 {
		buf := &d.wire.passBufs[sl.idx]
		*buf = appendJSONString((*buf)[:0], s)
		d.setPass(sl, *buf)
	}
	return true
}

// setBool sets field sl to a boolean.
func (d *Decoder) setBool(sl slot, v bool) bool {
	if sl.kinds&slotFeature != 0 {
		if d.tc != nil {
			return d.tc.setBool(d, sl.idx, v)
		}
		d.row[sl.idx] = 0
		if v {
			d.row[sl.idx] = 1
		}
		d.seen[sl.idx] = true
		return true
	}
	if sl.kinds&slotPass != 0 {
		buf := &d.wire.passBufs[sl.idx]
		*buf = strconv.AppendBool((*buf)[:0], v)
		d.setPass(sl, *buf)
	}
	return true
}

// setNull marks field sl null: a feature takes its default, a passthrough
// field is an Arrow null (left out of the scored event, as an absent JSON
// field is: a binary event cannot tell absent from null), an id or key
// stays missing.
func (d *Decoder) setNull(sl slot) bool {
	if sl.kinds&slotFeature != 0 {
		d.seen[sl.idx] = false
	}
	if sl.kinds&slotPass != 0 {
		d.passSet[sl.idx] = false
	}
	return true
}

// appendJSONFloat appends v as a JSON number, with the fewest digits that
// read back as the same float of bits 32 or 64; NaN and infinities, which
// JSON cannot carry, become null.
func appendJSONFloat(dst []byte, v float64, bits int) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(dst, "null"...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, bits)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	// Printable ASCII other than '"' and '\\' goes as it is: the common
	// case, copied in one append.
	plain := 0
	for plain < len(s) && s[plain] >= 0x20 && s[plain] < 0x7f && s[plain] != '"' && s[plain] != '\\' {
		plain++
	}
	dst = append(dst, s[:plain]...)
	for _, c := range string(s[plain:]) {
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', byte(c))
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case c == 0xfffd:
			dst = append(dst, "\ufffd"...)
		default:
			dst = append(dst, string(c)...)
		}
	}
	return append(dst, '"')
}
