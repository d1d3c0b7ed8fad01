package consumers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

// HealthConfig says when a scorer stops being ready and when it counts as
// broken (the health.* keys of streamscore.yaml).
type HealthConfig struct {
	// StallAfter is how long the committed offsets may stand still while
	// records wait (lag > 0) before /readyz answers 503 and
	// streamscore_stalled is 1. Zero means 60 s.
	StallAfter time.Duration `yaml:"stall_after"`
	// FailAfter is how long such a stall may last before /healthz fails too,
	// so an orchestrator restarts the process. Zero means 5 min; it must not
	// be shorter than StallAfter.
	FailAfter time.Duration `yaml:"fail_after"`
	// Interval is how often topics, high watermarks and committed offsets
	// are read from the brokers. Zero means 5 s.
	Interval time.Duration `yaml:"interval"`
}

// DefaultHealth returns the defaults HealthConfig's zero values stand for.
func DefaultHealth() HealthConfig {
	return HealthConfig{StallAfter: time.Minute, FailAfter: 5 * time.Minute, Interval: 5 * time.Second}
}

// Validate names the key and the fix of the first problem.
func (c *HealthConfig) Validate() error {
	d := c.withDefaults()
	switch {
	case c.StallAfter < 0 || c.FailAfter < 0 || c.Interval < 0:
		return errors.New("health: stall_after, fail_after and interval must not be negative")
	case d.FailAfter < d.StallAfter:
		return fmt.Errorf("health.fail_after: %s is shorter than health.stall_after (%s); make it at least as long", d.FailAfter, d.StallAfter)
	case d.Interval > d.StallAfter:
		return fmt.Errorf("health.interval: %s is longer than health.stall_after (%s); a stall could not be seen in time", d.Interval, d.StallAfter)
	}
	return nil
}

func (c *HealthConfig) withDefaults() HealthConfig {
	o, def := *c, DefaultHealth()
	if o.StallAfter == 0 {
		o.StallAfter = def.StallAfter
	}
	if o.FailAfter == 0 {
		o.FailAfter = def.FailAfter
	}
	if o.Interval == 0 {
		o.Interval = def.Interval
	}
	return o
}

// missingTopicLogEvery is how often a missing input topic is logged.
const missingTopicLogEvery = 30 * time.Second

// Health watches what a scorer's readiness depends on, from the brokers'
// point of view: the input, output and dead-letter topics exist, the group
// has assigned partitions to this process, and the committed offset of
// every assigned partition with lag advances (one stuck partition is a
// stall even while the others move). It also keeps the lag gauge
// (streamscore_consumer_lag_records: high watermark minus committed offset,
// per assigned partition) true while nothing is fetched or committed.
//
// Ready and Healthy are safe for concurrent use; Run checks until its
// context is done.
type Health struct {
	cfg     HealthConfig
	client  *kafka.Client
	group   *Group
	input   string
	outputs []string
	log     *slog.Logger
	now     func() time.Time

	age     prometheus.Gauge
	stalled prometheus.Gauge

	mu         sync.Mutex
	checked    bool
	err        error    // the last check's failure to reach the brokers
	missing    []string // topics that do not exist
	lag        int64
	lags       map[int]int64 // per assigned partition
	committed  map[int]int64
	advancedAt time.Time         // the committed offsets last moved
	progressAt map[int]time.Time // per partition: its commit last moved, or it had no lag
	loggedAt   time.Time         // a missing input topic was last logged
}

// NewHealth returns a Health for group g, reading topics input and outputs
// (the output and dead-letter topics; empty names are skipped) through
// client. reg may be nil.
func NewHealth(cfg HealthConfig, client *kafka.Client, g *Group, outputs []string, log *slog.Logger, reg prometheus.Registerer) *Health {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Health{
		cfg: cfg.withDefaults(), client: client, group: g, input: g.cfg.Topic, log: log.With("component", "health"), now: time.Now,
		age: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "streamscore_last_commit_age_seconds",
			Help: "Seconds since the consumer group's committed offsets last advanced.",
		}),
		stalled: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "streamscore_stalled",
			Help: "1 while committed offsets have not advanced for health.stall_after although records wait.",
		}),
	}
	for _, t := range outputs {
		if t != "" && !slices.Contains(h.outputs, t) {
			h.outputs = append(h.outputs, t)
		}
	}
	if reg != nil {
		reg.MustRegister(h.age, h.stalled)
	}
	return h
}

