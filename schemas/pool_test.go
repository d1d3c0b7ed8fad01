package schemas_test

import (
	"sync"
	"testing"
	"unsafe"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
)

func TestBufferPoolReusesZeroedAlignedBuffers(t *testing.T) {
	p := schemas.NewBufferPool(1 << 20)
	a := p.Allocate(1000)
	if len(a) != 1000 || cap(a) != 1024 {
		t.Fatalf("Allocate(1000): len %d cap %d, want 1000 and the size class 1024", len(a), cap(a))
	}
	if uintptr(unsafe.Pointer(&a[0]))%64 != 0 {
		t.Fatal("buffer is not 64-byte aligned")
	}
	for i := range a {
		a[i] = 0xff
	}
	p.Free(a)
	if p.Held() != 1024 {
		t.Fatalf("held %d after one free, want 1024", p.Held())
	}
	b := p.Allocate(900)
	if &b[0] != &a[0] {
		t.Fatal("a released buffer of the same class was not reused")
	}
	for i, v := range b {
		if v != 0 {
			t.Fatalf("reused buffer byte %d = %#x, want zero", i, v)
		}
	}
	if p.Held() != 0 {
		t.Fatalf("held %d after reuse, want 0", p.Held())
	}
	// Growing in place zeroes the new tail; growing past the class moves
	// the contents to a new buffer and takes the old one back.
	b[0] = 7
	b = b[:10]
	b[9] = 9
	b = p.Reallocate(20, b)
	if b[9] != 9 || b[10] != 0 || b[19] != 0 {
		t.Fatalf("in-place growth: %v", b[:20])
	}
	c := p.Reallocate(5000, b)
	if c[0] != 7 || c[9] != 9 || len(c) != 5000 || cap(c) != 8192 {
		t.Fatalf("growth past the class: len %d cap %d, first bytes %v", len(c), cap(c), c[:10])
	}
	if p.Held() != 1024 {
		t.Fatalf("held %d after growth, want the old 1024-byte buffer", p.Held())
	}
}

func TestBufferPoolHoldsAtMostItsLimit(t *testing.T) {
	p := schemas.NewBufferPool(3000)
	bufs := [][]byte{p.Allocate(1024), p.Allocate(1024), p.Allocate(1024), p.Allocate(100 << 20)}
	for _, b := range bufs {
		p.Free(b)
	}
	if p.Held() != 2048 {
		t.Fatalf("held %d, want 2048: two 1 KiB buffers fit the 3000-byte limit, and 100 MiB is past the largest class", p.Held())
	}
	// A slice not from the pool (capacity not a size class) is not kept.
	p.Free(make([]byte, 10, 1000))
	if p.Held() != 2048 {
		t.Fatalf("held %d after freeing a foreign slice", p.Held())
	}
}

// TestDecodeIntoPoolMatchesGoAllocator decodes different batches one after
// another into one pool, each released before the next, from all three
// formats, and compares every record with a decode into fresh Go memory:
// no reused buffer may leak bytes from an earlier batch (the builders
// must not rely on zeroed memory that the pool did not clear).
func TestDecodeIntoPoolMatchesGoAllocator(t *testing.T) {
	pool := schemas.NewBufferPool(0)
	for _, format := range []string{"json", "avro", "protobuf"} {
		spec, msgs, _ := benchFormatBatch(t, format)
		pooled := schemas.NewDecoder(spec, pool)
		fresh := schemas.NewDecoder(spec, memory.NewGoAllocator())
		for _, part := range [][]schemas.Message{msgs, msgs[:7], msgs[100:613], msgs[1:2], msgs[5:]} {
			got, want := pooled.Decode(part), fresh.Decode(part)
			if !array.RecordEqual(got.Record, want.Record) || len(got.Errors) != len(want.Errors) {
				t.Fatalf("%s, %d events: the pooled decode differs from a decode into fresh memory", format, len(part))
			}
			got.Release()
			want.Release()
		}
	}
	if pool.Held() == 0 {
		t.Fatal("the pool holds nothing after the batches were released")
	}
}

func TestBufferPoolConcurrentUse(t *testing.T) {
	p := schemas.NewBufferPool(0)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				b := p.Allocate(64 << (i % 8))
				for j := range b {
					if b[j] != 0 {
						t.Errorf("goroutine %d: byte %d of a fresh buffer is %#x", g, j, b[j])
						return
					}
					b[j] = byte(g + 1)
				}
				p.Free(b)
			}
		})
	}
	wg.Wait()
}
