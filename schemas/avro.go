package schemas

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unsafe"

	"github.com/hamba/avro/v2"
)

// Avro types as the reader walks them.
const (
	aNull uint8 = iota
	aBool
	aInt
	aLong
	aFloat
	aDouble
	aBytes
	aString
	aFixed
	aEnum
	aArray
	aMap
	aUnion
	aRecord
)

// anode is one Avro type of a writer schema, as the reader walks it.
type anode struct {
	t        uint8
	size     int // fixed
	items    *anode
	branches []*anode
	fields   []*anode
	names    []string // record field names
	// defaults holds each record field's default (nil when it has none:
	// hasDef says which), for writing events that leave a field out.
	defaults []any
	hasDef   []bool
	symbols  []string
	// decimal is set for a decimal logical type (bytes or fixed), scale
	// its scale; unit converts a timestamp or date to epoch milliseconds.
	decimal bool
	scale   int
	unit    timeUnit
}

// timeUnit is how an Avro int or long counts time.
type timeUnit uint8

const (
	unitNone timeUnit = iota
	unitMillis
	unitMicros
	unitNanos
	unitDays
)

// toMillis converts v in unit u to epoch milliseconds; unitNone counts
// milliseconds, as a JSON event's number does.
func (u timeUnit) toMillis(v int64) int64 {
	switch u {
	case unitMicros:
		return v / 1000
	case unitNanos:
		return v / 1_000_000
	case unitDays:
		return v * 86_400_000
	}
	return v
}

// maxAvroDepth bounds nesting in a writer schema (recursive types included).
const maxAvroDepth = 32

// avroNode converts a parsed Avro schema into the reader's tree.
func avroNode(s avro.Schema, depth int) (*anode, error) {
	if depth > maxAvroDepth {
		return nil, errors.New("schema nests deeper than 32 levels (a recursive type?)")
	}
	switch s := s.(type) {
	case *avro.RefSchema:
		return avroNode(s.Schema(), depth+1)
	case *avro.NullSchema:
		return &anode{t: aNull}, nil
	case *avro.PrimitiveSchema:
		n := &anode{}
		switch s.Type() {
		case avro.Boolean:
			n.t = aBool
		case avro.Int:
			n.t = aInt
		case avro.Long:
			n.t = aLong
		case avro.Float:
			n.t = aFloat
		case avro.Double:
			n.t = aDouble
		case avro.Bytes:
			n.t = aBytes
		case avro.String:
			n.t = aString
		case avro.Null:
			n.t = aNull
		default:
			return nil, fmt.Errorf("unsupported primitive type %s", s.Type())
		}
		if l := s.Logical(); l != nil {
			switch l.Type() {
			case avro.TimestampMillis, avro.LocalTimestampMillis:
				n.unit = unitMillis
			case avro.TimestampMicros, avro.LocalTimestampMicros:
				n.unit = unitMicros
			case "timestamp-nanos", "local-timestamp-nanos":
				n.unit = unitNanos
			case avro.Date:
				n.unit = unitDays
			case avro.Decimal:
				if d, ok := l.(*avro.DecimalLogicalSchema); ok {
					n.decimal, n.scale = true, d.Scale()
				}
			}
		}
		return n, nil
	case *avro.FixedSchema:
		n := &anode{t: aFixed, size: s.Size()}
		if d, ok := s.Logical().(*avro.DecimalLogicalSchema); ok && d != nil {
			n.decimal, n.scale = true, d.Scale()
		}
		return n, nil
	case *avro.EnumSchema:
		return &anode{t: aEnum, symbols: s.Symbols()}, nil
	case *avro.ArraySchema:
		it, err := avroNode(s.Items(), depth+1)
		if err != nil {
			return nil, err
		}
		return &anode{t: aArray, items: it}, nil
	case *avro.MapSchema:
		it, err := avroNode(s.Values(), depth+1)
		if err != nil {
			return nil, err
		}
		return &anode{t: aMap, items: it}, nil
	case *avro.UnionSchema:
		n := &anode{t: aUnion}
		for _, b := range s.Types() {
			bn, err := avroNode(b, depth+1)
			if err != nil {
				return nil, err
			}
			n.branches = append(n.branches, bn)
		}
		return n, nil
	case *avro.RecordSchema:
		n := &anode{t: aRecord}
		for _, f := range s.Fields() {
			fn, err := avroNode(f.Type(), depth+1)
			if err != nil {
				return nil, err
			}
			n.fields = append(n.fields, fn)
			n.names = append(n.names, f.Name())
			n.defaults = append(n.defaults, f.Default())
			n.hasDef = append(n.hasDef, f.HasDefault())
		}
		return n, nil
	}
	return nil, fmt.Errorf("unsupported schema %T", s)
}