// Run checks every HealthConfig.Interval until ctx is done.
func (h *Health) Run(ctx context.Context) {
	t := time.NewTicker(h.cfg.Interval)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, h.cfg.Interval)
		h.Check(cctx)
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check reads topics, high watermarks and committed offsets once and
// updates the state Ready and Healthy report and the gauges.
func (h *Health) Check(ctx context.Context) {
	now := h.now()
	topics := append([]string{h.input}, h.outputs...)
	meta, err := h.client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		h.failed(fmt.Errorf("reading topic metadata: %w", err))
		return
	}
	var missing []string
	var parts []int
	for _, t := range meta.Topics {
		switch {
		case errors.Is(t.Error, kafka.UnknownTopicOrPartition):
			missing = append(missing, t.Name)
		case t.Error != nil:
			h.failed(fmt.Errorf("reading metadata of topic %s: %w", t.Name, t.Error))
			return
		case t.Name == h.input:
			for _, p := range t.Partitions {
				parts = append(parts, p.ID)
			}
		}
	}
	slices.Sort(missing)
	lag, lags, committed, err := h.lagOf(ctx, parts)
	if err != nil {
		h.failed(err)
		return
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	first := !h.checked
	h.checked, h.err, h.missing = true, nil, missing
	if first {
		h.advancedAt = now
		h.progressAt = map[int]time.Time{}
	}
	for p := range lags {
		off, ok := committed[p]
		prev, had := h.committed[p]
		moved := ok && (had && off != prev || !had && !first)
		if moved {
			h.advancedAt = now
		}
		if _, seen := h.progressAt[p]; moved || lags[p] == 0 || !seen {
			h.progressAt[p] = now
		}
	}
	for p := range h.progressAt {
		if _, ok := lags[p]; !ok {
			delete(h.progressAt, p) // no longer assigned here
		}
	}
	h.committed, h.lag, h.lags = committed, lag, lags
	h.age.Set(now.Sub(h.advancedAt).Seconds())
	if d, _ := h.stallLocked(now, h.cfg.StallAfter); d >= h.cfg.StallAfter {
		h.stalled.Set(1)
	} else {
		h.stalled.Set(0)
	}
	if slices.Contains(missing, h.input) && now.Sub(h.loggedAt) >= missingTopicLogEvery {
		h.loggedAt = now
		h.log.Error("the input topic does not exist; waiting for it", "topic", h.input, "fix", "create it with `streamscore topics create`")
	}
}

// lagOf returns the lag of the partitions of the input topic assigned to
// this process (all of them when the assignment is unknown), in total and
// per partition, and the group's committed offsets of every partition, and
// sets the lag gauge.
func (h *Health) lagOf(ctx context.Context, parts []int) (int64, map[int]int64, map[int]int64, error) {
	lags := map[int]int64{}
	if len(parts) == 0 {
		return 0, lags, map[int]int64{}, nil
	}
	req := make([]kafka.OffsetRequest, 0, 2*len(parts))
	for _, p := range parts {
		req = append(req, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	offs, err := h.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{h.input: req}})
	if err != nil {
		return 0, nil, nil, fmt.Errorf("reading high watermarks of %s: %w", h.input, err)
	}
	fetched, err := h.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: h.group.cfg.GroupID, Topics: map[string][]int{h.input: parts}})
	if err != nil {
		return 0, nil, nil, fmt.Errorf("reading committed offsets of group %s: %w", h.group.cfg.GroupID, err)
	}
	if fetched.Error != nil && !errors.Is(fetched.Error, kafka.GroupIdNotFound) {
		return 0, nil, nil, fmt.Errorf("reading committed offsets of group %s: %w", h.group.cfg.GroupID, fetched.Error)
	}
	committed := make(map[int]int64, len(parts))
	for _, p := range fetched.Topics[h.input] {
		if p.Error == nil && p.CommittedOffset >= 0 {
			committed[p.Partition] = p.CommittedOffset
		}
	}
	mine := h.group.Assignment()
	var total int64
	for _, po := range offs.Topics[h.input] {
		if po.Error != nil {
			return 0, nil, nil, fmt.Errorf("reading high watermark of %s/%d: %w", h.input, po.Partition, po.Error)
		}
		from, ok := committed[po.Partition]
		if !ok {
			from = po.FirstOffset // nothing committed yet: everything retained waits
			if h.group.cfg.StartOffset == kafka.LastOffset {
				from = po.LastOffset
			}
		}
		lag := max(0, po.LastOffset-max(from, po.FirstOffset))
		pl := strconv.Itoa(po.Partition)
		if mine != nil && !mine[po.Partition] {
			h.group.m.lag.DeleteLabelValues(h.input, pl)
			continue
		}
		h.group.m.lag.WithLabelValues(h.input, pl).Set(float64(lag))
		lags[po.Partition] = lag
		total += lag
	}
	return total, lags, committed, nil
}

