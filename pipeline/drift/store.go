package drift

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Namespace identifies one window: the key prefix (replays use their own),
// the model's name and version, and the baseline's ID (so counts binned by
// another baseline never mix in).
type Namespace struct {
	Prefix   string
	Model    string
	Version  string
	Baseline string
}

// tag is the Redis Cluster hash tag: every key of a namespace lives in one
// slot, so a flush is one transaction on one node.
func (n Namespace) tag() string {
	clean := strings.NewReplacer("{", "_", "}", "_")
	return "{" + clean.Replace(n.Model) + ":" + clean.Replace(n.Version) + ":" + n.Baseline + "}"
}

// CountsKey returns the key of column's counts in the bucket starting at
// start (Unix milliseconds): prefix:{model:version:baseline}:column:start.
func (n Namespace) CountsKey(column string, start int64) string {
	return n.Prefix + ":" + n.tag() + ":" + column + ":" + strconv.FormatInt(start, 10)
}

// EventsKey returns the key counting the events of the bucket at start.
func (n Namespace) EventsKey(start int64) string { return n.CountsKey(eventsColumn, start) }

func (n Namespace) stateKey() string   { return n.Prefix + ":" + n.tag() + ":_state" }
func (n Namespace) leaderKey() string  { return n.Prefix + ":" + n.tag() + ":_leader" }
func (n Namespace) historyKey() string { return n.Prefix + ":" + n.tag() + ":_history" }

// String returns "model/version".
func (n Namespace) String() string { return n.Model + "/" + n.Version }

// eventsColumn is the pseudo-column counting a bucket's events (field "n").
const eventsColumn = "_events"

// Hash fields of a column's counts: the bin index, or missingField.
const missingField = "m"

// BucketCounts are one bucket's counts of one namespace.
type BucketCounts struct {
	NS Namespace
	// Start is the bucket's start, Unix milliseconds.
	Start int64
	// Events counts the scored events folded in.
	Events int64
	// Names and Columns hold each column's name and histogram, in
	// baseline order.
	Names   []string
	Columns []Histogram
}

// ColumnState is the alert state of one column, kept in the store so that
// every replica, and a restarted one, agrees on it.
type ColumnState struct {
	// Drift is true while the column is in alert.
	Drift bool `json:"drift"`
	// Alerting names the scores over their thresholds.
	Alerting []string `json:"alerting,omitempty"`
	// Since is when the state last changed, Unix milliseconds.
	Since int64 `json:"since"`
}

// HistoryPoint is one evaluation of a window, kept for the report.
type HistoryPoint struct {
	// At is the evaluation time, Unix milliseconds.
	At     int64 `json:"t"`
	Events int64 `json:"n"`
	// Scores maps a column name to its scores, in Score order.
	Scores map[string]Scores `json:"s"`
}

// MarshalJSON writes the scores as an array, NaN as null and ±Inf as
// ±MaxFloat64, which JSON can carry.
func (s Scores) MarshalJSON() ([]byte, error) {
	b := []byte{'['}
	for i, v := range s {
		if i > 0 {
			b = append(b, ',')
		}
		switch {
		case math.IsNaN(v):
			b = append(b, "null"...)
		case math.IsInf(v, 1):
			b = strconv.AppendFloat(b, math.MaxFloat64, 'g', -1, 64)
		case math.IsInf(v, -1):
			b = strconv.AppendFloat(b, -math.MaxFloat64, 'g', -1, 64)
		default:
			b = strconv.AppendFloat(b, v, 'g', -1, 64)
		}
	}
	return append(b, ']'), nil
}

// UnmarshalJSON reads what MarshalJSON writes; missing entries are NaN.
func (s *Scores) UnmarshalJSON(b []byte) error {
	var vals []*float64
	if err := json.Unmarshal(b, &vals); err != nil {
		return err
	}
	*s = NaNScores()
	for i, v := range vals {
		if i < len(s) && v != nil {
			s[i] = *v
		}
	}
	return nil
}

// Store holds the shared windows. Implementations must be safe for
// concurrent use; every method blocks on the network at most until ctx is
// done.
type Store interface {
	// Add adds every bucket's counts into the store, in one round trip,
	// and sets each key it touches to expire after ttl.
	Add(ctx context.Context, buckets []BucketCounts, ttl time.Duration) error
	// Read returns the counts of cols in the buckets starting at starts
	// (zero counts where nothing was written), in one round trip.
	Read(ctx context.Context, ns Namespace, cols []Column, starts []int64) ([]BucketCounts, error)
	// Lead takes or renews, for ttl, the lease that makes id the replica
	// that raises drift events for ns; it reports whether id holds it.
	Lead(ctx context.Context, ns Namespace, id string, ttl time.Duration) (bool, error)
	// States returns the stored alert state of every column that has one.
	States(ctx context.Context, ns Namespace) (map[string]ColumnState, error)
	// SetState stores column's alert state.
	SetState(ctx context.Context, ns Namespace, column string, st ColumnState) error
	// AppendHistory adds p to ns's history, keeps the newest max points,
	// and sets the history to expire after ttl.
	AppendHistory(ctx context.Context, ns Namespace, p HistoryPoint, max int, ttl time.Duration) error
	// History returns ns's history, oldest first.
	History(ctx context.Context, ns Namespace) ([]HistoryPoint, error)
}