// ParseAvro parses an Avro writer schema (JSON) with a private name cache,
// so schemas that reuse a record name do not meet.
func ParseAvro(text string) (avro.Schema, error) {
	return avro.ParseWithCache(text, "", &avro.SchemaCache{})
}

// avroOp reads one top-level field of a writer's record.
type avroOp struct {
	n     *anode
	sl    slot
	known bool
	// float32 is set for an Avro float read into a float feature, the
	// common case, which avroRow reads inline; optFloat for a ["null",
	// "float"] union (either order), floatBranch being the float's
	// branch index as its one-byte zigzag varint.
	float32, optFloat bool
	floatBranch       byte
	// run counts the ops from this one on that read the same way (all
	// float32, or all optFloat with the same branch) into consecutive
	// features; avroRow reads such a run in one loop.
	run int
}

// avroProgram reads the events of one writer schema.
type avroProgram struct {
	ops []avroOp
}

// compileAvro resolves the writer schema text against the spec the decoder
// reads: every field the spec reads must be of a type it can take, and
// every required one must be there. A *DecodeError says what does not fit.
func (d *Decoder) compileAvro(text string) (*avroProgram, *DecodeError) {
	s, err := ParseAvro(text)
	if err != nil {
		return nil, &DecodeError{Reason: ReasonSchemaMismatch, Msg: "writer schema does not parse: " + err.Error()}
	}
	root, err := avroNode(s, 0)
	if err != nil {
		return nil, &DecodeError{Reason: ReasonSchemaMismatch, Msg: "writer schema: " + err.Error()}
	}
	if root.t != aRecord {
		return nil, &DecodeError{Reason: ReasonSchemaMismatch, Msg: "writer schema is not a record"}
	}
	p := &avroProgram{}
	have := map[string]bool{}
	for i, n := range root.fields {
		name := root.names[i]
		sl, known := d.slots[name]
		if known {
			if msg := avroFits(n, sl, d); msg != "" {
				return nil, &DecodeError{Reason: ReasonSchemaMismatch, Field: name, Msg: "writer type " + msg}
			}
			have[name] = true
		}
		floatFeature := known && sl.kinds == slotFeature && d.kinds[sl.idx] <= kindFloat64
		op := avroOp{n: n, sl: sl, known: known, float32: floatFeature && n.t == aFloat}
		if floatFeature && n.t == aUnion && len(n.branches) == 2 {
			for b, other := range []int{1, 0} {
				if n.branches[b].t == aFloat && n.branches[other].t == aNull {
					op.optFloat, op.floatBranch = true, byte(2*b)
				}
			}
		}
		p.ops = append(p.ops, op)
	}
	for i := len(p.ops) - 1; i >= 0; i-- {
		op := &p.ops[i]
		if !op.float32 && !op.optFloat {
			continue
		}
		op.run = 1
		if i+1 < len(p.ops) {
			next := &p.ops[i+1]
			if next.float32 == op.float32 && next.optFloat == op.optFloat && next.floatBranch == op.floatBranch && next.sl.idx == op.sl.idx+1 {
				op.run = next.run + 1
			}
		}
	}
	if e := d.checkRequired(have); e != nil {
		return nil, e
	}
	return p, nil
}

