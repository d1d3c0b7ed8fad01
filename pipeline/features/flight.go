package features

import (
	"slices"
	"strings"
	"time"
)

// flight is one batch's fetch of the keys it found neither cached nor
// being fetched. Its fields are written by its owner before done closes and
// read by everyone after.
type flight struct {
	done  chan struct{}
	err   error
	ents  []flightEnt
	vals  []float32
	svals []string
	found []found
}

type flightEnt struct {
	set  int
	key  string // owned copy
	off  int    // first value in vals
	soff int    // first string in svals
}

type flightKey struct {
	set int
	key string
}

type flightRef struct {
	f *flight
	i int32
}

// claim resolves every pending key of sc to a flight: another call's, if
// that call is fetching the key now, or own, a new flight of this call that
// it must fetch. others lists the other calls' flights to wait for.
func (s *Store) claim(sc *scratch) (own *flight, others []*flight) {
	s.flightMu.Lock()
	defer s.flightMu.Unlock()
	var coalesced int64
	for si, st := range s.sets {
		ss := &sc.sets[si]
		for _, d := range ss.pending {
			k := ss.keys[d]
			if ref, ok := s.inflight[flightKey{si, k}]; ok {
				ss.refs = append(ss.refs, ref)
				if !slices.Contains(others, ref.f) {
					others = append(others, ref.f)
				}
				coalesced++
				continue
			}
			if own == nil {
				own = &flight{done: make(chan struct{})}
			}
			e := flightEnt{set: si, key: strings.Clone(k), off: len(own.vals), soff: len(own.svals)}
			own.vals = append(own.vals, st.defaults...)
			own.svals = append(own.svals, st.sdefaults...)
			ref := flightRef{f: own, i: int32(len(own.ents))}
			own.ents = append(own.ents, e)
			s.inflight[flightKey{si, e.key}] = ref
			ss.refs = append(ss.refs, ref)
		}
	}
	s.coalesced.Add(coalesced)
	return own, others
}

// release publishes f: it caches its answers (unless it failed), removes
// its keys from the in-flight map and wakes its waiters.
func (s *Store) release(f *flight, now time.Time) {
	if f.err == nil {
		nowNs := now.UnixNano()
		for i := range f.ents {
			e := &f.ents[i]
			st := s.sets[e.set]
			if st.cache == nil {
				continue
			}
			fd := f.found[i]
			var exp int64
			if fd.st.hasValues() {
				exp = nowNs + int64(s.cfg.CacheTTL)
				if st.maxAge > 0 && fd.written > 0 {
					exp = min(exp, time.UnixMilli(fd.written).Add(st.maxAge).UnixNano())
				}
			} else if s.cfg.NegativeTTL > 0 {
				exp = nowNs + int64(s.cfg.NegativeTTL)
			} else {
				continue
			}
			st.cache.put(e.key, fd.st, fd.nmiss, f.vals[e.off:e.off+st.width], f.svals[e.soff:e.soff+st.swidth], exp)
		}
	}
	s.flightMu.Lock()
	for i := range f.ents {
		delete(s.inflight, flightKey{f.ents[i].set, f.ents[i].key})
	}
	s.flightMu.Unlock()
	close(f.done)
}