// MemoryStore is a Store in process memory, for tests and single-process
// use. Keys expire by the clock it is given.
type MemoryStore struct {
	now func() time.Time

	mu      sync.Mutex
	hashes  map[string]map[string]int64
	expires map[string]time.Time
	states  map[string]map[string]ColumnState
	leaders map[string]lease
	history map[string][]HistoryPoint
	// failing, when set, makes every call fail with it.
	failing error
}

type lease struct {
	id    string
	until time.Time
}

// NewMemoryStore returns an empty MemoryStore; now nil means time.Now.
func NewMemoryStore(now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{
		now: now, hashes: map[string]map[string]int64{}, expires: map[string]time.Time{},
		states: map[string]map[string]ColumnState{}, leaders: map[string]lease{}, history: map[string][]HistoryPoint{},
	}
}

// SetFailing makes every later call fail with err (nil: work again), as a
// store that is down would.
func (s *MemoryStore) SetFailing(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing = err
}

// Keys returns the live count keys, sorted.
func (s *MemoryStore) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire()
	var out []string
	for k := range s.hashes {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TTL returns how long key has left to live, or 0 if it does not exist.
func (s *MemoryStore) TTL(key string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire()
	if _, ok := s.hashes[key]; !ok {
		return 0
	}
	return s.expires[key].Sub(s.now())
}

func (s *MemoryStore) expire() {
	now := s.now()
	for k, t := range s.expires {
		if !now.Before(t) {
			delete(s.hashes, k)
			delete(s.expires, k)
		}
	}
}

// Add implements Store.
func (s *MemoryStore) Add(_ context.Context, buckets []BucketCounts, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing != nil {
		return s.failing
	}
	s.expire()
	until := s.now().Add(ttl)
	incr := func(key, field string, d int64) {
		h := s.hashes[key]
		if h == nil {
			h = map[string]int64{}
			s.hashes[key] = h
		}
		h[field] += d
		s.expires[key] = until
	}
	for _, b := range buckets {
		if b.Events != 0 {
			incr(b.NS.EventsKey(b.Start), "n", b.Events)
		}
		for i, h := range b.Columns {
			key := b.NS.CountsKey(b.Names[i], b.Start)
			for j, c := range h.Counts {
				if c != 0 {
					incr(key, strconv.Itoa(j), c)
				}
			}
			if h.Missing != 0 {
				incr(key, missingField, h.Missing)
			}
		}
	}
	return nil
}

// Read implements Store.
func (s *MemoryStore) Read(_ context.Context, ns Namespace, cols []Column, starts []int64) ([]BucketCounts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing != nil {
		return nil, s.failing
	}
	s.expire()
	out := make([]BucketCounts, len(starts))
	for i, st := range starts {
		b := BucketCounts{NS: ns, Start: st, Events: s.hashes[ns.EventsKey(st)]["n"], Names: make([]string, len(cols)), Columns: make([]Histogram, len(cols))}
		for j := range cols {
			b.Names[j] = cols[j].Name
			b.Columns[j] = parseHash(s.hashes[ns.CountsKey(cols[j].Name, st)], cols[j].Bins())
		}
		out[i] = b
	}
	return out, nil
}

// parseHash turns a count hash into a histogram of bins bins; fields
// outside them are ignored.
func parseHash[V int64 | string](h map[string]V, bins int) Histogram {
	out := Histogram{Counts: make([]int64, bins)}
	for f, v := range h {
		var n int64
		switch x := any(v).(type) {
		case int64:
			n = x
		case string:
			n, _ = strconv.ParseInt(x, 10, 64)
		}
		if f == missingField {
			out.Missing += n
			continue
		}
		if j, err := strconv.Atoi(f); err == nil && j >= 0 && j < bins {
			out.Counts[j] += n
		}
	}
	return out
}

// Lead implements Store.
func (s *MemoryStore) Lead(_ context.Context, ns Namespace, id string, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing != nil {
		return false, s.failing
	}
	now := s.now()
	l, ok := s.leaders[ns.leaderKey()]
	if ok && l.id != id && now.Before(l.until) {
		return false, nil
	}
	s.leaders[ns.leaderKey()] = lease{id: id, until: now.Add(ttl)}
	return true, nil
}

// States implements Store.
func (s *MemoryStore) States(_ context.Context, ns Namespace) (map[string]ColumnState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing != nil {
		return nil, s.failing
	}
	out := map[string]ColumnState{}
	for k, v := range s.states[ns.stateKey()] {
		out[k] = v
	}
	return out, nil
}

// SetState implements Store.
func (s *MemoryStore) SetState(_ context.Context, ns Namespace, column string, st ColumnState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing != nil {
		return s.failing
	}
	m := s.states[ns.stateKey()]
	if m == nil {
		m = map[string]ColumnState{}
		s.states[ns.stateKey()] = m
	}
	m[column] = st
	return nil
}

// AppendHistory implements Store.
func (s *MemoryStore) AppendHistory(_ context.Context, ns Namespace, p HistoryPoint, max int, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing != nil {
		return s.failing
	}
	h := append(s.history[ns.historyKey()], p)
	if len(h) > max {
		h = h[len(h)-max:]
	}
	s.history[ns.historyKey()] = h
	return nil
}

// History implements Store.
func (s *MemoryStore) History(_ context.Context, ns Namespace) ([]HistoryPoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing != nil {
		return nil, s.failing
	}
	return slices.Clone(s.history[ns.historyKey()]), nil
}
