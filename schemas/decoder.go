package schemas

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// Decoded is one batch decoded into Arrow columns.
type Decoded struct {
	// Record holds one row per good message. The caller owns it and must
	// Release it.
	Record arrow.Record
	// Rows maps record row i to its message index in the slice given to
	// Decode.
	Rows []int
	// Errors lists the messages that did not decode, in message order.
	Errors []DecodeError
	// Defaulted counts feature values that were absent or null and took
	// their default.
	Defaulted int

	sets, setStart int
	noMatrix       bool             // the spec has no matrix columns (see Spec.Arrow)
	mem            memory.Allocator // the Decoder's, for SetStrings
}

// Features returns the [N, F] row-major feature matrix backing the features
// column. It is valid until the Record is released.
func (d *Decoded) Features() []float32 {
	if d.noMatrix {
		return []float32{}
	}
	col := d.Record.Column(3).(*array.FixedSizeList)
	return col.ListValues().(*array.Float32).Float32Values()
}

// SetKeys returns feature set i's entity-key column.
func (d *Decoded) SetKeys(i int) *array.String {
	return d.Record.Column(d.setStart + i).(*array.String)
}

// SetStrings replaces the string column named name (a feature set's string
// feature, ColFeaturePrefix + feature) with vals, one per row: Record
// becomes a new record sharing every other column, and the old record is
// released. Arrays taken from the old record (and Features) stay valid,
// since the new record holds them; the old record itself must not be used
// again (a ScoreInput.Columns set from it must be set anew). It is for the
// feature store, which fills these columns after decoding; it is not safe
// for concurrent use with other users of the record.
func (d *Decoded) SetStrings(name string, vals []string) error {
	rec := d.Record
	idx := rec.Schema().FieldIndices(name)
	if len(idx) != 1 || rec.Schema().Field(idx[0]).Type.ID() != arrow.STRING {
		return fmt.Errorf("setting column %q: the record has no such string column", name)
	}
	if len(vals) != int(rec.NumRows()) {
		return fmt.Errorf("setting column %q: %d values for %d rows", name, len(vals), rec.NumRows())
	}
	mem := d.mem
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	sb := array.NewStringBuilder(mem)
	defer sb.Release()
	sb.AppendValues(vals, nil)
	col := sb.NewArray()
	defer col.Release()
	cols := slices.Clone(rec.Columns())
	cols[idx[0]] = col
	d.Record = array.NewRecord(rec.Schema(), cols, rec.NumRows())
	rec.Release()
	return nil
}

// Release releases the record.
func (d *Decoded) Release() {
	if d.Record != nil {
		d.Record.Release()
		d.Record = nil
	}
}

const (
	slotID uint8 = 1 << iota
	slotKey
	slotTime
	slotFeature
	slotPass
	slotLookup
)

type slot struct {
	kinds uint8
	idx   int
	lk    int
	// u numbers the schema's field names, so that a second appearance of
	// one in an event is found by one comparison.
	u int
}

// once reports whether the field may appear only once in an event: every
// field the schema reads a value from. A passthrough field that is nothing
// else is copied as written, and the last one wins.
func (sl slot) once() bool { return sl.kinds&^slotPass != 0 }

// Feature kinds, the FieldType of each feature as a small number for the
// hot path.
const (
	kindFloat32 uint8 = iota
	kindFloat64
	kindInt64
	kindBool
)

// Decoder turns JSON event values into Arrow columns as the Spec says. It is
// not safe for concurrent use; give each goroutine its own.
type Decoder struct {
	spec   *Spec
	mem    memory.Allocator
	schema *arrow.Schema
	slots  map[string]slot

	// per-row scratch
	row      []float32
	seen     []bool
	pass     [][]byte
	passSet  []bool
	idBuf    []byte
	keyBuf   []byte
	defaults []float32
	required []bool
	sc       scanner

	// feature-set key fields: text per lookup field for the current row
	lookups   []string
	lookup    [][]byte
	lookupSet []bool
	keyBufs   []byte

	// curSlot is the slot of the field whose value is being read; its name
	// is looked up only when the value fails.
	curSlot   slot
	failField string

	// tc reads features for typed inputs; nil in the single-input form.
	tc *typedDecoder
	// wire reads Avro and Protobuf events; nil for JSON.
	wire *wireDecoder

	// kinds holds each feature's type as a kind constant.
	kinds []uint8
	// stamp holds, per slot.u, the number of the last event in which the
	// field appeared; gen is the current event's number.
	stamp []uint32
	gen   uint32
	// maxFields is spec.Limits.MaxFields.
	maxFields int
	// r is what the current event has set so far.
	r rowState

	// at remembers, per position in the event, the field name read there
	// last and what the schema makes of it: producers write their fields
	// in one order, so one comparison usually replaces a map lookup.
	at []fieldAt
	// fastAt holds, per position of at, the field's form for fastFields.
	fastAt []fastAt
	// strs are the batch's string columns in record order from event_id
	// (event_id, key, then one per passthrough field and feature set); each
	// remembers its last batch's bytes per row. fixed are the event-time
	// and feature-matrix columns.
	strs  []strColumn
	fixed fixedColumns
}

