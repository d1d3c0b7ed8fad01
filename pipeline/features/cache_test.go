package features

import (
	"fmt"
	"slices"
	"testing"
)

func TestCacheTTLAndNegativeEntries(t *testing.T) {
	c := newCache(100, 2, 0)
	c.put("a", statusOK, 0, []float32{1, 2}, nil, 100)
	c.put("b", statusAbsent, 0, nil, nil, 50)
	dst := make([]float32, 2)
	if st, _, ok := c.get("a", 99, dst, nil); !ok || st != statusOK || !slices.Equal(dst, []float32{1, 2}) {
		t.Fatalf("get a = %v %v %v", st, ok, dst)
	}
	if _, _, ok := c.get("a", 100, dst, nil); ok {
		t.Fatal("entry a served at its expiry")
	}
	if st, _, ok := c.get("b", 10, dst, nil); !ok || st != statusAbsent {
		t.Fatalf("negative entry b = %v %v", st, ok)
	}
	if _, _, ok := c.get("c", 0, dst, nil); ok {
		t.Fatal("unknown key hit")
	}
	c.put("a", statusPartial, 1, []float32{7, 8}, nil, 200)
	if st, nm, ok := c.get("a", 150, dst, nil); !ok || st != statusPartial || nm != 1 || !slices.Equal(dst, []float32{7, 8}) {
		t.Fatalf("overwritten a = %v %d %v %v", st, nm, ok, dst)
	}
}

func TestCacheStaysWithinSizeAndKeepsReferencedEntries(t *testing.T) {
	const size = 64
	c := newCache(size, 1, 0)
	if len(c.shards) != 1 {
		t.Fatalf("%d shards for %d entries, want 1", len(c.shards), size)
	}
	dst := make([]float32, 1)
	hot := "hot"
	c.put(hot, statusOK, 0, []float32{42}, nil, 1<<62)
	for i := range 10 * size {
		c.put(fmt.Sprint("cold", i), statusOK, 0, []float32{float32(i)}, nil, 1<<62)
		// A key read between insertions keeps its reference bit set, so
		// the clock passes it over.
		if _, _, ok := c.get(hot, 0, dst, nil); !ok {
			t.Fatalf("hot key evicted after %d insertions", i+1)
		}
		if n := c.len(); n > size {
			t.Fatalf("cache holds %d entries, bound %d", n, size)
		}
	}
	if _, _, ok := c.get("cold0", 0, dst, nil); ok {
		t.Fatal("the oldest unreferenced key survived 10 rounds of the clock")
	}
}

func TestCacheShardsBoundTheTotal(t *testing.T) {
	c := newCache(10_000, 3, 0)
	dst := make([]float32, 3)
	for i := range 50_000 {
		c.put(fmt.Sprint("k", i), statusOK, 0, []float32{1, 2, 3}, nil, 1<<62)
	}
	if n := c.len(); n > 10_000+len(c.shards) || n < 9_000 {
		t.Fatalf("cache holds %d entries for a bound of 10000", n)
	}
	if _, _, ok := c.get("k49999", 0, dst, nil); !ok {
		t.Fatal("the newest key is not cached")
	}
}
