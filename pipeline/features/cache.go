package features

import (
	"hash/maphash"
	"sync"
)

// status says whether an entity's features were found, and if not, why.
type status uint8

const (
	statusOK status = iota
	statusAbsent
	statusStale
	statusVersion
	statusMalformed
	// statusPartial: a hash lacked some fields (or one did not parse);
	// those features keep their defaults.
	statusPartial
)

// hasValues reports whether an entity in this status has values to write:
// all of them (statusOK) or some, with defaults for the rest (statusPartial).
func (s status) hasValues() bool { return s == statusOK || s == statusPartial }

// reason is the metric label of a missing status.
func (s status) reason() string {
	switch s {
	case statusAbsent:
		return "absent"
	case statusStale:
		return "stale"
	case statusVersion:
		return "version"
	case statusMalformed:
		return "malformed"
	case statusPartial:
		return "partial"
	}
	return "ok"
}

const maxCacheShards = 16

// cache is one feature set's entity cache: bounded in entries, CLOCK
// eviction, per-entry expiry. Values are held in one slab per shard, so a
// steady state allocates nothing. It is safe for concurrent use.
type cache struct {
	width  int
	swidth int
	seed   maphash.Seed
	shards []cacheShard
}

type cacheShard struct {
	mu    sync.Mutex
	index map[string]int32
	keys  []string
	vals  []float32 // cap × width; defaults stand in for missing values
	svals []string  // cap × swidth: string features
	exp   []int64   // expiry, unix nanoseconds
	st    []status
	nmiss []uint16 // values defaulted (statusPartial)
	ref   []bool
	hand  int32
}

// newCache returns a cache of about size entries of width numbers and
// swidth strings, or nil when size is not positive.
func newCache(size, width, swidth int) *cache {
	if size <= 0 {
		return nil
	}
	n := min(maxCacheShards, max(1, size/64))
	per := (size + n - 1) / n
	c := &cache{width: width, swidth: swidth, seed: maphash.MakeSeed(), shards: make([]cacheShard, n)}
	for i := range c.shards {
		s := &c.shards[i]
		s.index = make(map[string]int32, per)
		s.keys = make([]string, 0, per)
		s.vals = make([]float32, per*width)
		s.svals = make([]string, per*swidth)
		s.exp = make([]int64, per)
		s.st = make([]status, per)
		s.nmiss = make([]uint16, per)
		s.ref = make([]bool, per)
	}
	return c
}

func (c *cache) shard(key string) *cacheShard {
	if len(c.shards) == 1 {
		return &c.shards[0]
	}
	return &c.shards[maphash.String(c.seed, key)%uint64(len(c.shards))]
}

// get copies a live entry's values into dst (width numbers) and sdst
// (swidth strings) when it has any, and returns its status and how many of
// its values are defaults. ok is false when key is absent or expired at now.
func (c *cache) get(key string, now int64, dst []float32, sdst []string) (st status, nmiss int, ok bool) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	i, hit := s.index[key]
	if !hit || s.exp[i] <= now {
		return 0, 0, false
	}
	s.ref[i] = true
	st = s.st[i]
	if st.hasValues() {
		copy(dst, s.vals[int(i)*c.width:int(i+1)*c.width])
		copy(sdst, s.svals[int(i)*c.swidth:int(i+1)*c.swidth])
	}
	return st, int(s.nmiss[i]), true
}

// put stores an entry until exp (unix nanoseconds), nmiss of its values
// being defaults; vals and svals are read only when st.hasValues().
func (c *cache) put(key string, st status, nmiss int, vals []float32, svals []string, exp int64) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	i, hit := s.index[key]
	if !hit {
		if len(s.keys) < cap(s.keys) {
			i = int32(len(s.keys))
			s.keys = append(s.keys, key)
		} else {
			i = s.victim()
			delete(s.index, s.keys[i])
			s.keys[i] = key
		}
		s.index[key] = i
	}
	s.st[i] = st
	s.nmiss[i] = uint16(nmiss)
	s.exp[i] = exp
	s.ref[i] = false
	if st.hasValues() {
		copy(s.vals[int(i)*c.width:int(i+1)*c.width], vals)
		copy(s.svals[int(i)*c.swidth:int(i+1)*c.swidth], svals)
	}
}

// victim advances the clock hand to an entry not referenced since the hand
// last passed it, clearing reference bits on the way.
func (s *cacheShard) victim() int32 {
	n := int32(len(s.keys))
	for {
		h := s.hand
		s.hand = (s.hand + 1) % n
		if !s.ref[h] {
			return h
		}
		s.ref[h] = false
	}
}

// forget drops key (tests and benchmarks).
func (c *cache) forget(key string) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.index[key]; ok {
		s.exp[i] = 0
	}
}

// len counts entries, live or expired (tests).
func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.index)
		s.mu.Unlock()
	}
	return n
}
