package features

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// mgetChunk bounds the keys of one MGET, so one command never holds Redis
// for long; the chunks of a batch still share one round trip.
const mgetChunk = 1024

// reply ties a pipelined command to the flight entries it answers.
type reply struct {
	cmd  *redis.SliceCmd
	set  int
	ents []int32
}

// fetch reads f's keys in one pipelined round trip and decodes the
// answers into f, then releases it. f.err is set on failure.
func (s *Store) fetch(parent context.Context, f *flight, now time.Time) {
	defer s.release(f, now)
	ctx, cancel := context.WithTimeout(parent, s.cfg.Timeout)
	defer cancel()
	f.found = make([]found, len(f.ents))
	pipe := s.client.Pipeline()
	var replies []reply
	// Entries are grouped by set already (claim walks set by set).
	for lo := 0; lo < len(f.ents); {
		si := f.ents[lo].set
		hi := lo
		for hi < len(f.ents) && f.ents[hi].set == si {
			hi++
		}
		replies = s.queue(ctx, pipe, replies, f, si, lo, hi)
		lo = hi
	}
	start := time.Now()
	_, err := pipe.Exec(ctx)
	elapsed := time.Since(start)
	s.roundTrips.Add(1)
	s.fetched.Add(int64(len(f.ents)))
	s.m.roundTrips.Inc()
	s.m.redisSeconds.Observe(elapsed.Seconds())
	if err != nil && !onlyWrongType(replies) {
		f.err = fmt.Errorf("reading %d feature entities from Redis: %w", len(f.ents), err)
		if parent.Err() == nil { // Redis failed, not the caller
			s.failure.Store(&err)
			s.failedAt.Store(s.now().UnixNano())
		}
		return
	}
	s.failedAt.Store(0)
	for _, rp := range replies {
		st := s.sets[rp.set]
		if st.hash {
			e := rp.ents[0]
			if rp.cmd.Err() != nil { // WRONGTYPE: the key is not a hash
				f.found[e] = found{st: statusMalformed}
				continue
			}
			ent := &f.ents[e]
			f.found[e] = st.decodeHash(rp.cmd.Val(), now, f.vals[ent.off:ent.off+st.width], f.svals[ent.soff:ent.soff+st.swidth])
			continue
		}
		vals := rp.cmd.Val()
		if len(vals) != len(rp.ents) {
			f.err = fmt.Errorf("reading features: MGET of %d keys answered %d values", len(rp.ents), len(vals))
			return
		}
		for j, e := range rp.ents {
			f.found[e] = st.decodeVector(vals[j], now, f.vals[f.ents[e].off:f.ents[e].off+st.width])
		}
	}
	for i := range f.found {
		if fd := f.found[i]; fd.st == statusVersion || fd.st == statusMalformed {
			s.warnOnce(s.sets[f.ents[i].set].fs, fd, f.ents[i].key)
		}
	}
}

// onlyWrongType reports whether every failed command failed with
// WRONGTYPE: a key of another type (say, written in the other layout) is
// that entity's problem, not the batch's.
func onlyWrongType(replies []reply) bool {
	for _, rp := range replies {
		if err := rp.cmd.Err(); err != nil && !isWrongType(err) {
			return false
		}
	}
	return true
}

func isWrongType(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && strings.HasPrefix(re.Error(), "WRONGTYPE")
}

// queue adds the commands reading entries lo..hi of f (all of set si) to
// pipe: one HMGET per entity for a hash set; for a vector set one MGET per
// mgetChunk keys, or in Cluster mode per hash slot.
func (s *Store) queue(ctx context.Context, pipe redis.Pipeliner, replies []reply, f *flight, si, lo, hi int) []reply {
	st := s.sets[si]
	if st.hash {
		// One HMGET per entity from a template holding the field names
		// already boxed, and one slice for every entity's arguments.
		n := len(st.hmgetArgs)
		args := make([]any, (hi-lo)*n)
		ents := make([]int32, hi-lo)
		for e := lo; e < hi; e++ {
			a := args[(e-lo)*n : (e-lo+1)*n : (e-lo+1)*n]
			copy(a, st.hmgetArgs)
			a[1] = f.ents[e].key
			ents[e-lo] = int32(e)
			cmd := redis.NewSliceCmd(ctx, a...)
			pipe.Process(ctx, cmd)
			replies = append(replies, reply{cmd: cmd, set: si, ents: ents[e-lo : e-lo+1]})
		}
		return replies
	}
	idx := make([]int32, 0, hi-lo)
	for e := lo; e < hi; e++ {
		idx = append(idx, int32(e))
	}
	keys := make([]string, len(idx))
	if !s.cluster {
		for j, e := range idx {
			keys[j] = f.ents[e].key
		}
		for c := 0; c < len(idx); c += mgetChunk {
			end := min(c+mgetChunk, len(idx))
			replies = append(replies, reply{cmd: pipe.MGet(ctx, keys[c:end]...), set: si, ents: idx[c:end]})
		}
		return replies
	}
	slots := make([]int32, len(f.ents))
	for _, e := range idx {
		slots[e] = int32(Slot(f.ents[e].key))
	}
	slices.SortFunc(idx, func(a, b int32) int { return cmp.Compare(slots[a], slots[b]) })
	for j, e := range idx {
		keys[j] = f.ents[e].key
	}
	for c := 0; c < len(idx); {
		end := c + 1
		for end < len(idx) && slots[idx[end]] == slots[idx[c]] && end-c < mgetChunk {
			end++
		}
		replies = append(replies, reply{cmd: pipe.MGet(ctx, keys[c:end]...), set: si, ents: idx[c:end]})
		c = end
	}
	return replies
}