func (h *Health) failed(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.err = err
}

// stallLocked returns, as of the last check, the longest time an assigned
// partition's committed offset has stood still while records waited in
// it, and the partitions stalled that long or longer than after (sorted).
func (h *Health) stallLocked(now time.Time, after time.Duration) (time.Duration, []int) {
	if !h.checked {
		return 0, nil
	}
	var longest time.Duration
	var stalled []int
	for p, at := range h.progressAt {
		if h.lags[p] == 0 {
			continue
		}
		d := now.Sub(at)
		longest = max(longest, d)
		if d >= after {
			stalled = append(stalled, p)
		}
	}
	slices.Sort(stalled)
	return longest, stalled
}

// partitionList formats partition numbers for a message.
func partitionList(ps []int) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ", ")
}

// Ready returns nil when the scorer is ready, else why not: a missing topic,
// brokers that do not answer, no partition assigned, or a stall.
func (h *Health) Ready() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	switch {
	case !h.checked && h.err == nil:
		return errors.New("checking topics and offsets")
	case h.err != nil:
		return fmt.Errorf("no Kafka broker answers: %w", h.err)
	case len(h.missing) > 0:
		return fmt.Errorf("topic %s does not exist (create it with `streamscore topics create`)", strings.Join(h.missing, ", "))
	case !h.group.Ready():
		return errors.New("waiting for a partition assignment from the consumer group")
	}
	if d, ps := h.stallLocked(now, h.cfg.StallAfter); d >= h.cfg.StallAfter {
		return fmt.Errorf("stalled: committed offsets have not advanced for %s while %d records wait (partition %s of %s)", d.Round(time.Second), h.lag, partitionList(ps), h.input)
	}
	return nil
}

// Healthy returns nil unless a stall has lasted HealthConfig.FailAfter.
func (h *Health) Healthy() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if d, ps := h.stallLocked(h.now(), h.cfg.FailAfter); d >= h.cfg.FailAfter {
		return fmt.Errorf("stalled for %s (health.fail_after is %s): committed offsets of partition %s of %s have not advanced while %d records wait", d.Round(time.Second), h.cfg.FailAfter, partitionList(ps), h.input, h.lag)
	}
	return nil
}

// MissingTopics returns those of topics that do not exist, read through
// client. A scorer checks its output and dead-letter topics with it at
// start-up.
func MissingTopics(ctx context.Context, client *kafka.Client, topics ...string) ([]string, error) {
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, fmt.Errorf("reading topic metadata: %w", err)
	}
	var missing []string
	for _, t := range meta.Topics {
		switch {
		case errors.Is(t.Error, kafka.UnknownTopicOrPartition):
			missing = append(missing, t.Name)
		case t.Error != nil:
			return nil, fmt.Errorf("reading metadata of topic %s: %w", t.Name, t.Error)
		}
	}
	return missing, nil
}
