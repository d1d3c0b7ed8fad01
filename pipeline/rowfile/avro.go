package rowfile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/ocf"
	"github.com/klauspost/compress/zstd"
)

// Avro Object Container Files: the magic "Obj\x01", a metadata map
// holding the writer schema (avro.schema) and the codec (avro.codec), a
// 16-byte sync marker, then blocks of (row count, byte size, rows
// compressed by the codec, sync marker). The framing is read here, with
// every length bounded, so a corrupt or truncated file is an error naming
// the block and row, never a crash or an allocation of a corrupt size;
// hamba/avro parses the schema and its ocf package decompresses deflate
// and snappy blocks.

// MaxAvroBlockBytes bounds one block of an Avro file, compressed and
// decompressed. Writers use blocks of kilobytes to a few megabytes; a
// larger size is taken for corruption.
const MaxAvroBlockBytes = 256 << 20

// maxAvroMeta bounds the header's metadata (the schema and a few keys).
const maxAvroMeta = 64 << 20

// maxEmptyRows bounds the rows of one block of a file whose rows take no
// bytes (every field null), which no size can bound.
const maxEmptyRows = 1 << 20

// maxAvroDepth bounds how deep an Avro schema nests.
const maxAvroDepth = 32

// ErrCorrupt is wrapped by the error of an Avro file whose bytes do not
// follow the format: a bad header, a block cut short, a wrong sync marker,
// a row that does not decode against the file's schema.
var ErrCorrupt = errors.New("corrupt Avro file")

// avroMagic opens every Avro Object Container File.
var avroMagic = []byte{'O', 'b', 'j', 1}

// avroFile is the header of an open Avro file and its block reader.
type avroFile struct {
	path  string
	fh    *os.File
	r     *bufio.Reader
	sync  [16]byte
	codec string
	root  *avroNode
	zstd  *zstd.Decoder
	block int64 // blocks read so far
}

func (f *avroFile) Close() error {
	if f.zstd != nil {
		f.zstd.Close()
	}
	return f.fh.Close()
}

// corrupt returns an error naming the file, wrapping ErrCorrupt.
func (f *avroFile) corrupt(format string, args ...any) error {
	return fmt.Errorf("reading Avro file %s: %w: %s", f.path, ErrCorrupt, fmt.Sprintf(format, args...))
}

// openAvro opens path and reads its header.
func openAvro(path string) (*avroFile, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	f := &avroFile{path: path, fh: fh, r: bufio.NewReaderSize(fh, 64<<10)}
	if err := f.readHeader(); err != nil {
		fh.Close()
		return nil, err
	}
	return f, nil
}

func (f *avroFile) readHeader() error {
	magic := make([]byte, 4)
	if _, err := io.ReadFull(f.r, magic); err != nil || !bytes.Equal(magic, avroMagic) {
		return f.corrupt("it does not start with the Avro magic bytes Obj\\x01 (is it an Avro Object Container File?)")
	}
	meta := map[string][]byte{}
	total := 0
	for {
		n, err := f.varlong()
		if err != nil {
			return f.corrupt("header metadata: %v", err)
		}
		if n == 0 {
			break
		}
		if n < 0 {
			if _, err := f.varlong(); err != nil { // the block's byte size
				return f.corrupt("header metadata: %v", err)
			}
			n = -n
		}
		for range n {
			k, err := f.lenBytes(maxAvroMeta - total)
			if err != nil {
				return f.corrupt("header metadata: %v", err)
			}
			v, err := f.lenBytes(maxAvroMeta - total - len(k))
			if err != nil {
				return f.corrupt("header metadata %q: %v", k, err)
			}
			total += len(k) + len(v)
			meta[string(k)] = v
		}
	}
	if _, err := io.ReadFull(f.r, f.sync[:]); err != nil {
		return f.corrupt("the header ends before its sync marker")
	}
	text, ok := meta["avro.schema"]
	if !ok {
		return f.corrupt("the header holds no avro.schema")
	}
	sch, err := avro.ParseBytesWithCache(text, "", &avro.SchemaCache{})
	if err != nil {
		return fmt.Errorf("reading Avro file %s: parsing its schema: %w", f.path, err)
	}
	rec, ok := sch.(*avro.RecordSchema)
	if !ok {
		return fmt.Errorf("reading Avro file %s: its rows are %s values, not records: streamscore reads a file of records, one row per record", f.path, sch.Type())
	}
	if f.root, err = newAvroNode(rec, 0); err != nil {
		return fmt.Errorf("reading Avro file %s: %w", f.path, err)
	}
	switch f.codec = string(meta["avro.codec"]); f.codec {
	case "", "null":
		f.codec = "null"
	case "deflate", "snappy":
	case "zstandard":
		if f.zstd, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(MaxAvroBlockBytes)); err != nil {
			return fmt.Errorf("reading Avro file %s: %w", f.path, err)
		}
	default:
		return fmt.Errorf("reading Avro file %s: codec %q is not read; write it with null, deflate, snappy or zstandard", f.path, f.codec)
	}
	return nil
}