// rowState is what an event has set so far, beyond the row scratch.
type rowState struct {
	idSet, keySet, tsSet bool
	// ts is the event time in epoch milliseconds; the message's timestamp
	// until the event names one.
	ts int64
	// dup is the first field the schema reads that appeared twice.
	dup    slot
	hasDup bool
}

// fieldAt is a field name seen at one position of an event.
type fieldAt struct {
	name  []byte
	sl    slot
	known bool
	// plain says name's JSON text is name itself (see scanner.name).
	plain bool
}

// fastAt is what Decoder.fastFields needs of a fieldAt: set for a float
// feature whose `"name":` text fits in 16 bytes, pat and mask hold that
// text as two little-endian words, so that it is matched with two
// comparisons. It is kept apart from fieldAt, small and without pointers,
// so that the loop over it keeps its state in registers.
type fastAt struct {
	pat, mask [2]uint64
	// idx is the feature's index and u its slot's number (slot.u).
	idx, u int32
	// tokLen is the length of the `"name":` text; zero when the field at
	// this position is not a compact float feature.
	tokLen uint8
	// f64 is set for a float64 feature, clear for a float32 one.
	f64 bool
}

// remember sets a to the field name found at its position, and fa to its
// fast form.
func (a *fieldAt) remember(fa *fastAt, name []byte, sl slot, known bool, kinds []uint8) {
	a.name = append(a.name[:0], name...)
	a.sl, a.known, a.plain = sl, known, plain(name)
	*fa = fastAt{}
	tokLen := len(name) + 3 // "name":
	if !a.plain || !known || sl.kinds != slotFeature || kinds[sl.idx] > kindFloat64 || tokLen > 16 {
		return
	}
	fa.idx, fa.u, fa.tokLen, fa.f64 = int32(sl.idx), int32(sl.u), uint8(tokLen), kinds[sl.idx] == kindFloat64
	for j := range tokLen {
		c := byte('"')
		switch {
		case j > 0 && j <= len(name):
			c = name[j-1]
		case j == tokLen-1:
			c = ':'
		}
		fa.pat[j/8] |= uint64(c) << (8 * (j % 8))
		fa.mask[j/8] |= 0xff << (8 * (j % 8))
	}
}

// maxRemembered bounds the positions Decoder.at remembers.
const maxRemembered = 256

// lookupField returns the slot of the field named name found at position
// pos of the event.
func (d *Decoder) lookupField(pos int, name []byte) (slot, bool) {
	if pos < len(d.at) && string(d.at[pos].name) == bstr(name) {
		return d.at[pos].sl, d.at[pos].known
	}
	sl, known := d.slots[bstr(name)]
	if pos < maxRemembered {
		if pos == len(d.at) {
			d.at = append(d.at, fieldAt{})
			d.fastAt = append(d.fastAt, fastAt{})
		}
		if pos < len(d.at) {
			d.at[pos].remember(&d.fastAt[pos], name, sl, known, d.kinds)
		}
	}
	return sl, known
}

