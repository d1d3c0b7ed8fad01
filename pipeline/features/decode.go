package features

import (
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/streamscore/streamscore/schemas"
)

// Hash fields besides the features.
const (
	// FieldTime holds the write time in Unix milliseconds.
	FieldTime = "_ts"
	// FieldVersion holds the feature-set version.
	FieldVersion = "_v"
)

// set is what a Store knows of one feature set. Its numbers (width of
// them) go into the features matrix; its strings (swidth of them, hash
// layout only) into their own columns.
type set struct {
	fs        *schemas.FeatureSet
	width     int
	swidth    int
	version   int
	maxAge    time.Duration
	defaults  []float32
	sdefaults []string
	// pos is each feature's place among the set's numbers, or among its
	// strings when str is true.
	pos    []int
	str    []bool
	fields []string // hash layout: the features, then _ts and _v
	// hmgetArgs is "hmget", a placeholder for the key, then fields, boxed
	// once.
	hmgetArgs []any
	cache     *cache
	hash      bool
}

func newSet(fs *schemas.FeatureSet, cacheSize int) *set {
	s := &set{fs: fs, version: fs.Version, maxAge: fs.MaxAge, hash: fs.Layout == schemas.LayoutHash}
	if s.version == 0 {
		s.version = 1
	}
	for _, f := range fs.Features {
		if f.InMatrix() {
			s.pos = append(s.pos, len(s.defaults))
			s.str = append(s.str, false)
			s.defaults = append(s.defaults, float32(f.Default))
		} else {
			s.pos = append(s.pos, len(s.sdefaults))
			s.str = append(s.str, true)
			s.sdefaults = append(s.sdefaults, f.DefaultString)
		}
		s.fields = append(s.fields, f.Name)
	}
	s.width, s.swidth = len(s.defaults), len(s.sdefaults)
	s.fields = append(s.fields, FieldTime, FieldVersion)
	s.hmgetArgs = []any{"hmget", nil}
	for _, f := range s.fields {
		s.hmgetArgs = append(s.hmgetArgs, f)
	}
	s.cache = newCache(cacheSize, s.width, s.swidth)
	return s
}

// found describes one entity read from Redis.
type found struct {
	st      status
	nmiss   int   // values left at their default
	written int64 // unix ms; 0 when unknown
	version int   // stored version; 0 when unknown
}

// stale reports whether a value written at ms is older than the set's
// max age at now.
func (s *set) stale(ms int64, now time.Time) bool {
	return s.maxAge > 0 && now.Sub(time.UnixMilli(ms)) > s.maxAge
}

// decodeVector reads an MGET reply element (nil or a string) into dst,
// which must hold the set's defaults on entry.
func (s *set) decodeVector(v any, now time.Time, dst []float32) found {
	str, ok := v.(string)
	if !ok {
		return found{st: statusAbsent}
	}
	// A read-only view of the reply; nothing writes to it.
	b := unsafe.Slice(unsafe.StringData(str), len(str))
	version, count, ms, ok := vectorHeader(b)
	if !ok {
		return found{st: statusMalformed}
	}
	f := found{written: ms, version: int(version)}
	if int(version) != s.version || count != s.width {
		f.st = statusVersion
		return f
	}
	if s.stale(ms, now) {
		f.st = statusStale
		return f
	}
	decodeValues(dst, b)
	for i, x := range dst {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			dst[i] = s.defaults[i]
			f.nmiss++
		}
	}
	if f.nmiss > 0 {
		f.st = statusPartial
	}
	return f
}

// decodeHash reads an HMGET reply of s.fields into dst (numbers) and sdst
// (strings), which must hold the set's defaults on entry.
func (s *set) decodeHash(vals []any, now time.Time, dst []float32, sdst []string) found {
	nf := len(s.fields) - 2
	var f found
	if len(vals) != len(s.fields) {
		return found{st: statusMalformed}
	}
	allNil := true
	for _, v := range vals {
		if v != nil {
			allNil = false
			break
		}
	}
	if allNil {
		return found{st: statusAbsent}
	}
	if v, ok := vals[nf+1].(string); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return found{st: statusMalformed}
		}
		f.version = n
		if n != s.version {
			f.st = statusVersion
			return f
		}
	}
	if v, ok := vals[nf].(string); ok {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return found{st: statusMalformed}
		}
		f.written = ms
	}
	if s.maxAge > 0 && (f.written == 0 || s.stale(f.written, now)) {
		f.st = statusStale
		return f
	}
	for i := range nf {
		v, ok := vals[i].(string)
		if !ok {
			f.nmiss++
			continue
		}
		if s.str[i] {
			sdst[s.pos[i]] = v
			continue
		}
		x, err := strconv.ParseFloat(v, 32)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			f.nmiss++
			continue
		}
		dst[s.pos[i]] = float32(x)
	}
	if f.nmiss > 0 {
		f.st = statusPartial
	}
	return f
}

func formatMs(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