// avroFloats reads, from r.i on, up to len(row) Avro floats into row,
// marking them seen, and returns how many it read: it stops short at the
// end of the body or at a value that is not finite, which the caller reads
// one by one. With optional set, each float follows its union branch byte
// branch, and it stops at another branch too.
func avroFloats(r *avroReader, row []float32, seen []bool, optional bool, branch byte) int {
	size := 4
	if optional {
		size = 5
	}
	b := r.b[r.i:]
	n := min(len(row), len(b)/size)
	if n == 0 {
		return 0
	}
	// Bounds are checked once above: b holds n values of size bytes, row
	// and seen n entries each.
	src, dst, set := unsafe.Pointer(unsafe.SliceData(b)), unsafe.SliceData(row), unsafe.SliceData(seen)
	j := 0
	if !optional {
		for ; j < n; j++ {
			bits := binary.LittleEndian.Uint32((*[4]byte)(unsafe.Add(src, 4*j))[:])
			if bits&0x7f800000 == 0x7f800000 {
				break
			}
			*(*float32)(unsafe.Add(unsafe.Pointer(dst), 4*j)) = math.Float32frombits(bits)
			*(*bool)(unsafe.Add(unsafe.Pointer(set), j)) = true
		}
	} else {
		for ; j < n; j++ {
			p := unsafe.Add(src, 5*j)
			bits := binary.LittleEndian.Uint32((*[4]byte)(unsafe.Add(p, 1))[:])
			if *(*byte)(p) != branch || bits&0x7f800000 == 0x7f800000 {
				break
			}
			*(*float32)(unsafe.Add(unsafe.Pointer(dst), 4*j)) = math.Float32frombits(bits)
			*(*bool)(unsafe.Add(unsafe.Pointer(set), j)) = true
		}
	}
	r.i += j * size
	return j
}

// checkRequired reports the first field the spec must read that a writer
// schema lacks.
func (d *Decoder) checkRequired(have map[string]bool) *DecodeError {
	missing := func(name, what string) *DecodeError {
		return &DecodeError{Reason: ReasonSchemaMismatch, Field: name, Msg: "the writer schema has no " + what}
	}
	if !have[d.spec.ID] {
		return missing(d.spec.ID, "event id field")
	}
	if d.spec.Key != "" && !have[d.spec.Key] {
		return missing(d.spec.Key, "entity key field")
	}
	for _, l := range d.lookups {
		if !have[l] {
			return missing(l, "feature-set key field")
		}
	}
	for i, f := range d.spec.Features {
		if d.required[i] && !have[f.Name] {
			return missing(f.Name, "field for this required feature (give it a default in the spec to make it optional)")
		}
	}
	return nil
}

// avroFits returns "" when a value of n can fill sl, else what is wrong.
func avroFits(n *anode, sl slot, d *Decoder) string {
	if n.t == aUnion {
		for _, b := range n.branches {
			if b.t == aUnion {
				return "is a nested union"
			}
			if msg := avroFits(b, sl, d); msg != "" {
				return msg
			}
		}
		return ""
	}
	if n.t == aNull {
		return ""
	}
	if sl.kinds&slotPass != 0 && sl.kinds&^(slotPass|slotLookup) == 0 {
		if sl.kinds&slotLookup != 0 && !avroScalar(n) {
			return "is not a string or number (a feature-set key field)"
		}
		return "" // any value renders as JSON
	}
	if sl.kinds&slotFeature != 0 {
		if d.tc != nil {
			return avroFitsTyped(n, &d.spec.Features[sl.idx])
		}
		switch k := d.kinds[sl.idx]; {
		case k == kindBool:
			if n.t != aBool {
				return "is not boolean (the feature is bool)"
			}
		case k == kindInt64:
			if n.t != aInt && n.t != aLong {
				return "is not int or long (the feature is int64)"
			}
		default:
			if !(n.t == aInt || n.t == aLong || n.t == aFloat || n.t == aDouble || n.decimal) {
				return "is not a number (the feature is " + string(d.spec.Features[sl.idx].Type) + ")"
			}
		}
		return ""
	}
	if sl.kinds&slotTime != 0 && sl.kinds&(slotID|slotKey) == 0 {
		if n.t != aLong && n.t != aInt && n.t != aString {
			return "is not a long, int or string (the event time)"
		}
		return ""
	}
	if !avroScalar(n) || n.t == aFloat || n.t == aDouble || n.t == aBool {
		return "is not a string, int, long or enum (an id or key)"
	}
	return ""
}

// avroFitsTyped returns "" when a value of n (not a union) can feed the
// typed feature f, else what is wrong.
func avroFitsTyped(n *anode, f *Feature) string {
	want, what := typedWant(f)
	if f.Length > 0 {
		if n.t != aArray {
			return "is not an array (the feature is " + describe(f) + ")"
		}
		n = n.items
		what = "an array of " + what
		if n.t == aUnion || n.t == aNull {
			return "has items that may be null (the feature is " + describe(f) + ")"
		}
	}
	ok := false
	switch want {
	case wireString:
		ok = n.t == aString || n.t == aEnum
	case wireBool:
		ok = n.t == aBool
	case wireInteger:
		ok = n.t == aInt || n.t == aLong
	default:
		ok = n.t == aInt || n.t == aLong || n.t == aFloat || n.t == aDouble || n.decimal
	}
	if !ok {
		return "is not " + what
	}
	return ""
}

