package schemas_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
)

// TestDecodeColumnsMatchBuilders checks the columns Decode writes straight
// into buffers against the same batch built with Arrow's builders: batches
// whose failed events sit between good ones, whose passthrough fields are
// null first, last or never, whose strings outgrow the size the previous
// batch suggested, and batches with no good event at all. The decoder is
// reused across the batches, as a scorer reuses it, and every buffer must
// be released with the record.
func TestDecodeColumnsMatchBuilders(t *testing.T) {
	t.Run("go", func(t *testing.T) { testDecodeColumns(t, memory.NewGoAllocator()) })
	// An allocator that hands out memory full of junk: the columns must
	// not count on zeroed buffers.
	t.Run("dirty", func(t *testing.T) { testDecodeColumns(t, dirtyAllocator{memory.NewGoAllocator()}) })
	t.Run("pool", func(t *testing.T) { testDecodeColumns(t, schemas.NewBufferPool(0)) })
}

// dirtyAllocator fills every buffer it allocates with 0xa5 bytes.
type dirtyAllocator struct{ memory.Allocator }

func (a dirtyAllocator) Allocate(n int) []byte {
	b := a.Allocator.Allocate(n)
	for i := range b {
		b[i] = 0xa5
	}
	return b
}

func (a dirtyAllocator) Reallocate(n int, old []byte) []byte {
	b := a.Allocate(n)
	copy(b, old)
	a.Free(old)
	return b
}

func testDecodeColumns(t *testing.T, base memory.Allocator) {
	spec := parseSpec(t, testSpec+"feature_sets:\n  - {name: acct, key: \"acct:{user}\", features: [{name: bal, default: 2}]}\n")
	mem := memory.NewCheckedAllocator(base)
	d := schemas.NewDecoder(spec, mem)
	type row struct {
		id, user, merchant, meta string // "" merchant/meta: absent (null)
		f32                      float32
		bad                      bool
	}
	batches := [][]row{
		{{id: "a", user: "u1", f32: 1, meta: "[1]"}, {bad: true}, {id: "b", user: "u2", f32: 2, merchant: "m"}, {id: "c", user: "u3", f32: 3}},
		{{bad: true}, {bad: true}},
		{},
		// Strings ten times longer than the first batch's: the data buffers
		// grow past the size the last batch's bytes per row gave them.
		{{id: strings.Repeat("long-id-", 40), user: strings.Repeat("u", 300), f32: -1, merchant: strings.Repeat("x", 500)}, {id: "d", user: "u4", f32: 4, meta: "{}"}},
		{{id: "e", user: "u5", f32: 5, merchant: "m5", meta: "null-free"}, {id: "f", user: "u6", f32: 6}, {bad: true}},
	}
	for bi, rows := range batches {
		var msgs []schemas.Message
		for i, r := range rows {
			v := `{"id":` + strconv.Quote(r.id) + `,"user":` + strconv.Quote(r.user) + `,"ts":` + strconv.Itoa(1000+i) + `,"f32":` + strconv.FormatFloat(float64(r.f32), 'g', -1, 32)
			if r.merchant != "" {
				v += `,"merchant":` + strconv.Quote(r.merchant)
			}
			if r.meta != "" {
				v += `,"meta":` + strconv.Quote(r.meta)
			}
			v += "}"
			if r.bad {
				v = `{"id":"bad","f32":`
			}
			msgs = append(msgs, schemas.Message{Value: []byte(v), Time: msgTime})
		}
		out := d.Decode(msgs)

		b := array.NewRecordBuilder(memory.NewGoAllocator(), spec.Arrow())
		good := 0
		for i, r := range rows {
			if r.bad {
				continue
			}
			good++
			b.Field(0).(*array.StringBuilder).Append(r.id)
			b.Field(1).(*array.StringBuilder).Append(r.user)
			b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(1000 + i))
			lb := b.Field(3).(*array.FixedSizeListBuilder)
			lb.Append(true)
			lb.ValueBuilder().(*array.Float32Builder).AppendValues([]float32{r.f32, 1.5, -1, 0, 2}, nil)
			for j, p := range []string{r.merchant, r.meta} {
				if p == "" {
					b.Field(4 + j).(*array.StringBuilder).AppendNull()
				} else {
					b.Field(4 + j).(*array.StringBuilder).Append(strconv.Quote(p))
				}
			}
			b.Field(6).(*array.StringBuilder).Append("acct:" + r.user)
		}
		want := b.NewRecord()
		b.Release()
		if len(out.Errors) != len(rows)-good {
			t.Errorf("batch %d: %d errors, want %d", bi, len(out.Errors), len(rows)-good)
		}
		if !array.RecordEqual(out.Record, want) {
			t.Errorf("batch %d: decoded record differs from the builders'\ngot:  %v\nwant: %v", bi, out.Record, want)
		}
		for c, col := range out.Record.Columns() {
			if got, wantN := col.NullN(), want.Column(c).NullN(); got != wantN {
				t.Errorf("batch %d column %d: %d nulls, want %d", bi, c, got, wantN)
			}
		}
		want.Release()
		out.Release()
		mem.AssertSize(t, 0)
	}
}
