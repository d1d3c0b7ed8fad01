package schemas

import (
	"unsafe"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/bitutil"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// The batch's fixed columns (id, key, event time, the feature matrix,
// passthrough and feature-set keys) are written straight into allocator
// buffers, one row after another, instead of through Arrow's builders:
// BinaryBuilder.Append checks capacity three times and goes through two
// calls per value, which for the binary formats was a tenth of decoding.
// The buffers are sized for the batch up front; only a string column's
// bytes can outgrow their first size.

// strColumn writes one utf8 column: int32 offsets, the values' bytes, and a
// validity bitmap only once a null has been written.
type strColumn struct {
	mem         memory.Allocator
	offs, data  *memory.Buffer
	valid       *memory.Buffer
	off         []int32 // offs as int32s, rows+1 long
	dat         []byte  // data's whole buffer; used bytes are dat[:off[n]]
	n, nulls    int
	rows        int
	bytesPerRow float64 // the last batch's, to size the next one's data
}

// begin starts a column of at most rows rows.
func (c *strColumn) begin(mem memory.Allocator, rows int) {
	c.mem, c.rows, c.n, c.nulls, c.valid = mem, rows, 0, 0, nil
	c.offs = memory.NewResizableBuffer(mem)
	c.offs.Resize(4 * (rows + 1))
	c.off = unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(c.offs.Bytes()))), rows+1)
	c.off[0] = 0
	c.data = memory.NewResizableBuffer(mem)
	// As many bytes per row as the last batch had, and a little more,
	// instead of growing from nothing by doubling.
	if hint := int(c.bytesPerRow*float64(rows)*1.125) + 64; c.bytesPerRow > 0 {
		c.data.Reserve(hint)
	}
	c.dat = c.data.Buf()
}

// append writes v as the next row's value.
func (c *strColumn) append(v []byte) {
	end := int(c.off[c.n])
	if end+len(v) > len(c.dat) {
		c.grow(end + len(v))
	}
	copy(c.dat[end:], v)
	c.n++
	c.off[c.n] = int32(end + len(v))
	if c.valid != nil {
		bitutil.SetBit(c.valid.Bytes(), c.n-1)
	}
}

// grow makes the data buffer hold at least need bytes.
func (c *strColumn) grow(need int) {
	c.data.Reserve(max(need, 2*len(c.dat), 256))
	c.dat = c.data.Buf()
}

// appendNull writes a null as the next row's value.
func (c *strColumn) appendNull() {
	if c.valid == nil {
		c.valid = memory.NewResizableBuffer(c.mem)
		c.valid.Resize(int(bitutil.BytesForBits(int64(c.rows))))
		// Not every allocator zeroes what it hands out.
		clear(c.valid.Bytes())
		bitutil.SetBitsTo(c.valid.Bytes(), 0, int64(c.n), true)
	}
	c.off[c.n+1] = c.off[c.n]
	c.n++
	c.nulls++
}

// finish returns the column's array and gives up its buffers.
func (c *strColumn) finish() arrow.Array {
	used := int(c.off[c.n])
	c.offs.ResizeNoShrink(4 * (c.n + 1))
	c.data.ResizeNoShrink(used)
	if c.n > 0 {
		c.bytesPerRow = float64(used) / float64(c.n)
	}
	data := array.NewData(arrow.BinaryTypes.String, c.n, []*memory.Buffer{c.valid, c.offs, c.data}, nil, c.nulls, 0)
	arr := array.NewStringData(data)
	data.Release()
	for _, b := range []*memory.Buffer{c.valid, c.offs, c.data} {
		if b != nil {
			b.Release()
		}
	}
	c.offs, c.data, c.valid, c.off, c.dat = nil, nil, nil, nil, nil
	return arr
}

// fixedColumns holds the buffers of the event-time column and the feature
// matrix while a batch is decoded.
type fixedColumns struct {
	ts     *memory.Buffer
	tsv    []int64
	mat    *memory.Buffer
	matv   []float32
	width  int
	tsTy   arrow.DataType
	listTy arrow.DataType
}

// begin starts the columns of at most rows rows, with width features a row
// and the record's types for the two columns.
func (f *fixedColumns) begin(mem memory.Allocator, rows, width int, tsTy, listTy arrow.DataType) {
	f.width, f.tsTy, f.listTy = width, tsTy, listTy
	f.ts = memory.NewResizableBuffer(mem)
	f.ts.Resize(8 * rows)
	f.tsv = unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(f.ts.Bytes()))), rows)
	f.mat = memory.NewResizableBuffer(mem)
	f.mat.Resize(4 * rows * width)
	f.matv = unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(f.mat.Bytes()))), rows*width)
}

// row returns row r's slice of the feature matrix.
func (f *fixedColumns) row(r int) []float32 {
	return f.matv[r*f.width : (r+1)*f.width : (r+1)*f.width]
}

// finish returns the event-time and feature columns of rows rows.
func (f *fixedColumns) finish(rows int) (ts, feats arrow.Array) {
	f.ts.ResizeNoShrink(8 * rows)
	f.mat.ResizeNoShrink(4 * rows * f.width)
	tsData := array.NewData(f.tsTy, rows, []*memory.Buffer{nil, f.ts}, nil, 0, 0)
	valData := array.NewData(arrow.PrimitiveTypes.Float32, rows*f.width, []*memory.Buffer{nil, f.mat}, nil, 0, 0)
	listData := array.NewData(f.listTy, rows, []*memory.Buffer{nil}, []arrow.ArrayData{valData}, 0, 0)
	ts, feats = array.MakeFromData(tsData), array.MakeFromData(listData)
	tsData.Release()
	valData.Release()
	listData.Release()
	f.ts.Release()
	f.mat.Release()
	f.ts, f.mat, f.tsv, f.matv = nil, nil, nil, nil
	return ts, feats
}