func avroScalar(n *anode) bool {
	switch n.t {
	case aString, aInt, aLong, aEnum, aFloat, aDouble, aBool:
		return !n.decimal
	}
	return false
}

// avroReader reads Avro binary from b.
type avroReader struct {
	b   []byte
	i   int
	err string
}

func (r *avroReader) fail(msg string) bool {
	if r.err == "" {
		r.err = msg + " at byte " + strconv.Itoa(r.i)
	}
	return false
}

func (r *avroReader) long() (int64, bool) {
	b := r.b[r.i:]
	if len(b) > 0 && b[0] < 0x80 {
		r.i++
		x := uint64(b[0])
		return int64(x>>1) ^ -int64(x&1), true
	}
	v, k := binary.Uvarint(b)
	if k <= 0 {
		return 0, r.fail("truncated or overlong varint")
	}
	r.i += k
	return int64(v>>1) ^ -int64(v&1), true
}

func (r *avroReader) bytes() ([]byte, bool) {
	n, ok := r.long()
	if !ok {
		return nil, false
	}
	if n < 0 || n > int64(len(r.b)-r.i) {
		return nil, r.fail("length " + strconv.FormatInt(n, 10) + " runs past the record")
	}
	s := r.b[r.i : r.i+int(n)]
	r.i += int(n)
	return s, true
}

func (r *avroReader) fixed(n int) ([]byte, bool) {
	if n > len(r.b)-r.i {
		return nil, r.fail("truncated record")
	}
	s := r.b[r.i : r.i+n]
	r.i += n
	return s, true
}

// block reads an array or map block header: the item count, or 0 at the
// end. A negative count is followed by the block's size in bytes.
func (r *avroReader) block() (int64, bool) {
	n, ok := r.long()
	if !ok {
		return 0, false
	}
	if n < 0 {
		if _, ok := r.long(); !ok {
			return 0, false
		}
		n = -n
	}
	// Every item but a null takes at least one byte: a count above what
	// is left is forged (or an array of nulls, which no event carries),
	// and refusing it keeps a forged count from looping long.
	if n > int64(len(r.b)-r.i) {
		return 0, r.fail("block count runs past the record")
	}
	return n, true
}

// skip passes over one value of n.
func (r *avroReader) skip(n *anode, depth int) bool {
	if depth > maxAvroDepth {
		return r.fail("value nests too deep")
	}
	switch n.t {
	case aNull:
		return true
	case aBool:
		_, ok := r.fixed(1)
		return ok
	case aInt, aLong, aEnum:
		_, ok := r.long()
		return ok
	case aFloat:
		_, ok := r.fixed(4)
		return ok
	case aDouble:
		_, ok := r.fixed(8)
		return ok
	case aBytes, aString:
		_, ok := r.bytes()
		return ok
	case aFixed:
		_, ok := r.fixed(n.size)
		return ok
	case aUnion:
		b, ok := r.branch(n)
		return ok && r.skip(b, depth+1)
	case aRecord:
		for _, f := range n.fields {
			if !r.skip(f, depth+1) {
				return false
			}
		}
		return true
	case aArray, aMap:
		for {
			c, ok := r.block()
			if !ok {
				return false
			}
			if c == 0 {
				return true
			}
			for range c {
				if n.t == aMap {
					if _, ok := r.bytes(); !ok {
						return false
					}
				}
				if !r.skip(n.items, depth+1) {
					return false
				}
			}
		}
	}
	return r.fail("unknown type")
}

func (r *avroReader) branch(n *anode) (*anode, bool) {
	k, ok := r.long()
	if !ok {
		return nil, false
	}
	if k < 0 || k >= int64(len(n.branches)) {
		return nil, r.fail("union branch " + strconv.FormatInt(k, 10) + " does not exist")
	}
	return n.branches[k], true
}

// decimalValue converts a big-endian two's-complement unscaled decimal.
func decimalValue(b []byte, scale int) float64 {
	if len(b) == 0 {
		return 0
	}
	var v float64
	neg := b[0]&0x80 != 0
	for _, c := range b {
		if neg {
			c = ^c
		}
		v = v*256 + float64(c)
	}
	if neg {
		v = -(v + 1)
	}
	return v / math.Pow10(scale)
}

