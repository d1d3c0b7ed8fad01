package schemas

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// timestampName is the well-known timestamp message, read as epoch
// milliseconds for the event time and as RFC 3339 for a passthrough field.
const timestampName = "google.protobuf.Timestamp"

// protoSchema is one Protobuf writer schema: its file, and a reader per
// message-index list met so far.
type protoSchema struct {
	file  protoreflect.FileDescriptor
	progs map[string]*protoProgram
	errs  map[string]*DecodeError
	// first is the reader of message-index list [0], the single byte 0
	// nearly every event starts with, once it compiled.
	first *protoProgram
}

// protoOp reads one field of a message.
type protoOp struct {
	sl       slot
	known    bool
	kind     protoreflect.Kind
	list     bool
	ts       bool
	msg      protoreflect.MessageDescriptor // a passthrough message field
	enum     protoreflect.EnumDescriptor
	presence bool
	// float32 is set for a float field read into a float feature, the
	// common case, which protoRow reads inline.
	float32 bool
	// array is set for a repeated field read into a typed array feature.
	array bool
	// text is set for a string field that is only the event id, the key
	// or a feature-set key field: its bytes are the text, read inline.
	text bool
	// passText is set for a string field that is only passed through: its
	// JSON string is written inline.
	passText bool
}

// protoProgram reads the events of one message type of a writer schema.
type protoProgram struct {
	// ops is indexed by field number up to maxDenseField; sparse holds
	// larger numbers.
	ops    []protoOp
	sparse map[protowire.Number]*protoOp
	// zero lists the fields without presence: proto3 leaves a zero value
	// off the wire, so they start each event at zero.
	zero []*protoOp
	// lists are the repeated passthrough fields, rendered as JSON arrays.
	lists []*protoOp
	// arrays are the repeated fields read into typed array features.
	arrays []*protoOp
	// f32 is indexed by field number below maxDenseField: the feature a
	// float field fills when it is read inline (op.float32), else -1. It
	// keeps the common field out of the wider ops table.
	f32 []int32
	// floats lists the float32 fields in field-number order, the order
	// writers put them on the wire, and floatAt is indexed by field number
	// below maxDenseField: a field's place in floats, else -1.
	floats  []protoFloat
	floatAt []int32
	// zeroF32 are the features of the float32 fields without presence,
	// which start each event at zero (the rest of zero, set directly), as
	// runs of consecutive features; trues is as long as the longest run
	// and all true, copied over the run's seen flags.
	zeroF32  []int32
	zeroRuns []featureRun
	trues    []bool
}

// featureRun is the features lo to hi-1.
type featureRun struct{ lo, hi int32 }

const maxDenseField = 1024

// protoFloat is a float32 field as protoFloats expects it: its tag's
// bytes (one or two: field numbers stay below maxDenseField) in the low
// bytes of tag, mask covering them, shift their length in bits, size the
// field's length on the wire, and the feature it fills.
type protoFloat struct {
	tag, mask   uint64
	shift, size uint8
	idx         int32
	// num is the field number; seq counts the fields from this one on
	// whose numbers and features both go up by one and whose tags are as
	// long as this one's (at least 1): a run that floatSeq reads in one
	// loop.
	num, seq int32
	// tags holds, for a run of two-byte tags, the tags of its seq fields
	// as little-endian words.
	tags []uint16
}

func (p *protoProgram) op(n protowire.Number) *protoOp {
	if int(n) < len(p.ops) {
		if op := &p.ops[n]; op.known {
			return op
		}
		return nil
	}
	return p.sparse[n]
}

// FileDescriptorSet parses a serialized FileDescriptorSet and returns the
// descriptor of its last file, the schema's own (protoc writes the file it
// compiled after the imports --include_imports adds).
func FileDescriptorSet(b []byte) (protoreflect.FileDescriptor, error) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("reading FileDescriptorSet: %w", err)
	}
	if len(set.File) == 0 {
		return nil, errors.New("the FileDescriptorSet holds no file")
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return nil, fmt.Errorf("reading FileDescriptorSet (was it written with --include_imports?): %w", err)
	}
	return files.FindFileByPath(set.File[len(set.File)-1].GetName())
}