// fastFields reads, from sc.i on, the fields the event had at positions
// pos, pos+1, … last time, for as long as each is a float feature written
// compactly as "name":number, followed by a comma and the next such field,
// and its number converts exactly without strconv: the common case, kept
// in registers. It returns how many fields it read, leaving sc.i after the
// last one's number (before its ',' or '}'); where it reads none, the
// general path reads the field (a duplicate among them). A schema with
// typed features takes the general path for every field.
func (d *Decoder) fastFields(pos int) int {
	if d.tc != nil {
		// Typed features keep their own types (an int, a string or an
		// array is never a float): the typed decoder reads every one.
		return 0
	}
	fa := d.fastAt
	if lim := min(len(fa), d.maxFields); pos < lim {
		fa = fa[pos:lim]
	} else {
		return 0
	}
	// The row, seen and stamp slices are read through d, not kept in
	// locals: fewer live values keep the loop's state in registers.
	b, i := d.sc.b, d.sc.i
	n := 0
	for n < len(fa) {
		a := &fa[n]
		if a.tokLen == 0 || i+16 > len(b) ||
			(le64(b, i)&a.mask[0]^a.pat[0])|(le64(b, i+8)&a.mask[1]^a.pat[1]) != 0 {
			break
		}
		j := i + int(a.tokLen)
		var (
			v   float32
			end int
			ok  bool
			// next is the byte after the number, b[end], or 0 at the
			// end of b.
			next byte
		)
		if j+9 <= len(b) {
			// The shortest numbers, such as -0.01234 or 12.5 (after the
			// sign, up to seven digits, or six and a point, and what ends
			// them, inside eight bytes), take one digitsLead once the
			// point is taken out of the word. Their value, below 10^7
			// (< 2^24) over a power of ten up to 10^6, is one exact
			// float32 (or float64) division.
			sg := 0
			if b[j] == '-' {
				sg = 1
			}
			k := j + sg
			w := le64(b, k)
			// p counts the integer digits (8 when all eight bytes are).
			p := uint(bits.TrailingZeros64(((w-0x3030303030303030)|(w+0x4646464646464646))&0x8080808080808080)) >> 3
			// No integer digit, or a zero before another digit, is not
			// JSON; all eight digits, too long for here.
			if p-1 < 7 && (byte(w) != '0' || p == 1) {
				dot := uint(0)
				if byte(w>>(8*p&63)) == '.' {
					dot = 1
				}
				low := uint64(1)<<(8*p&63) - 1
				m, nd := digitsLead(w&low | (w>>(8*dot))&^low)
				// nd-p fraction digits (at least one after a point); the
				// byte after them, inside w, must end the number.
				next = byte(w >> (8 * (nd + dot) & 63))
				if t := nd + dot; t < 8 && nd >= p+dot && next|0x20 != 'e' {
					if a.f64 {
						v = float32(float64(int64(m)) / pow10[(nd-p)&7])
					} else {
						v = float32(int64(m)) / pow10f32[(nd-p)&7]
					}
					// Stored here, the common case's own copy of the code
					// after the other cases, so that their values need not
					// meet in the same registers.
					if d.stamp[a.u] == d.gen {
						break
					}
					d.stamp[a.u] = d.gen
					d.row[a.idx] = math.Float32frombits(math.Float32bits(v) | uint32(sg)<<31)
					d.seen[a.idx] = true
					n++
					d.sc.i = k + int(t)
					if next != ',' {
						break
					}
					i = k + int(t) + 1
					continue
				} else if t == 8 && dot == 1 && k+16 <= len(b) {
					// A longer fraction (such as 0.123456789, which
					// float32 needs to round-trip): up to seven more of
					// its digits from the next eight bytes, fourteen
					// digits in all, so that exp is -13 at least.
					f, n2 := digits8(le64(b, k+8))
					if n2 < 8 {
						next = b[k+8+n2]
					}
					if n2 < 8 && next|0x20 != 'e' {
						m = m*pow10u[n2&7] + f
						e := int(p) - 7 - n2
						if a.f64 {
							// m < 10^14 < 2^53, -e < 22: Clinger's fast path.
							v = float32(float64(m) / pow10[-e&15])
							v = math.Float32frombits(math.Float32bits(v) | uint32(sg)<<31)
							ok = true
						} else {
							v, ok = fastFloat32(m, e, sg == 1)
						}
						end = k + 8 + n2
					}
				}
			}
		}
		if !ok {
			if v, end, ok = compactFloat(b, j, a.f64); !ok {
				break
			}
			next = 0
			if end < len(b) {
				next = b[end]
			}
		}
		if d.stamp[a.u] == d.gen {
			break
		}
		d.stamp[a.u] = d.gen
		d.row[a.idx] = v
		d.seen[a.idx] = true
		n++
		d.sc.i = end
		if next != ',' {
			break
		}
		i = end + 1
	}
	return n
}