// avroRow reads one Avro record body into the decoder's row scratch.
func (d *Decoder) avroRow(p *avroProgram, body []byte) bool {
	r := &d.wire.ar
	r.b, r.i, r.err = body, 0, ""
	for i := 0; i < len(p.ops); i++ {
		op := &p.ops[i]
		if op.run > 1 && d.tc == nil {
			// A run of floats into consecutive features: one loop; what
			// it leaves (a null, a value not finite) goes one by one.
			k := op.sl.idx
			if n := avroFloats(r, d.row[k:k+op.run], d.seen[k:k+op.run], op.optFloat, op.floatBranch); n > 0 {
				i += n - 1
				continue
			}
		}
		if op.float32 && r.i+4 <= len(r.b) {
			bits := binary.LittleEndian.Uint32(r.b[r.i:])
			if bits&0x7f800000 != 0x7f800000 { // finite
				v := math.Float32frombits(bits)
				d.row[op.sl.idx] = v
				d.seen[op.sl.idx] = true
				if d.tc != nil {
					d.tc.feats[op.sl.idx].f64 = float64(v)
				}
				r.i += 4
				continue
			}
		}
		if op.optFloat && r.i+5 <= len(r.b) && r.b[r.i] == op.floatBranch {
			bits := binary.LittleEndian.Uint32(r.b[r.i+1:])
			if bits&0x7f800000 != 0x7f800000 { // finite
				v := math.Float32frombits(bits)
				d.row[op.sl.idx] = v
				d.seen[op.sl.idx] = true
				if d.tc != nil {
					d.tc.feats[op.sl.idx].f64 = float64(v)
				}
				r.i += 5
				continue
			}
		}
		if !op.known {
			if !r.skip(op.n, 0) {
				return d.wireFail(ReasonMalformed, "", r.err)
			}
			continue
		}
		if !d.avroValue(op.n, op.sl) {
			if r.err != "" {
				return d.wireFail(ReasonMalformed, d.fieldName(op.sl), r.err)
			}
			return false
		}
	}
	if r.i != len(r.b) {
		return d.wireFail(ReasonMalformed, "", strconv.Itoa(len(r.b)-r.i)+" bytes after the record")
	}
	return true
}

// avroValue reads one value of n into the field sl. It returns false with
// d.wire.ar.err set on bad bytes, or with the decoder's failure set.
func (d *Decoder) avroValue(n *anode, sl slot) bool {
	r := &d.wire.ar
	switch n.t {
	case aFloat:
		b, ok := r.fixed(4)
		return ok && d.setFloat(sl, float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), 32)
	case aDouble:
		b, ok := r.fixed(8)
		return ok && d.setFloat(sl, math.Float64frombits(binary.LittleEndian.Uint64(b)), 64)
	case aInt, aLong:
		v, ok := r.long()
		if !ok {
			return false
		}
		if n.t == aInt && (v < math.MinInt32 || v > math.MaxInt32) {
			return r.fail("int out of range")
		}
		return d.setInt(sl, v, n.unit)
	case aString:
		s, ok := r.bytes()
		return ok && d.setString(sl, s)
	case aBool:
		b, ok := r.fixed(1)
		if !ok {
			return false
		}
		if b[0] > 1 {
			return r.fail("boolean byte is not 0 or 1")
		}
		return d.setBool(sl, b[0] == 1)
	case aNull:
		return d.setNull(sl)
	case aUnion:
		b, ok := r.branch(n)
		return ok && d.avroValue(b, sl)
	case aEnum:
		k, ok := r.long()
		if !ok {
			return false
		}
		if k < 0 || k >= int64(len(n.symbols)) {
			return r.fail("enum index " + strconv.FormatInt(k, 10) + " does not exist")
		}
		return d.setString(sl, []byte(n.symbols[k]))
	case aArray:
		if sl.kinds&slotFeature != 0 && d.tc != nil {
			return d.avroArray(n, sl.idx)
		}
	case aBytes, aFixed:
		if n.decimal {
			var b []byte
			var ok bool
			if n.t == aFixed {
				b, ok = r.fixed(n.size)
			} else {
				b, ok = r.bytes()
			}
			return ok && d.setFloat(sl, decimalValue(b, n.scale), 64)
		}
	}
	// A passthrough field of any other type: its value as JSON.
	buf, ok := d.wire.passBuf(sl)
	if !ok {
		return d.wireFail(ReasonSchemaMismatch, d.fieldName(sl), "value cannot fill this field")
	}
	*buf, ok = r.appendJSON((*buf)[:0], n, 0)
	if !ok {
		return false
	}
	d.setPass(sl, *buf)
	return true
}