// MessageAt returns the message that a message-index list names in file.
func MessageAt(file protoreflect.FileDescriptor, idx []int) (protoreflect.MessageDescriptor, error) {
	msgs := file.Messages()
	var md protoreflect.MessageDescriptor
	for _, i := range idx {
		if i >= msgs.Len() {
			return nil, fmt.Errorf("message index %v names no message of %s", idx, file.Path())
		}
		md = msgs.Get(i)
		msgs = md.Messages()
	}
	if md == nil {
		return nil, errors.New("empty message-index list")
	}
	return md, nil
}

// compileProto reads a Protobuf writer schema.
func (d *Decoder) compileProto(ws WriterSchema) (*protoSchema, *DecodeError) {
	if len(ws.Descriptors) == 0 {
		return nil, &DecodeError{Reason: ReasonUnknownSchema, Msg: "schema " + strconv.Itoa(ws.ID) +
			" has no descriptors (a .proto source the schema source did not compile); give its FileDescriptorSet (protoc --include_imports --descriptor_set_out) in registry.files"}
	}
	fd, err := FileDescriptorSet(ws.Descriptors)
	if err != nil {
		return nil, &DecodeError{Reason: ReasonSchemaMismatch, Msg: "writer schema: " + err.Error()}
	}
	return &protoSchema{file: fd, progs: map[string]*protoProgram{}, errs: map[string]*DecodeError{}}, nil
}

// program returns the reader of the message idx names.
func (d *Decoder) protoProgram(s *protoSchema, idx []int) (*protoProgram, *DecodeError) {
	var kb [64]byte
	key := kb[:0]
	for _, i := range idx {
		key = strconv.AppendInt(append(key, '.'), int64(i), 10)
	}
	if p, ok := s.progs[string(key)]; ok {
		return p, nil
	}
	if e, ok := s.errs[string(key)]; ok {
		return nil, e
	}
	if len(s.progs)+len(s.errs) > 256 {
		return nil, &DecodeError{Reason: ReasonSchemaMismatch, Msg: "too many message types in one schema"}
	}
	md, err := MessageAt(s.file, idx)
	var p *protoProgram
	var e *DecodeError
	if err != nil {
		e = &DecodeError{Reason: ReasonSchemaMismatch, Msg: err.Error()}
	} else {
		p, e = d.compileMessage(md)
	}
	if e != nil {
		s.errs[string(key)] = e
		return nil, e
	}
	s.progs[string(key)] = p
	return p, nil
}

