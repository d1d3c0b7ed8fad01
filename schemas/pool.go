package schemas

import (
	"math/bits"
	"sync"
	"unsafe"

	"github.com/apache/arrow/go/v15/arrow/memory"
)

// BufferPool is an Arrow allocator that keeps released buffers for reuse,
// by power-of-two size class, up to a bound on the bytes it holds. A
// scorer decodes every batch into buffers of the same few sizes (the
// feature matrix, id, key and passthrough columns, their offsets and
// bitmaps); with the Go allocator each batch's ~190 KiB (1024 standard
// events) is garbage the collector must find, which costs about a third of
// binary formats' decoding CPU. With the pool a decoded batch allocates
// almost nothing once the first few batches have been released.
//
// The contract that comes with it: a buffer's memory is handed out again
// as soon as its Arrow buffer is released. array.String.Value and
// array.Binary.Value return strings and slices that alias the buffer, so
// whatever outlives the record's Release must be copied (strings.Clone),
// as the feature store's cache keys and the replay collector's rows are.
// The engine releases a batch only after its scored events were encoded
// into memory of its own and published.
//
// It is safe for concurrent use: a batch is decoded on one goroutine and
// released on another.
type BufferPool struct {
	mu    sync.Mutex
	free  [maxPoolClass + 1][][]byte
	held  int
	limit int
}

// Size classes run from 64 bytes (class 6) to 16 MiB (class 24); larger
// buffers are allocated and freed as the Go allocator does.
const (
	minPoolClass = 6
	maxPoolClass = 24
)

// NewBufferPool returns a pool that holds at most limit bytes of released
// buffers (0 means 64 MiB); a buffer released beyond that is left to the
// garbage collector.
func NewBufferPool(limit int) *BufferPool {
	if limit <= 0 {
		limit = 64 << 20
	}
	return &BufferPool{limit: limit}
}

func sizeClass(n int) int {
	return max(bits.Len(uint(max(n, 1)-1)), minPoolClass)
}

// Allocate returns a zeroed, 64-byte aligned buffer of size bytes whose
// capacity is its size class.
func (p *BufferPool) Allocate(size int) []byte {
	c := sizeClass(size)
	if c > maxPoolClass {
		return alignedMake(size, size)
	}
	p.mu.Lock()
	if l := p.free[c]; len(l) > 0 {
		b := l[len(l)-1]
		l[len(l)-1] = nil
		p.free[c] = l[:len(l)-1]
		p.held -= cap(b)
		p.mu.Unlock()
		b = b[:size]
		clear(b)
		return b
	}
	p.mu.Unlock()
	return alignedMake(size, 1<<c)
}

// Reallocate grows b to size bytes, keeping its contents: in place while
// its capacity allows (the bytes past the old length are zeroed), else in
// a new buffer, and b goes back to the pool.
func (p *BufferPool) Reallocate(size int, b []byte) []byte {
	if cap(b) >= size {
		old := len(b)
		b = b[:size]
		if size > old {
			clear(b[old:])
		}
		return b
	}
	nb := p.Allocate(size)
	copy(nb, b)
	p.Free(b)
	return nb
}

// Free takes back a buffer that Allocate or Reallocate returned.
func (p *BufferPool) Free(b []byte) {
	c := sizeClass(cap(b))
	if c > maxPoolClass || cap(b) != 1<<c {
		return
	}
	p.mu.Lock()
	if p.held+cap(b) <= p.limit {
		p.free[c] = append(p.free[c], b[:0])
		p.held += cap(b)
	}
	p.mu.Unlock()
}

// Held returns the bytes of released buffers the pool keeps.
func (p *BufferPool) Held() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held
}

// alignedMake returns size zeroed bytes, 64-byte aligned, with capacity
// capacity (as memory.GoAllocator aligns its buffers).
func alignedMake(size, capacity int) []byte {
	buf := make([]byte, capacity+64)
	shift := int(-uintptr(unsafe.Pointer(unsafe.SliceData(buf))) & 63)
	return buf[shift : shift+size : shift+capacity]
}

var _ memory.Allocator = (*BufferPool)(nil)
