package producers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/schemas"
)

// RedriveConfig says which dead letters Redrive sends back, and where.
type RedriveConfig struct {
	// DLQ is the dead-letter topic read (named in errors and the report).
	DLQ string
	// To is the topic to send to; empty sends each letter to its source
	// topic (the streamscore.source.topic header).
	To string
	// Reasons keeps only letters with one of these reason codes; empty
	// keeps all. ParseReasons checks them.
	Reasons map[string]bool
	// Since keeps only letters dead-lettered at or after it; zero keeps
	// all.
	Since time.Time
	// DryRun counts what would be sent and sends nothing.
	DryRun bool
	// BatchSize is how many records go in one write; zero means 1000.
	BatchSize int
}

// RedriveResult counts what Redrive read, sent (by reason) and skipped.
type RedriveResult struct {
	Read    int `json:"read"`
	Skipped int `json:"skipped"`
	// Truncated counts the skipped letters that hold only the start of the
	// original event: sending one back would only make an invalid_json
	// dead letter.
	Truncated int `json:"truncated"`
	// Sent counts the letters sent (or, on a dry run, that would be), by
	// reason.
	Sent map[string]int `json:"sent"`
}

// Redrive reads dead letters through read (which calls fn for each
// record of the dead-letter topic, in order, and returns at its end) and
// writes each one cfg selects back, with its original key, value and
// headers (without the streamscore.* headers), through w. It blocks until
// every record is written or ctx is done.
func Redrive(ctx context.Context, read func(fn func(schemas.Message) error) error, w *kafka.Writer, cfg RedriveConfig) (RedriveResult, error) {
	res := RedriveResult{Sent: map[string]int{}}
	size := cfg.BatchSize
	if size <= 0 {
		size = 1000
	}
	var batch []kafka.Message
	flush := func() error {
		if len(batch) == 0 || cfg.DryRun {
			batch = batch[:0]
			return nil
		}
		if err := w.WriteMessages(ctx, batch...); err != nil {
			return fmt.Errorf("redriving: %w", err)
		}
		batch = batch[:0]
		return nil
	}
	err := read(func(m schemas.Message) error {
		res.Read++
		out, reason, ok, truncated, err := cfg.redriven(m)
		switch {
		case err != nil:
			return err
		case truncated:
			res.Skipped++
			res.Truncated++
			return nil
		case !ok:
			res.Skipped++
			return nil
		}
		res.Sent[reason]++
		batch = append(batch, out)
		if len(batch) >= size {
			return flush()
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	return res, flush()
}

// redriven returns the record to send for dead letter m and its reason;
// ok is false when Reasons or Since leave it out, truncated when it holds
// only a prefix of the original event.
func (c *RedriveConfig) redriven(m schemas.Message) (out kafka.Message, reason string, ok, truncated bool, err error) {
	var source, at string
	var keep []kafka.Header
	for _, h := range m.Headers {
		switch h.Key {
		case schemas.HeaderReason:
			reason = string(h.Value)
		case schemas.HeaderSourceTopic:
			source = string(h.Value)
		case schemas.HeaderTime:
			at = string(h.Value)
		case HeaderTruncated:
			truncated = string(h.Value) == "true"
		}
		if !strings.HasPrefix(h.Key, "streamscore.") {
			keep = append(keep, kafka.Header{Key: h.Key, Value: h.Value})
		}
	}
	if len(c.Reasons) > 0 && !c.Reasons[reason] {
		return out, reason, false, false, nil
	}
	if truncated {
		return out, reason, false, true, nil
	}
	if !c.Since.IsZero() {
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil || t.Before(c.Since) {
			return out, reason, false, false, nil
		}
	}
	to := c.To
	if to == "" {
		to = source
	}
	if to == "" {
		return out, reason, false, false, fmt.Errorf("dead letter at %s/%d@%d names no source topic; pass --to-topic", c.DLQ, m.Partition, m.Offset)
	}
	return kafka.Message{Topic: to, Key: m.Key, Value: m.Value, Headers: keep}, reason, true, false, nil
}

// ParseReasons checks reason codes against schemas.Reasons and returns
// them as a set.
func ParseReasons(reasons []string) (map[string]bool, error) {
	known := map[string]bool{}
	for _, r := range schemas.Reasons() {
		known[string(r)] = true
	}
	want := map[string]bool{}
	for _, r := range reasons {
		if !known[r] {
			return nil, fmt.Errorf("--reason: %q is not a dead-letter reason code", r)
		}
		want[r] = true
	}
	return want, nil
}

// ParseSince reads an RFC 3339 time or a positive duration before now;
// "" is the zero time.
func ParseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since: %q is neither an RFC 3339 time nor a positive duration", s)
}

// WriteJSON prints the result as one indented JSON object, with the
// dead-letter topic it read and whether it was a dry run.
func (r RedriveResult) WriteJSON(w io.Writer, dlq string, dryRun bool) error {
	b, err := json.MarshalIndent(struct {
		DLQ    string `json:"dlq_topic"`
		DryRun bool   `json:"dry_run"`
		RedriveResult
	}{dlq, dryRun, r}, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteText prints what was (or, on a dry run, would be) sent from dlq,
// by reason.
func (r RedriveResult) WriteText(w io.Writer, dlq string, dryRun bool) {
	n := 0
	reasons := make([]string, 0, len(r.Sent))
	for reason, c := range r.Sent {
		reasons = append(reasons, reason)
		n += c
	}
	sort.Strings(reasons)
	verb := "sent"
	if dryRun {
		verb = "would send"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "read %d dead letters from %s; %s %d, skipped %d\n", r.Read, dlq, verb, n, r.Skipped)
	if r.Truncated > 0 {
		fmt.Fprintf(tw, "  (%d of the skipped were truncated: they hold only the start of the original event, whose size and sha256 are in their headers)\n", r.Truncated)
	}
	for _, reason := range reasons {
		fmt.Fprintf(tw, "  %s\t%d\n", reason, r.Sent[reason])
	}
	tw.Flush()
}