func (d *Decoder) compileMessage(md protoreflect.MessageDescriptor) (*protoProgram, *DecodeError) {
	p := &protoProgram{sparse: map[protowire.Number]*protoOp{}}
	have := map[string]bool{}
	fields := md.Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		name := string(f.Name())
		sl, known := d.slots[name]
		if !known {
			continue
		}
		op := &protoOp{sl: sl, known: true, kind: f.Kind(), list: f.IsList(), presence: f.HasPresence()}
		if f.IsMap() {
			return nil, &DecodeError{Reason: ReasonSchemaMismatch, Field: name, Msg: "writer field is a map, which streamscore does not read"}
		}
		if f.Kind() == protoreflect.MessageKind || f.Kind() == protoreflect.GroupKind {
			op.ts = f.Message().FullName() == timestampName
			op.msg = f.Message()
		}
		if f.Kind() == protoreflect.EnumKind {
			op.enum = f.Enum()
		}
		if msg := protoFits(op, d); msg != "" {
			return nil, &DecodeError{Reason: ReasonSchemaMismatch, Field: name, Msg: "writer field " + msg}
		}
		have[name] = true
		op.array = op.list && sl.kinds&slotFeature != 0
		op.text = !op.list && op.kind == protoreflect.StringKind && sl.kinds&^(slotID|slotKey|slotLookup) == 0
		op.passText = !op.list && op.kind == protoreflect.StringKind && sl.kinds == slotPass
		op.float32 = !op.list && op.kind == protoreflect.FloatKind && sl.kinds == slotFeature && d.kinds[sl.idx] <= kindFloat64
		n := f.Number()
		if int(n) < maxDenseField {
			if int(n) >= len(p.ops) {
				p.ops = append(p.ops, make([]protoOp, int(n)+1-len(p.ops))...)
			}
			p.ops[n] = *op
			op = &p.ops[n]
		} else {
			p.sparse[n] = op
		}
	}
	// Pointers into p.ops are taken once it stops growing.
	p.f32 = make([]int32, len(p.ops))
	for i := range p.ops {
		p.f32[i] = -1
		if op := &p.ops[i]; op.known {
			if op.float32 {
				p.f32[i] = int32(op.sl.idx)
			}
			p.collect(op, d.tc == nil)
		}
	}
	for _, op := range p.sparse {
		p.collect(op, d.tc == nil)
	}
	zero := slices.Sorted(slices.Values(p.zeroF32))
	for j := 0; j < len(zero); {
		k := j + 1
		for k < len(zero) && zero[k] == zero[k-1]+1 {
			k++
		}
		p.zeroRuns = append(p.zeroRuns, featureRun{zero[j], zero[k-1] + 1})
		if n := k - j; n > len(p.trues) {
			p.trues = make([]bool, n)
			for t := range p.trues {
				p.trues[t] = true
			}
		}
		j = k
	}
	p.floatAt = make([]int32, len(p.f32))
	for n, i := range p.f32 {
		p.floatAt[n] = -1
		if i < 0 {
			continue
		}
		p.floatAt[n] = int32(len(p.floats))
		tag := protowire.AppendTag(nil, protowire.Number(n), protowire.Fixed32Type)
		f := protoFloat{shift: uint8(8 * len(tag)), size: uint8(len(tag) + 4), idx: i, num: int32(n), seq: 1}
		for j, c := range tag {
			f.tag |= uint64(c) << (8 * j)
			f.mask |= 0xff << (8 * j)
		}
		p.floats = append(p.floats, f)
	}
	for t := len(p.floats) - 2; t >= 0; t-- {
		f, g := &p.floats[t], &p.floats[t+1]
		if g.num == f.num+1 && g.idx == f.idx+1 && g.size == f.size {
			f.seq = g.seq + 1
		}
	}
	tags := make([]uint16, len(p.floats))
	for t := range p.floats {
		tags[t] = uint16(p.floats[t].tag)
	}
	for t := range p.floats {
		if f := &p.floats[t]; f.size == 6 && f.seq > 1 {
			f.tags = tags[t : t+int(f.seq)]
		}
	}
	if e := d.checkRequired(have); e != nil {
		return nil, e
	}
	return p, nil
}

// collect files op among the fields each event starts with; plain says
// the decoder reads no typed features, where a float32 field's zero is a
// plain store.
func (p *protoProgram) collect(op *protoOp, plain bool) {
	switch {
	case op.array:
		p.arrays = append(p.arrays, op)
	case op.list:
		p.lists = append(p.lists, op)
	case op.presence:
	case op.float32 && plain:
		p.zeroF32 = append(p.zeroF32, int32(op.sl.idx))
	default:
		p.zero = append(p.zero, op)
	}
}

// protoFits returns "" when op's values can fill its field, else what is
// wrong.
func protoFits(op *protoOp, d *Decoder) string {
	sl := op.sl
	k := op.kind
	numeric := k != protoreflect.BoolKind && k != protoreflect.StringKind && k != protoreflect.BytesKind &&
		k != protoreflect.MessageKind && k != protoreflect.GroupKind && k != protoreflect.EnumKind
	integer := numeric && k != protoreflect.FloatKind && k != protoreflect.DoubleKind
	if sl.kinds&slotPass != 0 && sl.kinds&^(slotPass|slotLookup) == 0 {
		if sl.kinds&slotLookup != 0 && (op.list || op.msg != nil) {
			return "is not a string or number (a feature-set key field)"
		}
		return ""
	}
	if sl.kinds&slotFeature != 0 && d.tc != nil {
		return protoFitsTyped(op, &d.spec.Features[sl.idx])
	}
	if op.list {
		return "is repeated; only a passthrough field may be"
	}
	if sl.kinds&slotFeature != 0 {
		switch d.kinds[sl.idx] {
		case kindBool:
			if k != protoreflect.BoolKind {
				return "is not bool (the feature is bool)"
			}
		case kindInt64:
			if !integer {
				return "is not an integer (the feature is int64)"
			}
		default:
			if !numeric {
				return "is not a number (the feature is " + string(d.spec.Features[sl.idx].Type) + ")"
			}
		}
		return ""
	}
	if sl.kinds&slotTime != 0 && sl.kinds&(slotID|slotKey) == 0 {
		if !op.ts && !integer && k != protoreflect.StringKind {
			return "is not a google.protobuf.Timestamp, an integer or a string (the event time)"
		}
		return ""
	}
	if !integer && k != protoreflect.StringKind && k != protoreflect.EnumKind {
		return "is not a string, an integer or an enum (an id or key)"
	}
	return ""
}