// varlong reads one zig-zag varint from the file.
func (f *avroFile) varlong() (int64, error) {
	u, err := binary.ReadUvarint(f.r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, io.ErrUnexpectedEOF
		}
		return 0, err
	}
	return int64(u>>1) ^ -int64(u&1), nil
}

// lenBytes reads a length-prefixed byte string of at most limit bytes.
func (f *avroFile) lenBytes(limit int) ([]byte, error) {
	n, err := f.varlong()
	if err != nil {
		return nil, err
	}
	if n < 0 || n > int64(limit) {
		return nil, fmt.Errorf("length %d out of range", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(f.r, b); err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	return b, nil
}

// nextBlock reads the next block: its row count and its decompressed
// rows. At the end of the file it returns io.EOF. data is valid until the
// next call.
func (f *avroFile) nextBlock(skipData bool) (rows int64, data []byte, err error) {
	if _, err := f.r.Peek(1); errors.Is(err, io.EOF) {
		return 0, nil, io.EOF
	}
	f.block++
	rows, err = f.varlong()
	if err != nil {
		return 0, nil, f.corrupt("block %d: the row count is cut short (a truncated file?)", f.block)
	}
	size, err := f.varlong()
	if err != nil {
		return 0, nil, f.corrupt("block %d: the byte size is cut short (a truncated file?)", f.block)
	}
	if rows < 0 || size < 0 || size > MaxAvroBlockBytes {
		return 0, nil, f.corrupt("block %d: %d rows in %d bytes is out of range", f.block, rows, size)
	}
	if rows > size && (!f.root.empty() || rows > maxEmptyRows) {
		// A row takes at least a byte unless every field is null.
		return 0, nil, f.corrupt("block %d: %d rows cannot fit in %d bytes", f.block, rows, size)
	}
	if skipData {
		if _, err := f.r.Discard(int(size)); err != nil {
			return 0, nil, f.corrupt("block %d: %d bytes announced, the file ends before them (a truncated file?)", f.block, size)
		}
	} else {
		// Read what is there rather than allocate what the header
		// claims: a cut or corrupt file announcing a large block costs
		// no more than its own bytes.
		raw, err := io.ReadAll(io.LimitReader(f.r, size))
		if err != nil || int64(len(raw)) != size {
			return 0, nil, f.corrupt("block %d: %d bytes announced, the file ends before them (a truncated file?)", f.block, size)
		}
		if data, err = f.decompress(raw); err != nil {
			return 0, nil, f.corrupt("block %d: decompressing with %s: %v", f.block, f.codec, err)
		}
	}
	var sync [16]byte
	if _, err := io.ReadFull(f.r, sync[:]); err != nil {
		return 0, nil, f.corrupt("block %d: the file ends before the block's sync marker (a truncated file?)", f.block)
	}
	if sync != f.sync {
		return 0, nil, f.corrupt("block %d: the sync marker after the block differs from the header's", f.block)
	}
	return rows, data, nil
}

func (f *avroFile) decompress(raw []byte) ([]byte, error) {
	var (
		out []byte
		err error
	)
	switch f.codec {
	case "null":
		return raw, nil
	case "deflate":
		out, err = (&ocf.DeflateCodec{}).Decode(raw)
	case "snappy":
		out, err = (&ocf.SnappyCodec{}).Decode(raw)
	case "zstandard":
		out, err = f.zstd.DecodeAll(raw, nil)
	}
	if err == nil && len(out) > MaxAvroBlockBytes {
		err = fmt.Errorf("a block decompresses to more than %d bytes", MaxAvroBlockBytes)
	}
	return out, err
}

// avroRows counts the rows of an Avro file from its block headers.
func avroRows(ctx context.Context, path string) (int64, error) {
	f, err := openAvro(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var total int64
	for {
		n, _, err := f.nextBlock(true)
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		total += n
		if f.block%64 == 0 {
			if err := ctx.Err(); err != nil {
				return total, err
			}
		}
	}
}

// avroRecords is Records for an Avro file: each record holds up to batch
// rows, one column per top-level field of the writer schema (of those
// named by columns, when columns is not nil).
func avroRecords(ctx context.Context, path string, columns []string, batch int, fn func(rec arrow.Record) error) error {
	f, err := openAvro(path)
	if err != nil {
		return err
	}
	defer f.Close()
	root := f.root
	keep := make([]bool, len(root.fields))
	var fields []arrow.Field
	for i, c := range root.fields {
		keep[i] = columns == nil
		for _, name := range columns {
			keep[i] = keep[i] || name == c.name
		}
		if keep[i] {
			fields = append(fields, arrow.Field{Name: c.name, Type: c.node.arrowType(), Nullable: true})
		}
	}
	b := array.NewRecordBuilder(memory.NewGoAllocator(), arrow.NewSchema(fields, nil))
	defer b.Release()
	builders := make([]array.Builder, len(root.fields))
	for i, j := 0, 0; i < len(root.fields); i++ {
		if keep[i] {
			builders[i] = b.Field(j)
			j++
		}
	}
	var (
		row     int64 // rows read from the file
		pending int
	)
	flush := func() error {
		rec := b.NewRecord()
		defer rec.Release()
		pending = 0
		if err := fn(rec); err != nil {
			return err
		}
		return ctx.Err()
	}
	for {
		n, data, err := f.nextBlock(false)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		d := avroDecoder{b: data}
		for range n {
			row++
			for i, c := range root.fields {
				if !c.node.read(&d, builders[i], 0) {
					return f.corrupt("row %d (block %d): field %q: %s", row, f.block, c.name, d.err)
				}
			}
			if pending++; pending == batch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if len(d.b) != d.off {
			return f.corrupt("block %d: %d bytes left after its %d rows", f.block, len(d.b)-d.off, n)
		}
	}
	if pending > 0 {
		return flush()
	}
	return nil
}

// avroKind is the kind of an Avro schema node.
type avroKind uint8

const (
	avNull avroKind = iota
	avBool
	avInt
	avLong
	avFloat
	avDouble
	avBytes
	avString
	avFixed
	avEnum
	avArray
	avMap
	avRecord
	avUnion
)

// avroNode is an Avro schema compiled for reading rows into Arrow.
type avroNode struct {
	kind    avroKind
	unit    arrow.TimeUnit // timestamps (ts set)
	ts      bool
	days    bool // date: days since the epoch, read as a millisecond timestamp
	decimal bool // bytes or fixed holding a decimal, read as float64
	scale   int
	size    int // fixed
	symbols []string
	items   *avroNode   // array and map values
	fields  []avroField // record
	// union: the branches, and which one is null (-1: none). A union of
	// null and one other type is read as that type, nullable.
	branches []*avroNode
	nullAt   int
	value    *avroNode // the union's one non-null branch
}

type avroField struct {
	name string
	node *avroNode
}

// empty reports whether a row of this record can take zero bytes.
func (n *avroNode) empty() bool {
	if n.kind != avRecord {
		return n.kind == avNull
	}
	for _, f := range n.fields {
		if !f.node.empty() {
			return false
		}
	}
	return true
}

func newAvroNode(s avro.Schema, depth int) (*avroNode, error) {
	if depth > maxAvroDepth {
		return nil, fmt.Errorf("the schema nests deeper than %d levels (a recursive type?); streamscore reads flat rows", maxAvroDepth)
	}
	switch s := s.(type) {
	case *avro.RefSchema:
		return newAvroNode(s.Schema(), depth+1)
	case *avro.NullSchema:
		return &avroNode{kind: avNull}, nil
	case *avro.PrimitiveSchema:
		n := &avroNode{}
		switch s.Type() {
		case avro.Boolean:
			n.kind = avBool
		case avro.Int:
			n.kind = avInt
		case avro.Long:
			n.kind = avLong
		case avro.Float:
			n.kind = avFloat
		case avro.Double:
			n.kind = avDouble
		case avro.Bytes:
			n.kind = avBytes
		case avro.String:
			n.kind = avString
		case avro.Null:
			n.kind = avNull
		default:
			return nil, fmt.Errorf("unsupported Avro type %s", s.Type())
		}
		if l := s.Logical(); l != nil {
			switch l.Type() {
			case avro.TimestampMillis, avro.LocalTimestampMillis:
				n.ts, n.unit = n.kind == avLong, arrow.Millisecond
			case avro.TimestampMicros, avro.LocalTimestampMicros:
				n.ts, n.unit = n.kind == avLong, arrow.Microsecond
			case "timestamp-nanos", "local-timestamp-nanos":
				n.ts, n.unit = n.kind == avLong, arrow.Nanosecond
			case avro.Date:
				n.days = n.kind == avInt
			case avro.Decimal:
				if d, ok := l.(*avro.DecimalLogicalSchema); ok && n.kind == avBytes {
					n.decimal, n.scale = true, d.Scale()
				}
			}
		}
		return n, nil
	case *avro.FixedSchema:
		n := &avroNode{kind: avFixed, size: s.Size()}
		if d, ok := s.Logical().(*avro.DecimalLogicalSchema); ok && d != nil {
			n.decimal, n.scale = true, d.Scale()
		}
		return n, nil
	case *avro.EnumSchema:
		return &avroNode{kind: avEnum, symbols: s.Symbols()}, nil
	case *avro.ArraySchema:
		it, err := newAvroNode(s.Items(), depth+1)
		if err != nil {
			return nil, err
		}
		return &avroNode{kind: avArray, items: it}, nil
	case *avro.MapSchema:
		it, err := newAvroNode(s.Values(), depth+1)
		if err != nil {
			return nil, err
		}
		return &avroNode{kind: avMap, items: it}, nil
	case *avro.RecordSchema:
		n := &avroNode{kind: avRecord}
		for _, fl := range s.Fields() {
			c, err := newAvroNode(fl.Type(), depth+1)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", fl.Name(), err)
			}
			n.fields = append(n.fields, avroField{name: fl.Name(), node: c})
		}
		return n, nil
	case *avro.UnionSchema:
		n := &avroNode{kind: avUnion, nullAt: -1}
		for i, t := range s.Types() {
			c, err := newAvroNode(t, depth+1)
			if err != nil {
				return nil, err
			}
			n.branches = append(n.branches, c)
			if c.kind == avNull {
				n.nullAt = i
			} else if n.value == nil {
				n.value = c
			} else {
				return nil, fmt.Errorf("a union of several types (%s) is not read: write a single type, or null and one type", s.String())
			}
		}
		if n.value == nil {
			n.value = &avroNode{kind: avNull}
		}
		return n, nil
	}
	return nil, fmt.Errorf("unsupported Avro type %s", s.Type())
}

// arrowType returns the Arrow type a node is read as: Avro's primitive
// types as their Arrow peers, timestamps and dates as timestamps, decimals
// as float64, enums as strings, fixed as binary, arrays as lists, maps as
// maps from string, records as structs, null-or-T unions as T.
func (n *avroNode) arrowType() arrow.DataType {
	switch n.kind {
	case avBool:
		return arrow.FixedWidthTypes.Boolean
	case avInt:
		if n.days {
			return arrow.FixedWidthTypes.Timestamp_ms
		}
		return arrow.PrimitiveTypes.Int32
	case avLong:
		if n.ts {
			return &arrow.TimestampType{Unit: n.unit, TimeZone: "UTC"}
		}
		return arrow.PrimitiveTypes.Int64
	case avFloat:
		return arrow.PrimitiveTypes.Float32
	case avDouble:
		return arrow.PrimitiveTypes.Float64
	case avBytes, avFixed:
		if n.decimal {
			return arrow.PrimitiveTypes.Float64
		}
		return arrow.BinaryTypes.Binary
	case avString, avEnum:
		return arrow.BinaryTypes.String
	case avArray:
		return arrow.ListOf(n.items.arrowType())
	case avMap:
		return arrow.MapOf(arrow.BinaryTypes.String, n.items.arrowType())
	case avRecord:
		fs := make([]arrow.Field, len(n.fields))
		for i, f := range n.fields {
			fs[i] = arrow.Field{Name: f.name, Type: f.node.arrowType(), Nullable: true}
		}
		return arrow.StructOf(fs...)
	case avUnion:
		return n.value.arrowType()
	}
	return arrow.Null
}

// avroDecoder reads Avro binary values from one decompressed block.
type avroDecoder struct {
	b   []byte
	off int
	err string
}

func (d *avroDecoder) fail(msg string) bool {
	if d.err == "" {
		d.err = msg
	}
	return false
}

func (d *avroDecoder) long() (int64, bool) {
	u, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		if n == 0 {
			return 0, d.fail("the value is cut short")
		}
		return 0, d.fail("an integer overflows 64 bits")
	}
	d.off += n
	return int64(u>>1) ^ -int64(u&1), true
}

func (d *avroDecoder) take(n int64) ([]byte, bool) {
	if n < 0 || n > int64(len(d.b)-d.off) {
		return nil, d.fail(fmt.Sprintf("a length of %d is out of range (%d bytes left in the block)", n, len(d.b)-d.off))
	}
	b := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return b, true
}

func (d *avroDecoder) bytes() ([]byte, bool) {
	n, ok := d.long()
	if !ok {
		return nil, false
	}
	return d.take(n)
}

// blockCount reads the count of an array or map block (a negative count
// is followed by the block's byte size).
func (d *avroDecoder) blockCount() (int64, bool) {
	n, ok := d.long()
	if !ok {
		return 0, false
	}
	if n < 0 {
		if _, ok := d.long(); !ok {
			return 0, false
		}
		n = -n
	}
	if n > int64(len(d.b)-d.off) && n > 0 {
		// Every item takes at least one byte unless it is null; a count
		// past the block is corruption, not a reason to loop.
		return 0, d.fail(fmt.Sprintf("%d items cannot fit in the %d bytes left in the block", n, len(d.b)-d.off))
	}
	return n, true
}

// decimalFloat converts a big-endian two's-complement unscaled decimal.
func decimalFloat(b []byte, scale int) float64 {
	var x float64
	for _, c := range b {
		x = x*256 + float64(c)
	}
	if len(b) > 0 && b[0]&0x80 != 0 {
		x -= math.Pow(256, float64(len(b)))
	}
	return x / math.Pow10(scale)
}

// read reads one value of n and appends it to b (nil: the value is
// skipped). It returns false with d.err set when the bytes do not decode.
func (n *avroNode) read(d *avroDecoder, b array.Builder, depth int) bool {
	if depth > maxAvroDepth {
		return d.fail("values nest too deep")
	}
	switch n.kind {
	case avNull:
		if b != nil {
			b.AppendNull()
		}
		return true
	case avBool:
		v, ok := d.take(1)
		if !ok {
			return false
		}
		if v[0] > 1 {
			return d.fail(fmt.Sprintf("a boolean byte is %d", v[0]))
		}
		if b != nil {
			b.(*array.BooleanBuilder).Append(v[0] == 1)
		}
		return true
	case avInt, avLong:
		v, ok := d.long()
		if !ok {
			return false
		}
		if n.kind == avInt && (v < math.MinInt32 || v > math.MaxInt32) {
			return d.fail(fmt.Sprintf("an int of %d overflows 32 bits", v))
		}
		switch bb := b.(type) {
		case nil:
		case *array.Int32Builder:
			bb.Append(int32(v))
		case *array.Int64Builder:
			bb.Append(v)
		case *array.TimestampBuilder:
			if n.days {
				v *= 86400000
			}
			bb.Append(arrow.Timestamp(v))
		}
		return true
	case avFloat:
		v, ok := d.take(4)
		if !ok {
			return false
		}
		if b != nil {
			b.(*array.Float32Builder).Append(math.Float32frombits(binary.LittleEndian.Uint32(v)))
		}
		return true
	case avDouble:
		v, ok := d.take(8)
		if !ok {
			return false
		}
		if b != nil {
			b.(*array.Float64Builder).Append(math.Float64frombits(binary.LittleEndian.Uint64(v)))
		}
		return true
	case avBytes, avFixed, avString:
		var (
			v  []byte
			ok bool
		)
		if n.kind == avFixed {
			v, ok = d.take(int64(n.size))
		} else {
			v, ok = d.bytes()
		}
		if !ok {
			return false
		}
		switch bb := b.(type) {
		case nil:
		case *array.Float64Builder:
			bb.Append(decimalFloat(v, n.scale))
		case *array.StringBuilder:
			bb.BinaryBuilder.Append(v)
		case *array.BinaryBuilder:
			bb.Append(v)
		}
		return true
	case avEnum:
		i, ok := d.long()
		if !ok {
			return false
		}
		if i < 0 || i >= int64(len(n.symbols)) {
			return d.fail(fmt.Sprintf("enum index %d is out of range (%d symbols)", i, len(n.symbols)))
		}
		if b != nil {
			b.(*array.StringBuilder).Append(n.symbols[i])
		}
		return true
	case avArray, avMap:
		var (
			items array.Builder
			keys  *array.StringBuilder
		)
		switch bb := b.(type) {
		case *array.ListBuilder:
			bb.Append(true)
			items = bb.ValueBuilder()
		case *array.MapBuilder:
			bb.Append(true)
			keys, items = bb.KeyBuilder().(*array.StringBuilder), bb.ItemBuilder()
		}
		for {
			cnt, ok := d.blockCount()
			if !ok {
				return false
			}
			if cnt == 0 {
				return true
			}
			for range cnt {
				if n.kind == avMap {
					k, ok := d.bytes()
					if !ok {
						return false
					}
					if keys != nil {
						keys.BinaryBuilder.Append(k)
					}
				}
				if !n.items.read(d, items, depth+1) {
					return false
				}
			}
		}
	case avRecord:
		sb, _ := b.(*array.StructBuilder)
		if sb != nil {
			sb.Append(true)
		}
		for i, f := range n.fields {
			var fb array.Builder
			if sb != nil {
				fb = sb.FieldBuilder(i)
			}
			if !f.node.read(d, fb, depth+1) {
				return false
			}
		}
		return true
	case avUnion:
		i, ok := d.long()
		if !ok {
			return false
		}
		if i < 0 || i >= int64(len(n.branches)) {
			return d.fail(fmt.Sprintf("union branch %d is out of range (%d branches)", i, len(n.branches)))
		}
		if int(i) == n.nullAt {
			if b != nil {
				b.AppendNull()
			}
			return true
		}
		return n.value.read(d, b, depth+1)
	}
	return d.fail("unknown type")
}