// le64 returns b[i:i+8] as a little-endian word, as
// binary.LittleEndian.Uint64 does, without the bounds checks: the caller
// has made sure that i >= 0 and i+8 <= len(b).
func le64(b []byte, i int) uint64 {
	return binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))[:])
}

// le32 and le16 are le64's narrower siblings: the caller has checked that
// b[i:i+4] (b[i:i+2]) is in range.
func le32(b []byte, i int) uint32 {
	return binary.LittleEndian.Uint32((*[4]byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))[:])
}

func le16(b []byte, i int) uint16 {
	return binary.LittleEndian.Uint16((*[2]byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))[:])
}

// compactFloat reads the number at b[j:] for fastFields when it is not one
// of the shortest: a common one (fewer than eight integer digits, then
// fewer than sixteen fraction digits or none, no exponent) eight bytes at
// a time, any other with decimalAt, and converts it with the fast
// conversions. ok is false when the number is not valid JSON or does not
// convert exactly that way; the general path then reads it.
func compactFloat(b []byte, j int, f64 bool) (v float32, end int, ok bool) {
	var (
		mant uint64
		exp  int
		neg  bool
	)
	j0 := j
	if j+17 <= len(b) {
		if b[j] == '-' {
			neg = true
			j++
		}
		var ni int
		if b[j] == '0' {
			ni = 1
		} else {
			mant, ni = digits8(binary.LittleEndian.Uint64(b[j:]))
		}
		if ni > 0 && ni < 8 {
			j += ni
			if b[j] == '.' {
				f, nf := digits8(binary.LittleEndian.Uint64(b[j+1:]))
				if nf == 8 {
					// Eight more fraction digits at most; the rest (and
					// a fraction ending too near the end of b to read
					// eight bytes) go to decimalAt.
					nf = 16
					if j+17 <= len(b) {
						f2, n2 := digits8(binary.LittleEndian.Uint64(b[j+9:]))
						f, nf = f*pow10u[n2]+f2, 8+n2
					}
				}
				// ni+nf digits: at most 19 fit in mant (decimalAt's rule).
				if nf > 0 && nf < 16 && ni+nf <= 19 && b[j+1+nf]|0x20 != 'e' {
					mant, exp, end, ok = mant*pow10u[nf]+f, -nf, j+1+nf, true
				}
			} else if b[j]|0x20 != 'e' {
				end, ok = j, true
			}
		}
	}
	if !ok {
		if mant, exp, neg, end, ok = decimalAt(b, j0); !ok {
			return 0, 0, false
		}
	}
	if f64 {
		f, ok := fastFloat64(mant, exp, neg)
		// At most 2^53 × 10^22, inside float32's range.
		return float32(f), end, ok
	}
	v, ok = fastFloat32(mant, exp, neg)
	return v, end, ok
}

// NewDecoder returns a decoder for spec that allocates Arrow memory from mem.
func NewDecoder(spec *Spec, mem memory.Allocator) *Decoder {
	d := &Decoder{
		spec:     spec,
		mem:      mem,
		schema:   spec.Arrow(),
		slots:    make(map[string]slot),
		row:      make([]float32, spec.scratchColumns()),
		seen:     make([]bool, len(spec.Features)),
		pass:     make([][]byte, len(spec.Passthrough)),
		passSet:  make([]bool, len(spec.Passthrough)),
		defaults: make([]float32, len(spec.Features)),
		required: make([]bool, len(spec.Features)),
	}
	add := func(name string, k uint8, idx int) {
		s, ok := d.slots[name]
		if !ok {
			s.u = len(d.slots)
		}
		s.kinds |= k
		if k == slotFeature || k == slotPass {
			s.idx = idx
		}
		d.slots[name] = s
	}
	add(spec.ID, slotID, 0)
	if spec.Key != "" {
		add(spec.Key, slotKey, 0)
	}
	if spec.EventTime != "" {
		add(spec.EventTime, slotTime, 0)
	}
	d.kinds = make([]uint8, len(spec.Features))
	for i, f := range spec.Features {
		add(f.Name, slotFeature, i)
		switch f.Type {
		case TypeFloat64:
			d.kinds[i] = kindFloat64
		case TypeInt64:
			d.kinds[i] = kindInt64
		case TypeBool:
			d.kinds[i] = kindBool
		}
		if f.Default != nil {
			d.defaults[i] = float32(*f.Default)
		} else {
			d.required[i] = true
		}
	}
	for i, p := range spec.Passthrough {
		add(p, slotPass, i)
	}
	for _, fs := range spec.FeatureSets {
		j := 0
		for _, f := range fs.Features {
			if !f.InMatrix() {
				continue // its own column (Spec.Arrow), not the matrix
			}
			d.row[len(spec.Features)+fs.Offset-spec.eventColumns()+j] = float32(f.Default)
			j++
		}
		for _, name := range fs.KeyFields() {
			if slices.Contains(d.lookups, name) {
				continue
			}
			s, ok := d.slots[name]
			if !ok {
				s.u = len(d.slots)
			}
			s.kinds |= slotLookup
			s.lk = len(d.lookups)
			d.slots[name] = s
			d.lookups = append(d.lookups, name)
		}
	}
	d.lookup = make([][]byte, len(d.lookups))
	d.lookupSet = make([]bool, len(d.lookups))
	d.stamp = make([]uint32, len(d.slots))
	d.maxFields = spec.Limits.MaxFields
	d.sc.maxStr = spec.Limits.MaxStringBytes
	d.sc.maxDepth = spec.Limits.MaxDepth
	if spec.Typed() {
		d.tc = newTypedDecoder(d)
	}
	if spec.Format.Binary() {
		d.wire = newWireDecoder(d)
	}
	return d
}

