package sample

import (
	"bufio"
	"fmt"
	"io"
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
	bw := bufio.NewWriterSize(w, 1<<20)
	var b []byte
	for i := 0; i < cfg.N; i++ {
		id := fmt.Sprintf("%s%08d", cfg.IDPrefix, i)
		if cfg.BadRatio > 0 && r.Float64() < cfg.BadRatio {
			bad++
			b = append(b[:0], badKinds[bad%len(badKinds)](id)...)
			b = append(b, '\n')
			if _, err := bw.Write(b); err != nil {
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
		for f := 0; f < 32; f++ {
			b = append(b, `,"f`...)
			if f < 10 {
				b = append(b, '0')
			}
			b = strconv.AppendInt(b, int64(f), 10)
			b = append(b, `":`...)
			b = strconv.AppendFloat(b, r.NormFloat64(), 'g', 9, 32)
		}
		b = append(b, `,"merchant":"m-`...)
		b = strconv.AppendInt(b, int64(r.IntN(50)), 10)
		b = append(b, "\"}\n"...)
		if _, err := bw.Write(b); err != nil {
			return bad, err
		}
	}
	return bad, bw.Flush()
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