// avroArray reads an array of numbers into the typed array feature i.
func (d *Decoder) avroArray(n *anode, i int) bool {
	r := &d.wire.ar
	d.tc.startArray(i)
	it := n.items
	for {
		c, ok := r.block()
		if !ok {
			return false
		}
		if c == 0 {
			break
		}
		for range c {
			var v float64
			switch it.t {
			case aFloat:
				b, ok := r.fixed(4)
				if !ok {
					return false
				}
				v = float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
			case aDouble:
				b, ok := r.fixed(8)
				if !ok {
					return false
				}
				v = math.Float64frombits(binary.LittleEndian.Uint64(b))
			case aInt, aLong:
				x, ok := r.long()
				if !ok {
					return false
				}
				v = float64(x)
			case aBytes, aFixed: // a decimal (avroFitsTyped checked)
				var b []byte
				if it.t == aFixed {
					b, ok = r.fixed(it.size)
				} else {
					b, ok = r.bytes()
				}
				if !ok {
					return false
				}
				v = decimalValue(b, it.scale)
			default:
				return d.wireFail(ReasonSchemaMismatch, d.spec.Features[i].Name, "array items cannot feed this feature")
			}
			if !d.tc.arrayValue(d, i, v) {
				return false
			}
		}
	}
	return d.tc.finishArray(d, i, false)
}

// appendJSON appends one value of n as JSON to dst.
func (r *avroReader) appendJSON(dst []byte, n *anode, depth int) ([]byte, bool) {
	if depth > maxAvroDepth {
		return dst, r.fail("value nests too deep")
	}
	switch n.t {
	case aNull:
		return append(dst, "null"...), true
	case aBool:
		b, ok := r.fixed(1)
		if !ok {
			return dst, false
		}
		return strconv.AppendBool(dst, b[0] != 0), true
	case aInt, aLong:
		v, ok := r.long()
		return strconv.AppendInt(dst, v, 10), ok
	case aFloat:
		b, ok := r.fixed(4)
		if !ok {
			return dst, false
		}
		return appendJSONFloat(dst, float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), 32), true
	case aDouble:
		b, ok := r.fixed(8)
		if !ok {
			return dst, false
		}
		return appendJSONFloat(dst, math.Float64frombits(binary.LittleEndian.Uint64(b)), 64), true
	case aString:
		s, ok := r.bytes()
		return appendJSONString(dst, s), ok
	case aBytes, aFixed:
		var b []byte
		var ok bool
		if n.t == aFixed {
			b, ok = r.fixed(n.size)
		} else {
			b, ok = r.bytes()
		}
		if !ok {
			return dst, false
		}
		if n.decimal {
			return appendJSONFloat(dst, decimalValue(b, n.scale), 64), true
		}
		return appendJSONString(dst, b), true
	case aEnum:
		k, ok := r.long()
		if !ok {
			return dst, false
		}
		if k < 0 || k >= int64(len(n.symbols)) {
			return dst, r.fail("enum index " + strconv.FormatInt(k, 10) + " does not exist")
		}
		return appendJSONString(dst, []byte(n.symbols[k])), true
	case aUnion:
		b, ok := r.branch(n)
		if !ok {
			return dst, false
		}
		return r.appendJSON(dst, b, depth+1)
	case aRecord:
		dst = append(dst, '{')
		for i, f := range n.fields {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, []byte(n.names[i]))
			dst = append(dst, ':')
			var ok bool
			if dst, ok = r.appendJSON(dst, f, depth+1); !ok {
				return dst, false
			}
		}
		return append(dst, '}'), true
	case aArray, aMap:
		open, end := byte('['), byte(']')
		if n.t == aMap {
			open, end = '{', '}'
		}
		dst = append(dst, open)
		first := true
		for {
			c, ok := r.block()
			if !ok {
				return dst, false
			}
			if c == 0 {
				return append(dst, end), true
			}
			for range c {
				if !first {
					dst = append(dst, ',')
				}
				first = false
				if n.t == aMap {
					k, ok := r.bytes()
					if !ok {
						return dst, false
					}
					dst = append(appendJSONString(dst, k), ':')
				}
				if dst, ok = r.appendJSON(dst, n.items, depth+1); !ok {
					return dst, false
				}
			}
		}
	}
	return dst, r.fail("unknown type")
}