// protoFitsTyped returns "" when the values of op's field can feed the
// typed feature f, else what is wrong: an array feature takes a repeated
// field, every other feature a singular one.
func protoFitsTyped(op *protoOp, f *Feature) string {
	want, what := typedWant(f)
	if f.Length > 0 {
		if !op.list {
			return "is not repeated (the feature is " + describe(f) + ")"
		}
		what = "a repeated " + what
	} else if op.list {
		return "is repeated (the feature is " + describe(f) + ")"
	}
	k := op.kind
	integer := false
	switch k {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind, protoreflect.Uint32Kind, protoreflect.Fixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		integer = true
	}
	ok := false
	switch want {
	case wireString:
		ok = k == protoreflect.StringKind || k == protoreflect.EnumKind
	case wireBool:
		ok = k == protoreflect.BoolKind
	case wireInteger:
		ok = integer
	default:
		ok = integer || k == protoreflect.FloatKind || k == protoreflect.DoubleKind
	}
	if !ok {
		return "is not " + what
	}
	return ""
}

// protoRow reads one framed Protobuf body (message indexes, then the
// message) into the decoder's row scratch.
func (d *Decoder) protoRow(s *protoSchema, body []byte) bool {
	var (
		p *protoProgram
		b []byte
	)
	if len(body) > 0 && body[0] == 0 && s.first != nil {
		p, b = s.first, body[1:]
	} else {
		idx, rest, err := ParseMessageIndexes(d.wire.idx[:0], body)
		d.wire.idx = idx
		if err != nil {
			return d.wireFail(ReasonMalformed, "", err.Error())
		}
		var e *DecodeError
		if p, e = d.protoProgram(s, idx); e != nil {
			return d.wireFail(e.Reason, e.Field, e.Msg)
		}
		if len(idx) == 1 && idx[0] == 0 {
			s.first = p
		}
		b = rest
	}
	row, seen := d.row, d.seen
	for _, r := range p.zeroRuns {
		clear(row[r.lo:r.hi])
		copy(seen[r.lo:r.hi], p.trues)
	}
	for _, op := range p.zero {
		d.protoZero(op)
	}
	for _, op := range p.lists {
		buf := &d.wire.passBufs[op.sl.idx]
		*buf = append((*buf)[:0], '[')
	}
	for _, op := range p.arrays {
		d.tc.startArray(op.sl.idx)
	}
	// The loop walks b by index: reslicing b per field costs more than the
	// float feature it reads.
	f32, tc := p.f32, d.tc
	for pos := 0; pos < len(b); {
		if tc == nil {
			if pos = protoFloats(b, pos, p, row, seen); pos == len(b) {
				break
			}
		}
		var (
			num protowire.Number
			typ protowire.Type
		)
		if c := b[pos]; c < 0x80 {
			num, typ = protowire.Number(c>>3), protowire.Type(c&7)
			pos++
		} else if pos+1 < len(b) && b[pos+1] < 0x80 {
			v := uint32(c&0x7f) | uint32(b[pos+1])<<7
			num, typ = protowire.Number(v>>3), protowire.Type(v&7)
			pos += 2
		} else {
			var n int
			if num, typ, n = protowire.ConsumeTag(b[pos:]); n < 0 {
				return d.wireFail(ReasonMalformed, "", "bad field tag: "+protowire.ParseError(n).Error())
			}
			pos += n
		}
		// f32[0] is -1: field number 0 fails below.
		if typ == protowire.Fixed32Type && uint(num) < uint(len(f32)) && pos+4 <= len(b) {
			if i := f32[num]; i >= 0 {
				w := b[pos : pos+4 : pos+4]
				bits := uint32(w[0]) | uint32(w[1])<<8 | uint32(w[2])<<16 | uint32(w[3])<<24
				if bits&0x7f800000 != 0x7f800000 { // finite
					v := math.Float32frombits(bits)
					row[i] = v
					seen[i] = true
					if tc != nil {
						tc.feats[i].f64 = float64(v)
					}
					pos += 4
					continue
				}
			}
		}
		if num == 0 {
			return d.wireFail(ReasonMalformed, "", "field number 0")
		}
		op := p.op(num)
		if op != nil && (op.text || op.passText) && typ == protowire.BytesType && pos < len(b) && b[pos] < 0x80 && pos+1+int(b[pos]) <= len(b) {
			// An id, a key or a passed-through string of under 128 bytes:
			// its text, at once.
			end := pos + 1 + int(b[pos])
			if op.text {
				d.setText(op.sl, b[pos+1:end])
			} else {
				buf := &d.wire.passBufs[op.sl.idx]
				*buf = appendJSONString((*buf)[:0], b[pos+1:end])
				d.setPass(op.sl, *buf)
			}
			pos = end
			continue
		}
		var n int
		if op == nil {
			if n = protowire.ConsumeFieldValue(num, typ, b[pos:]); n < 0 {
				return d.wireFail(ReasonMalformed, "", "field "+strconv.Itoa(int(num))+": "+protowire.ParseError(n).Error())
			}
		} else if n = d.protoValue(op, typ, b[pos:]); n < 0 {
			return false
		}
		pos += n
	}
	for _, op := range p.lists {
		buf := &d.wire.passBufs[op.sl.idx]
		*buf = append(*buf, ']')
		d.setPass(op.sl, *buf)
	}
	for _, op := range p.arrays {
		// proto3 cannot tell an empty repeated field from an absent one:
		// no elements means absent (the default, or missing_field).
		if !d.tc.finishArray(d, op.sl.idx, true) {
			return false
		}
	}
	return true
}

