package features

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/streamscore/streamscore/schemas"
)

// Entity is one entity's features, to store.
type Entity struct {
	// Key is the entity key, as the set's template builds it.
	Key string
	// Values are the set's numeric features in schema order.
	Values []float32
	// Strings are the set's string features (hash layout) in schema
	// order; nil when it has none.
	Strings []string
	// Written is the write time stored with the values; zero means now.
	Written time.Time
}

// Writer stores entities of one feature set in Redis in its layout. It is
// safe for concurrent use.
type Writer struct {
	client redis.UniversalClient
	set    *set
	ttl    time.Duration
	now    func() time.Time
}

// NewWriter returns a writer of fs's entities; with ttl > 0 every key
// written expires after ttl, otherwise keys do not expire.
func NewWriter(client redis.UniversalClient, fs *schemas.FeatureSet, ttl time.Duration) (*Writer, error) {
	if client == nil {
		return nil, errors.New("features: a Redis client is required")
	}
	if ttl < 0 {
		return nil, errors.New("features: ttl must not be negative")
	}
	return &Writer{client: client, set: newSet(fs, 0), ttl: ttl, now: time.Now}, nil
}

// Write stores ents in one pipelined round trip (go-redis splits it per
// master in Cluster mode). Every entity must have one value per feature,
// each finite. It returns after Redis acknowledged every command.
func (w *Writer) Write(ctx context.Context, ents []Entity) error {
	if len(ents) == 0 {
		return nil
	}
	st := w.set
	for i := range ents {
		if len(ents[i].Values) != st.width {
			return fmt.Errorf("writing entity %q: %d values, feature set %s has %d numeric features", ents[i].Key, len(ents[i].Values), st.fs.Name, st.width)
		}
		if len(ents[i].Strings) != st.swidth {
			return fmt.Errorf("writing entity %q: %d strings, feature set %s has %d string features", ents[i].Key, len(ents[i].Strings), st.fs.Name, st.swidth)
		}
		for j, v := range ents[i].Values {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("writing entity %q: feature %s is %v; stored features must be finite", ents[i].Key, st.numberName(j), v)
			}
		}
	}
	now := w.now()
	pipe := w.client.Pipeline()
	var buf []byte
	args := make([]any, 0, 2*(st.width+2))
	for i := range ents {
		e := &ents[i]
		at := e.Written
		if at.IsZero() {
			at = now
		}
		if !st.hash {
			start := len(buf)
			buf = AppendVector(buf, uint16(st.version), at, e.Values)
			pipe.Set(ctx, e.Key, buf[start:len(buf):len(buf)], w.ttl)
			continue
		}
		args = args[:0]
		for j := range st.fs.Features {
			if st.str[j] {
				args = append(args, st.fields[j], e.Strings[st.pos[j]])
				continue
			}
			args = append(args, st.fields[j], strconv.FormatFloat(float64(e.Values[st.pos[j]]), 'g', -1, 32))
		}
		args = append(args, FieldTime, formatMs(at), FieldVersion, strconv.Itoa(st.version))
		pipe.HSet(ctx, e.Key, args...)
		if w.ttl > 0 {
			pipe.PExpire(ctx, e.Key, w.ttl)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		if isWrongType(err) {
			return fmt.Errorf("writing %d entities of feature set %s: %w (a key holds another type of value, perhaps written in the other layout; delete the set's keys before changing its layout)", len(ents), st.fs.Name, err)
		}
		return fmt.Errorf("writing %d entities of feature set %s: %w", len(ents), st.fs.Name, err)
	}
	return nil
}

// Inspection is one entity as stored in Redis.
type Inspection struct {
	// Key is the Redis key; Layout is the set's layout.
	Key, Layout string
	// Status is ok, or why scoring would use defaults: absent, stale,
	// version, malformed, or partial (some features absent or unreadable).
	Status string
	// Version is the stored feature-set version, 0 when not stored.
	Version int
	// Written is the stored write time, zero when not stored.
	Written time.Time
	// Values are the values scoring would use, one per feature in schema
	// order: the stored ones, or the default where Present is false. A
	// string feature's value is in Strings (its Values entry is 0); a
	// number's Strings entry is "".
	Values  []float32
	Strings []string
	Present []bool
	// TTL is the key's remaining time to live; negative when it has none.
	TTL time.Duration
}

// Inspect reads one entity of fs directly from Redis (no cache) and says
// what scoring at now would make of it.
func Inspect(ctx context.Context, client redis.UniversalClient, fs *schemas.FeatureSet, key string, now time.Time) (Inspection, error) {
	st := newSet(fs, 0)
	n := len(fs.Features)
	in := Inspection{Key: key, Layout: fs.Layout, Values: make([]float32, n), Strings: make([]string, n), Present: make([]bool, n)}
	nums, strs := slices.Clone(st.defaults), slices.Clone(st.sdefaults)
	defer func() {
		for i := range n {
			if st.str[i] {
				in.Strings[i] = strs[st.pos[i]]
			} else {
				in.Values[i] = nums[st.pos[i]]
			}
		}
	}()
	pipe := client.Pipeline()
	var read *redis.SliceCmd
	var get *redis.StringCmd
	if st.hash {
		read = pipe.HMGet(ctx, key, st.fields...)
	} else {
		get = pipe.Get(ctx, key)
	}
	ttl := pipe.PTTL(ctx, key)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		if isWrongType(err) {
			in.Status = statusMalformed.reason()
			in.TTL = ttl.Val()
			return in, nil
		}
		return in, fmt.Errorf("reading %s from Redis: %w", key, err)
	}
	in.TTL = ttl.Val()
	var fd found
	if st.hash {
		vals := read.Val()
		fd = st.decodeHash(vals, now, nums, strs)
		if fd.st.hasValues() {
			for i := range n {
				s, ok := vals[i].(string)
				if !ok {
					continue
				}
				if st.str[i] {
					in.Present[i] = true
					continue
				}
				x, err := strconv.ParseFloat(s, 32)
				in.Present[i] = err == nil && !math.IsNaN(x) && !math.IsInf(x, 0)
			}
		}
	} else {
		var v any
		if get.Err() == nil {
			v = get.Val()
		}
		fd = st.decodeVector(v, now, nums)
		if fd.st.hasValues() {
			b := []byte(get.Val())
			raw := make([]float32, st.width)
			decodeValues(raw, b)
			for i, x := range raw {
				in.Present[i] = !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0)
			}
		}
	}
	in.Status = fd.st.reason()
	in.Version = fd.version
	if fd.written > 0 {
		in.Written = time.UnixMilli(fd.written)
	}
	return in, nil
}

// numberName returns the name of the set's j-th numeric feature.
func (s *set) numberName(j int) string {
	for i, f := range s.fs.Features {
		if !s.str[i] && s.pos[i] == j {
			return f.Name
		}
	}
	return ""
}