// Schema returns the Arrow schema of the records Decode builds.
func (d *Decoder) Schema() *arrow.Schema { return d.schema }

// Decode decodes every message value into one row of a new record. A message
// that fails becomes a DecodeError and the rest of the batch goes on. The
// returned Decoded is never nil; the caller must Release it.
func (d *Decoder) Decode(msgs []Message) *Decoded {
	n := len(msgs)
	setStart := 4 + len(d.pass)
	if len(d.strs) == 0 {
		d.strs = make([]strColumn, 2+len(d.pass)+len(d.spec.FeatureSets))
	}
	for i := range d.strs {
		d.strs[i].begin(d.mem, n)
	}
	id, key, pass, sets := &d.strs[0], &d.strs[1], d.strs[2:2+len(d.pass)], d.strs[2+len(d.pass):]
	listTy := d.schema.Field(3).Type.(*arrow.FixedSizeListType)
	d.fixed.begin(d.mem, n, int(listTy.Len()), d.schema.Field(2).Type, listTy)
	// Typed feature columns, when the spec has any, go through Arrow's
	// builders; the fixed columns above do not.
	var b *array.RecordBuilder
	if d.tc != nil {
		b = array.NewRecordBuilder(d.mem, d.schema)
		defer b.Release()
		for _, fb := range b.Fields()[d.tc.first:] {
			// Resize, not Reserve, which rounds up to the next power of two.
			fb.Resize(n)
		}
	}
	out := &Decoded{Rows: make([]int, 0, n), sets: len(sets), setStart: setStart, noMatrix: d.spec.Columns() == 0, mem: d.mem}
	for i := range msgs {
		m := &msgs[i]
		ts, defaulted, ok := d.decodeRow(m)
		if !ok {
			out.Errors = append(out.Errors, DecodeError{Index: i, Reason: d.sc.reason, Field: d.failField, Msg: d.sc.msg})
			continue
		}
		r := len(out.Rows)
		out.Defaulted += defaulted
		id.append(d.idBuf)
		if d.spec.Key != "" {
			key.append(d.keyBuf)
		} else {
			key.append(m.Key)
		}
		d.fixed.tsv[r] = ts
		if d.tc != nil {
			d.tc.appendRow(d, d.fixed.row(r), b)
		} else {
			clear(d.fixed.row(r)[copy(d.fixed.row(r), d.row):])
		}
		for j := range pass {
			if d.passSet[j] {
				pass[j].append(d.pass[j])
			} else {
				pass[j].appendNull()
			}
		}
		for j := range sets {
			d.keyBufs = d.spec.FeatureSets[j].AppendKey(d.keyBufs[:0], d.lookupValue)
			sets[j].append(d.keyBufs)
		}
		out.Rows = append(out.Rows, i)
	}
	rows := len(out.Rows)
	cols := make([]arrow.Array, len(d.schema.Fields()))
	cols[0], cols[1] = id.finish(), key.finish()
	cols[2], cols[3] = d.fixed.finish(rows)
	for j := range pass {
		cols[4+j] = pass[j].finish()
	}
	for j := range sets {
		cols[setStart+j] = sets[j].finish()
	}
	if b != nil {
		for j, fb := range b.Fields()[d.tc.first:] {
			cols[d.tc.first+j] = fb.NewArray()
		}
	}
	out.Record = array.NewRecord(d.schema, cols, int64(rows))
	for _, c := range cols {
		c.Release()
	}
	return out
}

