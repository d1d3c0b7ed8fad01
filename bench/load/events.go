package load

import (
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

// Features is the number of float features in a standard event (f00..f31).
const Features = 32

// SentField is the field of a standard event that holds its send time in
// epoch microseconds. The benchmark schema lists it as passthrough, so it
// comes back in the scored event.
const SentField = "sent_us"

// Events makes the standard workload's events: an event_id, a user_id key,
// ts in epoch milliseconds, 32 float features f00..f31 printed with Digits
// significant digits, a merchant and sent_us. They match
// bench/testdata/standard.schema.yaml. An Events is not safe for
// concurrent use.
type Events struct {
	// Users is the number of distinct user keys; zero means 10000.
	Users int
	// Digits is the significant digits of each feature value; zero means 4,
	// which makes events of about 500 bytes. The feature values come from
	// 8192 rows drawn once.
	Digits int

	rng *rand.Rand
	seq int64
	// feats holds pre-printed feature runs (`,"f00":…,"f31":…`); printing
	// floats is most of the cost of an event, and a producer that spends
	// its CPU there takes it from what it measures.
	feats [][]byte
}

// templates is how many distinct feature runs an Events prints.
const templates = 8192

// NewEvents returns a generator seeded with seed (same seed, same events).
func NewEvents(seed uint64) *Events {
	return &Events{rng: rand.New(rand.NewPCG(seed, seed^0x5eed))}
}

// Append appends the next event to dst with the given send time. It returns
// dst and where the event's key lies in it, dst[k0:k1].
func (e *Events) Append(dst []byte, sent time.Time) (out []byte, k0, k1 int) {
	users := e.Users
	if users <= 0 {
		users = 10000
	}
	digits := e.Digits
	if digits <= 0 {
		digits = 4
	}
	e.seq++
	dst = append(dst, `{"event_id":"b-`...)
	dst = strconv.AppendInt(dst, e.seq, 10)
	dst = append(dst, `","user_id":"`...)
	k0 = len(dst)
	dst = append(dst, "u-"...)
	dst = strconv.AppendInt(dst, int64(e.rng.IntN(users)), 10)
	k1 = len(dst)
	dst = append(dst, `","ts":`...)
	dst = strconv.AppendInt(dst, sent.UnixMilli(), 10)
	if e.feats == nil {
		e.feats = make([][]byte, templates)
		for i := range e.feats {
			var b []byte
			for f := range Features {
				b = append(b, `,"f`...)
				if f < 10 {
					b = append(b, '0')
				}
				b = strconv.AppendInt(b, int64(f), 10)
				b = append(b, `":`...)
				b = strconv.AppendFloat(b, float64(float32(e.rng.NormFloat64())), 'g', digits, 32)
			}
			e.feats[i] = b
		}
	}
	dst = append(dst, e.feats[e.rng.IntN(templates)]...)
	dst = append(dst, `,"merchant":"m-`...)
	dst = strconv.AppendInt(dst, int64(e.rng.IntN(50)), 10)
	dst = append(dst, `","`+SentField+`":`...)
	dst = strconv.AppendInt(dst, sent.UnixMicro(), 10)
	dst = append(dst, '}')
	return dst, k0, k1
}

// Messages returns the next n events as records for topic, keyed by user;
// event i carries sent(i) as its send time. Keys and values share one
// allocation.
func (e *Events) Messages(topic string, n int, sent func(i int) time.Time) []kafka.Message {
	type span struct{ start, k0, k1, end int }
	spans := make([]span, n)
	arena := make([]byte, 0, n*560)
	for i := range spans {
		start := len(arena)
		var k0, k1 int
		arena, k0, k1 = e.Append(arena, sent(i))
		spans[i] = span{start, k0, k1, len(arena)}
	}
	msgs := make([]kafka.Message, n)
	for i, s := range spans {
		msgs[i] = kafka.Message{Topic: topic, Key: arena[s.k0:s.k1:s.k1], Value: arena[s.start:s.end:s.end]}
	}
	return msgs
}