// protoFloats reads, from b[pos:], the run of fields that are finite
// float32 values of the features p.f32 names, in any order, as protoRow
// would, and returns where the first other field starts: most of a
// standard event is such a run.
func protoFloats(b []byte, pos int, p *protoProgram, row []float32, seen []bool) int {
	// The fields in the order writers put them (by number), read by
	// floatRun; where a field is left out (null, or proto3's zero), the
	// next one's place is looked up.
	for pos+5 <= len(b) {
		num := uint(b[pos]&0x7f) >> 3
		if b[pos]&0x80 != 0 {
			num = (uint(b[pos]&0x7f) | uint(b[pos+1]&0x7f)<<7) >> 3
		}
		if num >= uint(len(p.floatAt)) || p.floatAt[num] < 0 {
			break
		}
		next := floatRun(b, pos, p.floats, int(p.floatAt[num]), row, seen)
		if next == pos {
			break
		}
		pos = next
	}
	return pos
}

// floatRun reads, from b[pos:], fields floats[t], floats[t+1], … for as
// long as each is next on the wire with a finite value, and returns where
// it stopped. Every floats[i].idx is below len(row) and len(seen)
// (compileMessage makes them from the spec's features).
func floatRun(b []byte, pos int, floats []protoFloat, t int, row []float32, seen []bool) int {
	for uint(t) < uint(len(floats)) {
		f := &floats[t]
		if f.seq > 1 {
			next, n := floatSeq(b, pos, f, row[f.idx:f.idx+f.seq], seen[f.idx:f.idx+f.seq])
			pos, t = next, t+n
			if n < int(f.seq) {
				break
			}
			continue
		}
		if pos+int(f.size) > len(b) {
			break
		}
		tag := uint64(b[pos])
		if f.shift == 16 {
			tag |= uint64(b[pos+1]) << 8
		}
		bits := le32(b, pos+int(f.shift>>3))
		if tag != f.tag || bits&0x7f800000 == 0x7f800000 {
			break
		}
		row[f.idx] = math.Float32frombits(bits)
		seen[f.idx] = true
		pos += int(f.size)
		t++
	}
	return pos
}