// decodeRow parses one message into the row scratch. On failure d.sc.reason,
// d.sc.msg and d.failField say why.
func (d *Decoder) decodeRow(m *Message) (tsMillis int64, defaulted int, ok bool) {
	d.failField = ""
	sc := &d.sc
	sc.b, sc.i, sc.reason, sc.msg = m.Value, 0, "", ""
	if len(m.Value) > d.spec.Limits.MaxMessageBytes {
		sc.fail(ReasonTooLarge, "message of "+strconv.Itoa(len(m.Value))+" bytes is over the limit of "+strconv.Itoa(d.spec.Limits.MaxMessageBytes))
		return 0, 0, false
	}
	if d.wire != nil {
		return d.wireRow(m)
	}
	clear(d.seen)
	clear(d.passSet)
	clear(d.lookupSet)
	if d.gen++; d.gen == 0 {
		clear(d.stamp)
		d.gen = 1
	}
	d.r = rowState{ts: m.Time.UnixMilli()}

	sc.ws()
	if sc.peek() != '{' {
		// Valid JSON of another kind (an array, a string, a number) does not
		// fit the schema; anything else is not JSON at all.
		if sc.skip(0) {
			if sc.ws(); sc.i == len(sc.b) {
				sc.reason = ""
				sc.fail(ReasonSchemaMismatch, "event is valid JSON but not an object")
				return 0, 0, false
			}
		}
		sc.reason = ""
		sc.i = 0
		sc.failAt(ReasonInvalidJSON, "event is not a JSON object")
		return 0, 0, false
	}
	sc.i++
	sc.skipWS()
	fields := 0
	if sc.peek() == '}' {
		sc.i++
	} else {
		for {
			sc.skipWS()
			if n := d.fastFields(fields); n > 0 {
				fields += n
			} else if d.field(fields) {
				fields++
			} else {
				return 0, 0, false
			}
			sc.skipWS()
			c := sc.peek()
			if c == ',' {
				sc.i++
				continue
			}
			if c == '}' {
				sc.i++
				break
			}
			sc.failAt(ReasonInvalidJSON, "expected ',' or '}'")
			return 0, 0, false
		}
	}
	sc.ws()
	if sc.i != len(sc.b) {
		sc.failAt(ReasonInvalidJSON, "trailing data after the event")
		return 0, 0, false
	}
	if d.r.hasDup {
		d.failField = d.fieldName(d.r.dup)
		sc.fail(ReasonDuplicateField, "the field appears more than once in the event")
		return 0, 0, false
	}
	if !d.r.idSet {
		d.failField = d.spec.ID
		sc.fail(ReasonMissingField, "the event id is missing")
		return 0, 0, false
	}
	if d.spec.Key != "" && !d.r.keySet {
		d.failField = d.spec.Key
		sc.fail(ReasonMissingField, "the entity key is missing")
		return 0, 0, false
	}
	for i, set := range d.lookupSet {
		if !set {
			d.failField = d.lookups[i]
			sc.fail(ReasonMissingField, "a feature-set key field is missing")
			return 0, 0, false
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
			d.failField = d.spec.Features[i].Name
			sc.fail(ReasonMissingField, "required feature is missing or null")
			return 0, 0, false
		}
		d.row[i] = d.defaults[i]
		defaulted++
	}
	return d.r.ts, defaulted, true
}

// allSeen8 reports whether seen[i:i+8] are all true, in one comparison (a
// bool is one byte, 0 or 1); the caller has checked that i+8 <= len(seen).
func allSeen8(seen []bool, i int) bool {
	return binary.LittleEndian.Uint64((*[8]byte)(unsafe.Pointer(&seen[i]))[:]) == 0x0101010101010101
}

