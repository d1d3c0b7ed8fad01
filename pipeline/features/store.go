package features

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/streamscore/streamscore/schemas"
)

// ErrUnavailable is wrapped by Enrich's error while it fails batches
// without trying Redis, within RetryInterval of a failed round trip.
var ErrUnavailable = errors.New("redis unavailable")

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
	now     func() time.Time // the clock; tests replace it
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
		return nil, fmt.Errorf("features.%w", err)
	}
	cfg = cfg.WithDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		client: client, cfg: cfg, now: time.Now, log: log.With("component", "features"),
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

// Enrich writes each row's stored features into its feature-set columns:
// numbers into the features matrix, strings (hash layout) into their own
// columns of b.Decoded through SetStrings (without b.Decoded they keep their
// defaults). It serves distinct keys from the cache, fetches the rest in
// one pipelined round trip, and waits for keys another call is fetching.
// On error (Redis unreachable, timeout, ctx done) it returns without
// writing anything, so the columns keep their defaults.
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
	now := s.now()
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
		ss.svals = slices.Grow(ss.svals[:0], nd*st.swidth)[:nd*st.swidth]
		ss.found = slices.Grow(ss.found[:0], nd)[:nd]
		hits := 0
		for d, k := range ss.keys {
			dst := ss.vals[d*st.width : (d+1)*st.width]
			sdst := ss.svals[d*st.swidth : (d+1)*st.swidth]
			if st.cache != nil {
				if stt, nm, ok := st.cache.get(k, nowNs, dst, sdst); ok {
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
				copy(ss.svals[int(d)*st.swidth:int(d+1)*st.swidth], ref.f.svals[e.soff:e.soff+st.swidth])
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
		w, sw := st.width, st.swidth
		var strs [][]string // per string feature, per row
		if sw > 0 && b.Decoded != nil {
			strs = make([][]string, sw)
			for j := range strs {
				strs[j] = make([]string, b.Rows)
			}
		}
		for r, d := range ss.rowDist {
			fd := ss.found[d]
			nmiss := fd.nmiss
			if fd.st.hasValues() {
				copy(b.Features[r*b.Cols+st.fs.Offset:r*b.Cols+st.fs.Offset+w], ss.vals[int(d)*w:int(d+1)*w])
			} else {
				nmiss = w + sw
			}
			for j := range strs {
				if fd.st.hasValues() {
					strs[j][r] = ss.svals[int(d)*sw+j]
				} else {
					strs[j][r] = st.sdefaults[j]
				}
			}
			if nmiss > 0 {
				if res.Missing == nil {
					res.Missing = make([]bool, b.Rows)
				}
				res.Missing[r] = true
				res.MissingValues += nmiss
			}
		}
		if strs != nil {
			j := 0
			for i, f := range st.fs.Features {
				if !st.str[i] {
					continue
				}
				if err := b.Decoded.SetStrings(schemas.ColFeaturePrefix+f.Name, strs[j]); err != nil {
					return schemas.EnrichResult{}, fmt.Errorf("enriching feature set %s: %w", st.fs.Name, err)
				}
				j++
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