// floatSeq reads, from b[pos:], the fields of f's run (len(row) of them,
// numbered from f.num, filling row and seen in order) for as long as each
// is next on the wire with a finite value, and returns where it stopped and
// how many it read. A one-byte tag is computed from the field number, a
// two-byte one taken from f.tags; either is compared in one step.
func floatSeq(b []byte, pos int, f *protoFloat, row []float32, seen []bool) (int, int) {
	seen = seen[:len(row)]
	k := 0
	if f.size == 5 {
		// One tag byte: field numbers below 16.
		tag := byte(f.num)<<3 | byte(protowire.Fixed32Type)
		for ; k < len(row) && pos+5 <= len(b); k++ {
			bits := le32(b, pos+1)
			if b[pos] != tag || bits&0x7f800000 == 0x7f800000 {
				break
			}
			row[k] = math.Float32frombits(bits)
			seen[k] = true
			pos += 5
			tag += 8
		}
		return pos, k
	}
	// Two tag bytes: the varint of num<<3|5, low seven bits first, from
	// the table compileMessage built.
	tags := f.tags[:len(row)]
	for ; k < len(row) && pos+6 <= len(b); k++ {
		bits := le32(b, pos+2)
		if le16(b, pos) != tags[k] || bits&0x7f800000 == 0x7f800000 {
			break
		}
		row[k] = math.Float32frombits(bits)
		seen[k] = true
		pos += 6
	}
	return pos, k
}

// protoZero sets a field without presence to its zero value.
func (d *Decoder) protoZero(op *protoOp) {
	switch {
	case op.text:
		d.setText(op.sl, nil)
	case op.ts || op.msg != nil:
		d.setNull(op.sl)
	case op.kind == protoreflect.StringKind || op.kind == protoreflect.BytesKind:
		d.setString(op.sl, nil)
	case op.kind == protoreflect.BoolKind:
		d.setBool(op.sl, false)
	case op.kind == protoreflect.EnumKind:
		d.protoEnum(op, 0)
	case op.kind == protoreflect.FloatKind || op.kind == protoreflect.DoubleKind:
		d.setFloat(op.sl, 0, 64)
	default:
		d.setInt(op.sl, 0, unitNone)
	}
}

func (d *Decoder) protoEnum(op *protoOp, v int32) bool {
	if ev := op.enum.Values().ByNumber(protoreflect.EnumNumber(v)); ev != nil {
		return d.setString(op.sl, []byte(ev.Name()))
	}
	var tmp [12]byte
	return d.setString(op.sl, strconv.AppendInt(tmp[:0], int64(v), 10))
}

// wireTypeOf is the wire type of a scalar kind.
func wireTypeOf(k protoreflect.Kind) protowire.Type {
	switch k {
	case protoreflect.FloatKind, protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind:
		return protowire.Fixed32Type
	case protoreflect.DoubleKind, protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		return protowire.Fixed64Type
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind:
		return protowire.BytesType
	case protoreflect.GroupKind:
		return protowire.StartGroupType
	}
	return protowire.VarintType
}

// protoValue reads the value of op's field from b and returns the bytes it
// took, or -1 with the failure set.
func (d *Decoder) protoValue(op *protoOp, typ protowire.Type, b []byte) int {
	want := wireTypeOf(op.kind)
	if op.list && typ == protowire.BytesType && want != protowire.BytesType {
		// A packed repeated scalar.
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			d.wireFail(ReasonMalformed, d.fieldName(op.sl), protowire.ParseError(n).Error())
			return -1
		}
		for len(v) > 0 {
			k := d.protoScalar(op, want, v)
			if k < 0 {
				return -1
			}
			v = v[k:]
		}
		return n
	}
	if typ != want {
		d.wireFail(ReasonMalformed, d.fieldName(op.sl), "wire type "+strconv.Itoa(int(typ))+" does not match the field's type "+op.kind.String())
		return -1
	}
	return d.protoScalar(op, typ, b)
}