// field reads the field at position pos of the event, sc.i being at its
// name, and leaves sc.i after its value.
func (d *Decoder) field(pos int) bool {
	sc := &d.sc
	var (
		sl    slot
		known bool
	)
	// Producers write their fields in one order: the name at this
	// position is most often the one the last event had there.
	if pos < len(d.at) && d.at[pos].plain && sc.name(d.at[pos].name) {
		sl, known = d.at[pos].sl, d.at[pos].known
	} else {
		name, ok := sc.str()
		if !ok {
			return false
		}
		sl, known = d.lookupField(pos, name)
	}
	if pos >= d.maxFields {
		return sc.fail(ReasonTooLarge, "more than "+strconv.Itoa(d.maxFields)+" fields")
	}
	sc.skipWS()
	if sc.peek() != ':' {
		return sc.failAt(ReasonInvalidJSON, "expected ':'")
	}
	sc.i++
	sc.skipWS()
	d.curSlot = sl
	switch {
	case !known:
		return sc.skip(1)
	case sl.once() && d.stamp[sl.u] == d.gen:
		// The event is a dead letter once the rest of it has been read,
		// so that a syntax error further on wins.
		if !d.r.hasDup {
			d.r.dup, d.r.hasDup = sl, true
		}
		return sc.skip(1)
	case sl.kinds == slotFeature:
		d.stamp[sl.u] = d.gen
		return d.feature(sl.idx)
	default:
		d.stamp[sl.u] = d.gen
		return d.value(sl)
	}
}

// lookupValue returns the current row's text of a key-template field.
func (d *Decoder) lookupValue(field string) []byte {
	return d.lookup[d.slots[field].lk]
}

func (d *Decoder) setLookup(sl slot, txt []byte) {
	d.lookup[sl.lk] = append(d.lookup[sl.lk][:0], txt...)
	d.lookupSet[sl.lk] = true
}

func (d *Decoder) fieldName(sl slot) string {
	switch {
	case sl.kinds&slotFeature != 0:
		return d.spec.Features[sl.idx].Name
	case sl.kinds&slotPass != 0:
		return d.spec.Passthrough[sl.idx]
	case sl.kinds&slotID != 0:
		return d.spec.ID
	case sl.kinds&slotKey != 0:
		return d.spec.Key
	case sl.kinds&slotLookup != 0 && sl.kinds&slotTime == 0:
		return d.lookups[sl.lk]
	default:
		return d.spec.EventTime
	}
}

func (d *Decoder) mismatch(want string) bool {
	d.failField = d.fieldName(d.curSlot)
	return d.sc.fail(ReasonTypeMismatch, "expected "+want)
}

// value reads the value of a field the schema names.
func (d *Decoder) value(sl slot) bool {
	sc := &d.sc
	start := sc.i
	c := sc.peek()
	switch {
	case sl.kinds&slotFeature != 0:
		return d.feature(sl.idx)
	case sl.kinds&slotPass != 0:
		if sl.kinds&slotLookup != 0 && c == '"' {
			// A passthrough field that also keys a feature set: read the
			// string for the key, keep the raw JSON for the passthrough.
			txt, ok := sc.str()
			if !ok {
				return false
			}
			d.setLookup(sl, txt)
			sc.i = start
		}
		sc.nonStd = false
		if !sc.skip(1) {
			return false
		}
		if sl.kinds&slotLookup != 0 && c != '"' {
			d.setLookup(sl, sc.b[start:sc.i])
		}
		if sc.nonStd {
			// Copied verbatim, it would make the scored event invalid JSON.
			d.failField = d.fieldName(d.curSlot)
			return sc.fail(ReasonNonFinite, "passthrough value holds NaN or Infinity, which JSON cannot carry")
		}
		d.pass[sl.idx] = sc.b[start:sc.i]
		d.passSet[sl.idx] = true
		return true
	case sl.kinds&slotTime != 0 && sl.kinds&(slotID|slotKey) == 0:
		switch {
		case c == '"':
			s, ok := sc.str()
			if !ok {
				return false
			}
			t, err := time.Parse(time.RFC3339Nano, bstr(s))
			if err != nil {
				d.failField = d.fieldName(d.curSlot)
				return sc.fail(ReasonTypeMismatch, "event time is not RFC 3339: "+strconv.Quote(string(s)))
			}
			d.r.ts = t.UnixMilli()
		case c == '-' || (c >= '0' && c <= '9'):
			v, ok := sc.float64()
			if !ok {
				return false
			}
			if !(v >= math.MinInt64 && v < math.MaxInt64) {
				return d.mismatch("epoch milliseconds")
			}
			d.r.ts = int64(v)
		case c == 'n':
			return sc.literal("null")
		default:
			// Invalid JSON (a truncated event) is invalid_json, not a mismatch.
			if !sc.skip(1) {
				return false
			}
			return d.mismatch("an RFC 3339 string or epoch milliseconds")
		}
		d.r.tsSet = true
		return true
	}
	// id and/or key: a string or a number, kept as text.
	var txt []byte
	switch {
	case c == '"':
		s, ok := sc.str()
		if !ok {
			return false
		}
		txt = s
	case c == '-' || (c >= '0' && c <= '9'):
		n, nonStd, ok := sc.number()
		if !ok {
			return false
		}
		if nonStd {
			return d.mismatch("a string or an integer")
		}
		txt = n
	default:
		// Invalid JSON (a truncated event) is invalid_json, not a mismatch.
		if !sc.skip(1) {
			return false
		}
		return d.mismatch("a string or a number")
	}
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
	return true
}

