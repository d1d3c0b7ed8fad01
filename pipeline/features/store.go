package features

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/streamscore/streamscore/schemas"
)

// Defaults of Config's zero values.
const (
	DefaultCacheSize     = 100_000
	DefaultCacheTTL      = 10 * time.Second
	DefaultNegativeTTL   = time.Second
	DefaultTimeout       = time.Second
	DefaultRetryInterval = time.Second
)

// ErrUnavailable is wrapped by Enrich's error while it fails batches
// without trying Redis, within RetryInterval of a failed round trip.
var ErrUnavailable = errors.New("redis unavailable")

// mgetChunk bounds the keys of one MGET, so one command never holds Redis
// for long; the chunks of a batch still share one round trip.
const mgetChunk = 1024

// Config configures a Store. The zero value is usable.
type Config struct {
	// CacheSize bounds each feature set's in-process cache, in entities.
	// Zero means DefaultCacheSize; negative disables the cache.
	CacheSize int
	// CacheTTL is how long an entity read from Redis is served from the
	// cache; an entry never outlives the set's max_age either. Zero means
	// DefaultCacheTTL.
	CacheTTL time.Duration
	// NegativeTTL is how long an entity found missing (absent, stale, of
	// another version, unreadable) is remembered as missing. Zero means
	// DefaultNegativeTTL; negative disables negative caching.
	NegativeTTL time.Duration
	// Timeout bounds one batch's Redis round trip, go-redis's own retries
	// included; it takes effect on the socket only when the client has
	// ContextTimeoutEnabled. Zero means DefaultTimeout.
	Timeout time.Duration
	// RetryInterval is how long after a failed round trip Enrich fails
	// batches that need Redis at once, without trying it (batches the
	// cache answers still succeed), so an outage costs each batch
	// microseconds rather than a timeout. The first batch after it tries
	// Redis again. Zero means DefaultRetryInterval; negative means always
	// try.
	RetryInterval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Validate reports the first invalid field.
func (c *Config) Validate() error {
	if c.CacheSize > 0 && c.CacheTTL < 0 {
		return errors.New("cache_ttl: must not be negative")
	}
	if c.Timeout < 0 {
		return errors.New("timeout: must not be negative")
	}
	return nil
}

func (c *Config) applyDefaults() {
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.CacheTTL == 0 {
		c.CacheTTL = DefaultCacheTTL
	}
	if c.NegativeTTL == 0 {
		c.NegativeTTL = DefaultNegativeTTL
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.RetryInterval == 0 {
		c.RetryInterval = DefaultRetryInterval
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Stats are a Store's running totals.
type Stats struct {
	// Lookups counts distinct entities looked up, per batch and set.
	Lookups int64
	// Hits counts lookups the local cache answered.
	Hits int64
	// Misses counts lookups the cache could not answer; each was either
	// fetched (Fetched) or waited for another batch's fetch (Coalesced).
	Misses, Fetched, Coalesced int64
	// RoundTrips counts pipelined Redis round trips: at most one per batch.
	RoundTrips int64
	// Missing counts lookups that found no usable entity, by reason.
	Missing map[string]int64
}

// Store reads feature sets from Redis for scoring batches. It is safe for
// concurrent use; Enrich calls overlap freely.
type Store struct {
	client  redis.UniversalClient
	cluster bool
	sets    []*set
	cfg     Config
	log     *slog.Logger
	m       *metrics

	lookups, hits, misses, fetched, coalesced, roundTrips atomic.Int64
	missing                                               [statusPartial + 1]atomic.Int64
	warned                                                sync.Map // "set/reason" -> true

	flightMu sync.Mutex
	inflight map[flightKey]flightRef

	// failedAt and failure describe the last failed round trip (unix
	// nanoseconds; 0: none since the last success).
	failedAt atomic.Int64
	failure  atomic.Pointer[error]

	scratch sync.Pool
}

// New returns a store reading spec's feature sets through client, which
// the caller keeps and closes. log and reg may be nil.
func New(client redis.UniversalClient, spec *schemas.Spec, cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Store, error) {
	if client == nil {
		return nil, errors.New("features: a Redis client is required")
	}
	if len(spec.FeatureSets) == 0 {
		return nil, errors.New("features: the schema declares no feature_sets")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.applyDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		client: client, cfg: cfg, log: log.With("component", "features"),
		inflight: make(map[flightKey]flightRef),
	}
	_, s.cluster = client.(*redis.ClusterClient)
	names := make([]string, len(spec.FeatureSets))
	for i := range spec.FeatureSets {
		s.sets = append(s.sets, newSet(&spec.FeatureSets[i], cfg.CacheSize))
		names[i] = spec.FeatureSets[i].Name
	}
	s.m = newMetrics(reg, names)
	return s, nil
}

// Stats returns the running totals.
func (s *Store) Stats() Stats {
	st := Stats{
		Lookups: s.lookups.Load(), Hits: s.hits.Load(), Misses: s.misses.Load(),
		Fetched: s.fetched.Load(), Coalesced: s.coalesced.Load(), RoundTrips: s.roundTrips.Load(),
		Missing: map[string]int64{},
	}
	for i := statusAbsent; i <= statusPartial; i++ {
		if n := s.missing[i].Load(); n > 0 {
			st.Missing[i.reason()] = n
		}
	}
	return st
}

// flight is one batch's fetch of the keys it found neither cached nor
// being fetched. Its fields are written by its owner before done closes and
// read by everyone after.
type flight struct {
	done  chan struct{}
	err   error
	ents  []flightEnt
	vals  []float32
	found []found
}

type flightEnt struct {
	set int
	key string // owned copy
	off int    // first value in vals
}

type flightKey struct {
	set int
	key string
}

type flightRef struct {
	f *flight
	i int32
}

// scratch is one Enrich call's working memory, pooled.
type scratch struct {
	sets []setScratch
}

type setScratch struct {
	index   map[string]int32 // key -> distinct index
	keys    []string         // distinct keys (not retained after the call)
	rowDist []int32          // row -> distinct index
	vals    []float32        // distinct × width
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
		ss.keys, ss.rowDist, ss.pending, ss.refs = ss.keys[:0], ss.rowDist[:0], ss.pending[:0], ss.refs[:0]
	}
	s.scratch.Put(sc)
}

// Enrich writes each row's stored features into its feature-set columns.
// It serves distinct keys from the cache, fetches the rest in one
// pipelined round trip, and waits for keys another call is fetching. On
// error (Redis unreachable, timeout, ctx done) it returns without writing
// anything, so the columns keep their defaults.
func (s *Store) Enrich(ctx context.Context, b schemas.EnrichInput) (schemas.EnrichResult, error) {
	if len(b.Keys) != len(s.sets) {
		return schemas.EnrichResult{}, fmt.Errorf("enriching: %d key columns for %d feature sets", len(b.Keys), len(s.sets))
	}
	if b.Rows == 0 {
		return schemas.EnrichResult{}, nil
	}
	for i, st := range s.sets {
		if len(b.Keys[i]) < b.Rows || st.fs.Offset+st.width > b.Cols || len(b.Features) < b.Rows*b.Cols {
			return schemas.EnrichResult{}, fmt.Errorf("enriching: batch of %d rows × %d columns does not fit feature set %s", b.Rows, b.Cols, st.fs.Name)
		}
	}
	sc := s.getScratch()
	defer s.putScratch(sc)
	now := s.cfg.Now()
	nowNs := now.UnixNano()

	var pending int
	for si, st := range s.sets {
		ss := &sc.sets[si]
		for _, k := range b.Keys[si][:b.Rows] {
			d, ok := ss.index[k]
			if !ok {
				d = int32(len(ss.keys))
				ss.index[k] = d
				ss.keys = append(ss.keys, k)
			}
			ss.rowDist = append(ss.rowDist, d)
		}
		nd := len(ss.keys)
		ss.vals = slices.Grow(ss.vals[:0], nd*st.width)[:nd*st.width]
		ss.found = slices.Grow(ss.found[:0], nd)[:nd]
		hits := 0
		for d, k := range ss.keys {
			dst := ss.vals[d*st.width : (d+1)*st.width]
			if st.cache != nil {
				if stt, nm, ok := st.cache.get(k, nowNs, dst); ok {
					ss.found[d] = found{st: stt, nmiss: nm}
					hits++
					continue
				}
			}
			ss.pending = append(ss.pending, int32(d))
		}
		pending += len(ss.pending)
		s.lookups.Add(int64(nd))
		s.hits.Add(int64(hits))
		s.misses.Add(int64(len(ss.pending)))
		s.m.lookups[si].Add(float64(nd))
		s.m.hits[si].Add(float64(hits))
		s.m.misses[si].Add(float64(len(ss.pending)))
	}

	if pending > 0 {
		if err := s.failingFast(now); err != nil {
			return schemas.EnrichResult{}, err
		}
		own, others := s.claim(sc)
		if own != nil {
			s.fetch(ctx, own, now)
		}
		if own != nil && own.err != nil {
			return schemas.EnrichResult{}, own.err
		}
		for _, f := range others {
			select {
			case <-f.done:
			case <-ctx.Done():
				return schemas.EnrichResult{}, fmt.Errorf("waiting for another batch's feature fetch: %w", ctx.Err())
			}
			if f.err != nil {
				return schemas.EnrichResult{}, f.err
			}
		}
		for si, st := range s.sets {
			ss := &sc.sets[si]
			for j, d := range ss.pending {
				ref := ss.refs[j]
				e := &ref.f.ents[ref.i]
				ss.found[d] = ref.f.found[ref.i]
				copy(ss.vals[int(d)*st.width:int(d+1)*st.width], ref.f.vals[e.off:e.off+st.width])
			}
		}
	}

	var res schemas.EnrichResult
	for si, st := range s.sets {
		ss := &sc.sets[si]
		var byStatus [statusPartial + 1]int
		for d := range ss.found {
			byStatus[ss.found[d].st]++
		}
		for stt := statusAbsent; stt <= statusPartial; stt++ {
			if n := byStatus[stt]; n > 0 {
				s.missing[stt].Add(int64(n))
				s.m.missing.WithLabelValues(st.fs.Name, stt.reason()).Add(float64(n))
			}
		}
		w := st.width
		for r, d := range ss.rowDist {
			fd := ss.found[d]
			nmiss := fd.nmiss
			if fd.st.hasValues() {
				copy(b.Features[r*b.Cols+st.fs.Offset:r*b.Cols+st.fs.Offset+w], ss.vals[int(d)*w:int(d+1)*w])
			} else {
				nmiss = w
			}
			if nmiss > 0 {
				if res.Missing == nil {
					res.Missing = make([]bool, b.Rows)
				}
				res.Missing[r] = true
				res.MissingValues += nmiss
			}
		}
	}
	return res, nil
}

// failingFast returns an error wrapping ErrUnavailable while now is
// within RetryInterval of the last failed round trip.
func (s *Store) failingFast(now time.Time) error {
	at := s.failedAt.Load()
	if at == 0 || s.cfg.RetryInterval < 0 {
		return nil
	}
	since := now.Sub(time.Unix(0, at))
	if since < 0 || since >= s.cfg.RetryInterval {
		return nil
	}
	cause := errors.New("unknown")
	if p := s.failure.Load(); p != nil {
		cause = *p
	}
	return fmt.Errorf("reading features: %w: the last round trip failed %s ago (retrying after %s): %w", ErrUnavailable, since.Round(time.Millisecond), s.cfg.RetryInterval, cause)
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
			e := flightEnt{set: si, key: strings.Clone(k), off: len(own.vals)}
			own.vals = append(own.vals, st.defaults...)
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
			st.cache.put(e.key, fd.st, fd.nmiss, f.vals[e.off:e.off+st.width], exp)
		}
	}
	s.flightMu.Lock()
	for i := range f.ents {
		delete(s.inflight, flightKey{f.ents[i].set, f.ents[i].key})
	}
	s.flightMu.Unlock()
	close(f.done)
}

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
			s.failedAt.Store(s.cfg.Now().UnixNano())
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
			f.found[e] = st.decodeHash(rp.cmd.Val(), now, f.vals[f.ents[e].off:f.ents[e].off+st.width])
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

// warnOnce logs the first entity of a set found of another version or
// unreadable; the metric counts the rest.
func (s *Store) warnOnce(fs *schemas.FeatureSet, fd found, key string) {
	if _, loaded := s.warned.LoadOrStore(fs.Name+"/"+fd.st.reason(), true); loaded {
		return
	}
	switch fd.st {
	case statusVersion:
		s.log.Warn("stored features were written for another version or layout of the feature set; scoring with defaults until they are reloaded (streamscore features load)",
			"set", fs.Name, "want_version", fs.Version, "stored_version", fd.version, "key", key)
	default:
		s.log.Warn("stored value is not a feature vector of this layout; scoring with defaults", "set", fs.Name, "layout", fs.Layout, "key", key)
	}
}