// protoScalar reads one value of wire type typ.
func (d *Decoder) protoScalar(op *protoOp, typ protowire.Type, b []byte) int {
	fail := func(n int) int {
		d.wireFail(ReasonMalformed, d.fieldName(op.sl), protowire.ParseError(n).Error())
		return -1
	}
	var (
		n  int
		ok bool
	)
	switch typ {
	case protowire.VarintType:
		var v uint64
		if len(b) > 0 && b[0] < 0x80 {
			v, n = uint64(b[0]), 1
		} else if v, n = protowire.ConsumeVarint(b); n < 0 {
			return fail(n)
		}
		ok = d.protoVarint(op, v)
	case protowire.Fixed32Type:
		if len(b) < 4 {
			return fail(-1)
		}
		v := binary.LittleEndian.Uint32(b)
		n = 4
		switch op.kind {
		case protoreflect.FloatKind:
			ok = d.protoFloat(op, float64(math.Float32frombits(v)), 32)
		case protoreflect.Sfixed32Kind:
			ok = d.protoInt(op, int64(int32(v)))
		default:
			ok = d.protoInt(op, int64(v))
		}
	case protowire.Fixed64Type:
		if len(b) < 8 {
			return fail(-1)
		}
		v := binary.LittleEndian.Uint64(b)
		n = 8
		switch op.kind {
		case protoreflect.DoubleKind:
			ok = d.protoFloat(op, math.Float64frombits(v), 64)
		case protoreflect.Sfixed64Kind:
			ok = d.protoInt(op, int64(v))
		default:
			if v > math.MaxInt64 {
				d.wireFail(ReasonTypeMismatch, d.fieldName(op.sl), "fixed64 value is over the int64 range")
				return -1
			}
			ok = d.protoInt(op, int64(v))
		}
	case protowire.BytesType:
		var v []byte
		if v, n = protowire.ConsumeBytes(b); n < 0 {
			return fail(n)
		}
		switch {
		case op.ts:
			ok = d.protoTimestamp(op, v)
		case op.msg != nil:
			ok = d.protoMessage(op, v)
		default:
			ok = d.protoString(op, v)
		}
	case protowire.StartGroupType:
		d.wireFail(ReasonSchemaMismatch, d.fieldName(op.sl), "groups are not read")
		return -1
	}
	if !ok {
		return -1
	}
	return n
}

func (d *Decoder) protoVarint(op *protoOp, v uint64) bool {
	switch op.kind {
	case protoreflect.BoolKind:
		if op.list {
			return d.listAppend(op, strconv.AppendBool(nil, v != 0))
		}
		return d.setBool(op.sl, v != 0)
	case protoreflect.EnumKind:
		if op.list {
			return d.listAppend(op, strconv.AppendInt(nil, int64(int32(v)), 10))
		}
		return d.protoEnum(op, int32(v))
	case protoreflect.Sint32Kind:
		return d.protoInt(op, int64(int32(protowire.DecodeZigZag(v&math.MaxUint32))))
	case protoreflect.Sint64Kind:
		return d.protoInt(op, protowire.DecodeZigZag(v))
	case protoreflect.Int32Kind:
		return d.protoInt(op, int64(int32(v)))
	case protoreflect.Uint32Kind:
		return d.protoInt(op, int64(uint32(v)))
	case protoreflect.Uint64Kind:
		if v > math.MaxInt64 {
			return d.wireFail(ReasonTypeMismatch, d.fieldName(op.sl), "uint64 value is over the int64 range")
		}
	}
	return d.protoInt(op, int64(v))
}

func (d *Decoder) protoInt(op *protoOp, v int64) bool {
	if op.array {
		return d.tc.arrayValue(d, op.sl.idx, float64(v))
	}
	if op.list {
		return d.listAppend(op, strconv.AppendInt(nil, v, 10))
	}
	return d.setInt(op.sl, v, unitNone)
}