func (d *Decoder) feature(i int) bool {
	if d.tc != nil {
		return d.tc.feature(d, i)
	}
	sc := &d.sc
	if c := sc.peek(); (c == '-' || c-'0' <= 9) && d.kinds[i] <= kindFloat64 {
		// The common case, a plain number for a float feature, converted
		// without strconv when the fast conversions are exact.
		start := sc.i
		if mant, exp, neg, ok := sc.decimal(); ok {
			if d.kinds[i] == kindFloat32 {
				if v, ok := fastFloat32(mant, exp, neg); ok {
					d.row[i] = v
					d.seen[i] = true
					return true
				}
			} else if v, ok := fastFloat64(mant, exp, neg); ok {
				// At most 2^53 × 10^22, inside float32's range.
				d.row[i] = float32(v)
				d.seen[i] = true
				return true
			}
			sc.i = start
		}
	}
	return d.featureSlow(i)
}

// featureSlow reads feature i's value of any kind: null, a bool, a number
// the fast conversions cannot take, or a value of the wrong type.
func (d *Decoder) featureSlow(i int) bool {
	sc := &d.sc
	f := &d.spec.Features[i]
	var v float64
	switch c := sc.peek(); {
	case c == 'n':
		if !sc.literal("null") {
			return false
		}
		d.seen[i] = false
		return true
	case c == 't' || c == 'f':
		if f.Type != TypeBool {
			if c == 't' && !sc.literal("true") || c == 'f' && !sc.literal("false") {
				return false
			}
			return d.mismatch(string(f.Type))
		}
		if c == 't' {
			if !sc.literal("true") {
				return false
			}
			v = 1
		} else if !sc.literal("false") {
			return false
		}
	case c == '-' || (c >= '0' && c <= '9') || c == 'N' || c == 'I':
		txt, nonStd, ok := sc.number()
		if !ok {
			return false
		}
		if f.Type == TypeBool {
			return d.mismatch("bool")
		}
		if nonStd {
			return d.nonFinite(i, f)
		}
		if f.Type == TypeInt64 {
			n, err := strconv.ParseInt(bstr(txt), 10, 64)
			if err != nil {
				return d.mismatch("int64")
			}
			v = float64(n)
			break
		}
		bits := 64
		if f.Type == TypeFloat32 {
			bits = 32
		}
		p, err := strconv.ParseFloat(bstr(txt), bits)
		if err != nil && !math.IsInf(p, 0) {
			return d.mismatch(string(f.Type))
		}
		if math.IsInf(p, 0) || math.IsInf(float64(float32(p)), 0) {
			return d.nonFinite(i, f)
		}
		v = p
	default:
		if !sc.skip(1) {
			return false
		}
		return d.mismatch(string(f.Type))
	}
	d.row[i] = float32(v)
	d.seen[i] = true
	return true
}

func (d *Decoder) nonFinite(i int, f *Feature) bool {
	if d.spec.Limits.NonFinite == NonFiniteDefault && f.Default != nil {
		d.seen[i] = false
		return true
	}
	d.failField = f.Name
	return d.sc.fail(ReasonNonFinite, "value is NaN or infinite")
}
