package features

// scratch is one Enrich call's working memory, pooled.
type scratch struct {
	sets []setScratch
}

type setScratch struct {
	index   map[string]int32 // key -> distinct index
	keys    []string         // distinct keys (not retained after the call)
	rowDist []int32          // row -> distinct index
	vals    []float32        // distinct × width
	svals   []string         // distinct × swidth
	found   []found          // per distinct key
	pending []int32          // distinct keys the cache did not answer
	refs    []flightRef      // per pending key: where its answer comes from
}

func (s *Store) getScratch() *scratch {
	if sc, ok := s.scratch.Get().(*scratch); ok {
		return sc
	}
	sc := &scratch{sets: make([]setScratch, len(s.sets))}
	for i := range sc.sets {
		sc.sets[i].index = make(map[string]int32)
	}
	return sc
}

func (s *Store) putScratch(sc *scratch) {
	for i := range sc.sets {
		ss := &sc.sets[i]
		clear(ss.index)
		clear(ss.keys)
		clear(ss.refs)
		clear(ss.svals)
		ss.keys, ss.rowDist, ss.pending, ss.refs = ss.keys[:0], ss.rowDist[:0], ss.pending[:0], ss.refs[:0]
	}
	s.scratch.Put(sc)
}