func (d *Decoder) protoFloat(op *protoOp, v float64, bits int) bool {
	if op.array {
		return d.tc.arrayValue(d, op.sl.idx, v)
	}
	if op.list {
		return d.listAppend(op, appendJSONFloat(nil, v, bits))
	}
	return d.setFloat(op.sl, v, bits)
}

func (d *Decoder) protoString(op *protoOp, v []byte) bool {
	if op.list {
		return d.listAppend(op, appendJSONString(nil, v))
	}
	return d.setString(op.sl, v)
}

// listAppend appends one element, as JSON, to a repeated passthrough field.
func (d *Decoder) listAppend(op *protoOp, js []byte) bool {
	buf := &d.wire.passBufs[op.sl.idx]
	if len(*buf) > 1 {
		*buf = append(*buf, ',')
	}
	*buf = append(*buf, js...)
	return true
}

// protoTimestamp reads a google.protobuf.Timestamp.
func (d *Decoder) protoTimestamp(op *protoOp, b []byte) bool {
	var secs, nanos int64
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return d.wireFail(ReasonMalformed, d.fieldName(op.sl), "timestamp: "+protowire.ParseError(n).Error())
		}
		b = b[n:]
		if typ == protowire.VarintType && (num == 1 || num == 2) {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return d.wireFail(ReasonMalformed, d.fieldName(op.sl), "timestamp: "+protowire.ParseError(n).Error())
			}
			if num == 1 {
				secs = int64(v)
			} else {
				nanos = int64(int32(v))
			}
			b = b[n:]
			continue
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return d.wireFail(ReasonMalformed, d.fieldName(op.sl), "timestamp: "+protowire.ParseError(n).Error())
		}
		b = b[n:]
	}
	if secs < -62135596800 || secs > 253402300799 || nanos < 0 || nanos > 999_999_999 {
		return d.wireFail(ReasonTypeMismatch, d.fieldName(op.sl), "timestamp is out of range")
	}
	sl := op.sl
	if sl.kinds&slotTime != 0 && sl.kinds&(slotID|slotKey) == 0 {
		d.r.ts = secs*1000 + nanos/1_000_000
		d.r.tsSet = true
	}
	if sl.kinds&slotPass != 0 {
		t := time.Unix(secs, nanos).UTC()
		js := appendJSONString(nil, t.AppendFormat(nil, time.RFC3339Nano))
		if op.list {
			return d.listAppend(op, js)
		}
		buf := &d.wire.passBufs[sl.idx]
		*buf = append((*buf)[:0], js...)
		d.setPass(sl, *buf)
	}
	return true
}

// protoMessage renders a passthrough message field as JSON (protojson).
func (d *Decoder) protoMessage(op *protoOp, b []byte) bool {
	m := dynamicpb.NewMessage(op.msg)
	if err := proto.Unmarshal(b, m); err != nil {
		return d.wireFail(ReasonMalformed, d.fieldName(op.sl), err.Error())
	}
	js, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return d.wireFail(ReasonMalformed, d.fieldName(op.sl), err.Error())
	}
	js = []byte(strings.Join(strings.Fields(string(js)), ""))
	if op.list {
		return d.listAppend(op, js)
	}
	buf := &d.wire.passBufs[op.sl.idx]
	*buf = append((*buf)[:0], js...)
	d.setPass(op.sl, *buf)
	return true
}

// ProtoToJSON renders one framed Protobuf body (message indexes, then the
// message) of a schema's FileDescriptorSet as JSON, for reading
// (streamscore consume).
func ProtoToJSON(descriptors []byte, body []byte) ([]byte, error) {
	fd, err := FileDescriptorSet(descriptors)
	if err != nil {
		return nil, err
	}
	idx, b, err := ParseMessageIndexes(nil, body)
	if err != nil {
		return nil, err
	}
	md, err := MessageAt(fd, idx)
	if err != nil {
		return nil, err
	}
	m := dynamicpb.NewMessage(md)
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", md.FullName(), err)
	}
	return protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
}
