package consumers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/schemas"
)

// Letter is one dead-letter record as JSON, in the shape of the published
// contract schemas/contracts/dead-letter.v1.json: the record's place in the
// dead-letter topic, its key and value as text, and its headers by name
// (the streamscore.* ones say why and where from).
type Letter struct {
	Topic     string            `json:"topic,omitempty"`
	Partition int               `json:"partition"`
	Offset    int64             `json:"offset"`
	Time      string            `json:"time,omitempty"`
	Key       string            `json:"key"`
	Headers   map[string]string `json:"headers"`
	Value     string            `json:"value"`
}

// LetterOf returns m as a Letter. A header given twice keeps its last value.
func LetterOf(m schemas.Message) Letter {
	l := Letter{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: string(m.Key), Value: string(m.Value), Headers: map[string]string{}}
	if !m.Time.IsZero() {
		l.Time = m.Time.UTC().Format(time.RFC3339Nano)
	}
	for _, h := range m.Headers {
		l.Headers[h.Key] = string(h.Value)
	}
	return l
}

// Reason returns the letter's reason code ("" when it has none: not a
// streamscore dead letter).
func (l *Letter) Reason() string { return l.Headers[schemas.HeaderReason] }

// At returns when the letter was written: its streamscore.time header, or
// its Kafka timestamp when that header is absent or unreadable.
func (l *Letter) At() time.Time {
	if t, err := time.Parse(time.RFC3339Nano, l.Headers[schemas.HeaderTime]); err == nil {
		return t
	}
	t, _ := time.Parse(time.RFC3339Nano, l.Time)
	return t
}

// LetterScan says which dead letters to read and how to summarise them.
type LetterScan struct {
	Brokers []string
	Dialer  *kafka.Dialer
	Topic   string
	// Since keeps only letters written at or after it (zero: all).
	Since time.Time
	// Reasons keeps only letters with one of these reason codes (empty: all).
	Reasons []string
	// Max stops after reading this many records of the topic, kept or not
	// (zero: read to the end offsets taken at the start, which always ends).
	Max int
	// Bucket is the width of the time buckets of LetterStats.ByTime; zero
	// means one hour.
	Bucket time.Duration
	// Samples is how many letters of each reason to keep whole, the first
	// ones read (zero: none).
	Samples int
	// Each, if set, is called with every kept letter, in the order read
	// (partitions interleaved).
	Each func(Letter) error
}

// LetterStats summarises the dead letters a scan kept.
type LetterStats struct {
	Topic string `json:"topic"`
	// Read counts the records read; Kept those that passed the filters.
	Read int `json:"read"`
	Kept int `json:"kept"`
	// StoppedAtMax is true when the scan stopped at Max before the end.
	StoppedAtMax bool          `json:"stopped_at_max"`
	ByReason     []ReasonCount `json:"by_reason"`
	BySource     []SourceCount `json:"by_source"`
	ByTime       []TimeBucket  `json:"by_time"`
	// Truncated counts truncated dead letters (streamscore.truncated).
	Truncated int `json:"truncated"`
	// First and Last are the earliest and latest letter times kept.
	First   *time.Time `json:"first,omitempty"`
	Last    *time.Time `json:"last,omitempty"`
	Samples []Letter   `json:"samples,omitempty"`
}

// ReasonCount is how many letters had one reason code.
type ReasonCount struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// SourceCount is how many letters came from one input topic.
type SourceCount struct {
	Topic string `json:"topic"`
	Count int    `json:"count"`
}

// TimeBucket counts the letters written in [Start, Start+bucket).
type TimeBucket struct {
	Start    time.Time      `json:"start"`
	Count    int            `json:"count"`
	ByReason map[string]int `json:"by_reason"`
}

// ScanLetters reads a dead-letter topic from its first offsets up to the
// end offsets it had when called (or Max records), without joining a group,
// and returns counts by reason, source topic and time bucket, and samples.
// It always ends: new letters written meanwhile are not read.
func ScanLetters(ctx context.Context, s LetterScan) (*LetterStats, error) {
	if s.Topic == "" {
		return nil, errors.New("a dead-letter topic is required")
	}
	if s.Bucket <= 0 {
		s.Bucket = time.Hour
	}
	want := map[string]bool{}
	for _, r := range s.Reasons {
		want[r] = true
	}
	st := &LetterStats{Topic: s.Topic}
	reasons, sources := map[string]int{}, map[string]int{}
	buckets := map[time.Time]*TimeBucket{}
	sampled := map[string]int{}
	n, err := Tail(ctx, TailConfig{Brokers: s.Brokers, Dialer: s.Dialer, Topic: s.Topic, FromBeginning: true, UntilEnd: true, Max: s.Max, Idle: 30 * time.Second},
		func(m schemas.Message) error {
			l := LetterOf(m)
			reason := l.Reason()
			if len(want) > 0 && !want[reason] {
				return nil
			}
			at := l.At()
			if !s.Since.IsZero() && at.Before(s.Since) {
				return nil
			}
			st.Kept++
			if reason == "" {
				reason = "(none)"
			}
			reasons[reason]++
			sources[l.Headers[schemas.HeaderSourceTopic]]++
			if l.Headers["streamscore.truncated"] == "true" {
				st.Truncated++
			}
			if !at.IsZero() {
				at = at.UTC()
				if st.First == nil || at.Before(*st.First) {
					st.First = &at
				}
				if st.Last == nil || at.After(*st.Last) {
					st.Last = &at
				}
				start := at.Truncate(s.Bucket)
				b := buckets[start]
				if b == nil {
					b = &TimeBucket{Start: start, ByReason: map[string]int{}}
					buckets[start] = b
				}
				b.Count++
				b.ByReason[reason]++
			}
			if sampled[reason] < s.Samples {
				sampled[reason]++
				st.Samples = append(st.Samples, l)
			}
			if s.Each != nil {
				return s.Each(l)
			}
			return nil
		})
	st.Read = n
	if err != nil {
		return st, fmt.Errorf("reading dead letters from %s: %w", s.Topic, err)
	}
	if ctx.Err() != nil {
		return st, ctx.Err()
	}
	st.StoppedAtMax = s.Max > 0 && n >= s.Max
	for r, c := range reasons {
		st.ByReason = append(st.ByReason, ReasonCount{r, c})
	}
	slices.SortFunc(st.ByReason, func(a, b ReasonCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Reason, b.Reason)
	})
	for t, c := range sources {
		st.BySource = append(st.BySource, SourceCount{t, c})
	}
	slices.SortFunc(st.BySource, func(a, b SourceCount) int { return strings.Compare(a.Topic, b.Topic) })
	for _, b := range buckets {
		st.ByTime = append(st.ByTime, *b)
	}
	slices.SortFunc(st.ByTime, func(a, b TimeBucket) int { return a.Start.Compare(b.Start) })
	slices.SortStableFunc(st.Samples, func(a, b Letter) int { return strings.Compare(a.Reason(), b.Reason()) })
	return st, nil
}
