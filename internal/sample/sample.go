package sample

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

// Config describes a sample event stream for the demo and for trying
// things out: events with an id, a user key, a time, 32 float features
// f00..f31 and a passthrough merchant field.
type Config struct {
	// N is the number of events.
	N int
	// IDPrefix starts every event id; the default is "e-".
	IDPrefix string
	// Users is the number of distinct user keys; zero means 1000.
	Users int
	// Seed seeds the generator: same seed, same events.
	Seed uint64
	// BadRatio is the share of malformed events.
	BadRatio float64
	// Start is the first event's time; zero means now.
	Start time.Time
	// Step is the event-time distance between consecutive events.
	Step time.Duration
	// Label, if set, names a 0/1 label field added to every event: 1 with
	// the probability sigmoid(f00 + f01 - f02 + f03/2), so a model of the
	// features can learn it and replay's metrics mean something.
	Label string
	// StringFeatures name string fields added to every event, each taking
	// one of ten values "<name>-0" … "<name>-9", for schemas with string
	// features.
	StringFeatures []string
}

// badKinds are malformed events of each dead-letter reason.
var badKinds = []func(id string) string{
	func(id string) string { return `{"event_id":"` + id + `","user_id":"u-1","f00":` },        // invalid_json: truncated
	func(id string) string { return `{"event_id":"` + id + `","user_id":"u-1","f00":"high"}` }, // type_mismatch
	func(id string) string { return `{"event_id":"` + id + `","user_id":"u-1"}` },              // missing_field (f01..)
	func(id string) string { return `{"event_id":"` + id + `","user_id":"u-1","f00":NaN}` },    // non_finite
	func(id string) string { return `not json at all ` + id },                                  // invalid_json
}

// Write writes cfg.N events as JSONL and returns how many are
// malformed on purpose.
func Write(w io.Writer, cfg Config) (bad int, err error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	bad, err = Events(cfg, func(line []byte, _ bool) error {
		_, err := bw.Write(append(line, '\n'))
		return err
	})
	if err != nil {
		return bad, err
	}
	return bad, bw.Flush()
}

// Events calls fn with each of cfg.N events, in order, as one JSON line
// without its newline, and whether it is malformed on purpose; it returns
// how many are, and fn's first error. line is valid only during the call
// (fn may append to it). Write writes the same lines.
func Events(cfg Config, fn func(line []byte, bad bool) error) (bad int, err error) {
	if cfg.IDPrefix == "" {
		cfg.IDPrefix = "e-"
	}
	if cfg.Users <= 0 {
		cfg.Users = 1000
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Now()
	}
	if cfg.Step == 0 {
		cfg.Step = time.Millisecond
	}
	r := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed))
	// Labels and string features draw from their own stream, so adding them
	// leaves every other value of a seed's events as it was.
	extra := rand.New(rand.NewPCG(cfg.Seed^0x1abe1, cfg.Seed))
	var b []byte
	for i := 0; i < cfg.N; i++ {
		id := fmt.Sprintf("%s%08d", cfg.IDPrefix, i)
		if cfg.BadRatio > 0 && r.Float64() < cfg.BadRatio {
			bad++
			b = append(b[:0], badKinds[bad%len(badKinds)](id)...)
			if err := fn(b, true); err != nil {
				return bad, err
			}
			continue
		}
		b = append(b[:0], `{"event_id":"`...)
		b = append(b, id...)
		b = append(b, `","user_id":"u-`...)
		b = strconv.AppendInt(b, int64(r.IntN(cfg.Users)), 10)
		b = append(b, `","ts":`...)
		b = strconv.AppendInt(b, cfg.Start.Add(time.Duration(i)*cfg.Step).UnixMilli(), 10)
		var logit float64
		for f := 0; f < 32; f++ {
			b = append(b, `,"f`...)
			if f < 10 {
				b = append(b, '0')
			}
			b = strconv.AppendInt(b, int64(f), 10)
			b = append(b, `":`...)
			x := r.NormFloat64()
			b = strconv.AppendFloat(b, x, 'g', 9, 32)
			logit += x * labelWeights[min(f, len(labelWeights)-1)]
		}
		if cfg.Label != "" {
			y := 0
			if extra.Float64() < 1/(1+math.Exp(-logit)) {
				y = 1
			}
			b = append(b, `,"`...)
			b = append(b, cfg.Label...)
			b = append(b, `":`...)
			b = strconv.AppendInt(b, int64(y), 10)
		}
		for _, name := range cfg.StringFeatures {
			b = append(b, `,"`...)
			b = append(b, name...)
			b = append(b, `":"`...)
			b = append(b, name...)
			b = append(b, '-')
			b = strconv.AppendInt(b, int64(extra.IntN(10)), 10)
			b = append(b, '"')
		}
		b = append(b, `,"merchant":"m-`...)
		b = strconv.AppendInt(b, int64(r.IntN(50)), 10)
		b = append(b, "\"}"...)
		if err := fn(b, false); err != nil {
			return bad, err
		}
	}
	return bad, nil
}

// WriteFile writes the events of cfg to a new file at path and returns how
// many are malformed on purpose.
func WriteFile(path string, cfg Config) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	bad, err := Write(f, cfg)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return bad, err
}

// labelWeights weigh f00..f03 in the label's logit; later features weigh
// nothing.
var labelWeights = []float64{1, 1, -1, 0.5, 0}

// WriteFeatures writes one JSONL row per user key the events of a Config
// with the same Users use ("u-0" … "u-<users-1>", under keyField), with a
// value drawn for each of names: the rows `streamscore features load`
// takes for a feature set keyed by the events' user_id.
func WriteFeatures(w io.Writer, keyField string, users int, names []string, seed uint64) error {
	if users <= 0 {
		users = 1000
	}
	r := rand.New(rand.NewPCG(seed^0xfea7, seed))
	bw := bufio.NewWriterSize(w, 1<<20)
	var b []byte
	for u := range users {
		b = append(b[:0], `{"`...)
		b = append(b, keyField...)
		b = append(b, `":"u-`...)
		b = strconv.AppendInt(b, int64(u), 10)
		b = append(b, '"')
		for _, name := range names {
			b = append(b, `,"`...)
			b = append(b, name...)
			b = append(b, `":`...)
			b = strconv.AppendFloat(b, r.NormFloat64(), 'g', 6, 32)
		}
		b = append(b, "}\n"...)
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	return bw.Flush()
}
