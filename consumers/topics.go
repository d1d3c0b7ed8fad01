package consumers

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// TopicInfo describes one topic as `streamscore topics list|describe`
// prints it.
type TopicInfo struct {
	Name string `json:"name"`
	// Internal marks the broker's own topics (__consumer_offsets).
	Internal   bool            `json:"internal,omitempty"`
	Partitions []PartitionInfo `json:"partitions"`
	// Records is the sum over partitions of high minus low watermark: the
	// records the topic holds now (less any removed by compaction).
	Records int64 `json:"records"`
	// Config holds the topic's configuration entries that differ from the
	// broker's defaults, when describing; nil when not asked for.
	Config map[string]string `json:"config,omitempty"`
	// ConfigError says why Config could not be read, if it could not.
	ConfigError string `json:"config_error,omitempty"`
}

// PartitionInfo is one partition of a topic.
type PartitionInfo struct {
	Partition int `json:"partition"`
	// Leader is the leader broker's id, -1 without a leader.
	Leader     int    `json:"leader"`
	LeaderAddr string `json:"leader_addr,omitempty"`
	Replicas   []int  `json:"replicas"`
	ISR        []int  `json:"isr"`
	// LowWatermark is the first offset still held; HighWatermark is the
	// offset the next record will get.
	LowWatermark  int64 `json:"low_watermark"`
	HighWatermark int64 `json:"high_watermark"`
}

// DescribeTopics returns the named topics (every topic when names is
// empty, the broker's internal ones left out unless internal is true), in
// name order, with partitions, leaders, replicas and watermarks; with
// withConfig also their non-default configuration. A named topic that
// does not exist is an error naming it.
func DescribeTopics(ctx context.Context, c *kafka.Client, names []string, internal, withConfig bool) ([]TopicInfo, error) {
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: names})
	if err != nil {
		return nil, fmt.Errorf("reading topic metadata: %w", err)
	}
	var out []TopicInfo
	var missing []string
	for _, t := range md.Topics {
		if t.Error != nil {
			if len(names) > 0 {
				missing = append(missing, t.Name)
				continue
			}
			return nil, fmt.Errorf("reading metadata of topic %s: %w", t.Name, t.Error)
		}
		if t.Internal && !internal && len(names) == 0 {
			continue
		}
		ti := TopicInfo{Name: t.Name, Internal: t.Internal}
		for _, p := range t.Partitions {
			pi := PartitionInfo{Partition: p.ID, Leader: p.Leader.ID, Replicas: brokerIDs(p.Replicas), ISR: brokerIDs(p.Isr)}
			if p.Leader.Host != "" {
				pi.LeaderAddr = fmt.Sprintf("%s:%d", p.Leader.Host, p.Leader.Port)
			} else {
				pi.Leader = -1
			}
			ti.Partitions = append(ti.Partitions, pi)
		}
		slices.SortFunc(ti.Partitions, func(a, b PartitionInfo) int { return a.Partition - b.Partition })
		out = append(out, ti)
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("no such topic: %s (streamscore topics list shows those that exist)", strings.Join(missing, ", "))
	}
	slices.SortFunc(out, func(a, b TopicInfo) int { return strings.Compare(a.Name, b.Name) })
	if err := watermarks(ctx, c, out); err != nil {
		return nil, err
	}
	if withConfig {
		topicConfigs(ctx, c, out)
	}
	return out, nil
}

func brokerIDs(bs []kafka.Broker) []int {
	ids := make([]int, len(bs))
	for i, b := range bs {
		ids[i] = b.ID
	}
	slices.Sort(ids)
	return ids
}

// watermarks fills every partition's low and high watermark in one
// ListOffsets request.
func watermarks(ctx context.Context, c *kafka.Client, ts []TopicInfo) error {
	req := map[string][]kafka.OffsetRequest{}
	for _, t := range ts {
		for _, p := range t.Partitions {
			req[t.Name] = append(req[t.Name], kafka.FirstOffsetOf(p.Partition), kafka.LastOffsetOf(p.Partition))
		}
	}
	if len(req) == 0 {
		return nil
	}
	res, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: req})
	if err != nil {
		return fmt.Errorf("listing offsets: %w", err)
	}
	for i := range ts {
		t := &ts[i]
		got := map[int]kafka.PartitionOffsets{}
		for _, po := range res.Topics[t.Name] {
			if po.Error != nil {
				return fmt.Errorf("listing offsets of %s/%d: %w", t.Name, po.Partition, po.Error)
			}
			got[po.Partition] = po
		}
		for j := range t.Partitions {
			p := &t.Partitions[j]
			po := got[p.Partition]
			p.LowWatermark, p.HighWatermark = po.FirstOffset, po.LastOffset
			t.Records += max(0, po.LastOffset-po.FirstOffset)
		}
	}
	return nil
}

// topicConfigs fills each topic's non-default configuration; a broker that
// does not answer DescribeConfigs leaves ConfigError set instead.
func topicConfigs(ctx context.Context, c *kafka.Client, ts []TopicInfo) {
	req := &kafka.DescribeConfigsRequest{}
	for _, t := range ts {
		req.Resources = append(req.Resources, kafka.DescribeConfigRequestResource{ResourceType: kafka.ResourceTypeTopic, ResourceName: t.Name})
	}
	res, err := c.DescribeConfigs(ctx, req)
	byName := map[string]kafka.DescribeConfigResponseResource{}
	if err == nil {
		for _, r := range res.Resources {
			byName[r.ResourceName] = r
		}
	}
	for i := range ts {
		t := &ts[i]
		r, ok := byName[t.Name]
		switch {
		case err != nil:
			t.ConfigError = err.Error()
			continue
		case !ok:
			t.ConfigError = "the broker returned no configuration"
			continue
		case r.Error != nil:
			t.ConfigError = r.Error.Error()
			continue
		}
		t.Config = map[string]string{}
		for _, e := range r.ConfigEntries {
			if e.IsDefault || e.ConfigSource == 5 || e.ConfigSource == 4 { // DEFAULT_CONFIG, STATIC_BROKER_CONFIG
				continue
			}
			if e.IsSensitive {
				t.Config[e.ConfigName] = "(sensitive)"
				continue
			}
			t.Config[e.ConfigName] = e.ConfigValue
		}
	}
}

// Retention returns a topic's effective retention.ms (its own setting or
// the broker's default) as a duration; a negative one means records are
// kept however old they are. Kafka deletes a segment once its newest
// timestamp is older than now minus the retention, so history written with
// its original timestamps can vanish at the broker's next retention check.
func Retention(ctx context.Context, c *kafka.Client, topic string) (time.Duration, error) {
	res, err := c.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{"retention.ms"},
	}}})
	if err != nil {
		return 0, fmt.Errorf("reading %s's retention.ms: %w", topic, err)
	}
	for _, r := range res.Resources {
		if r.Error != nil {
			return 0, fmt.Errorf("reading %s's retention.ms: %w", topic, r.Error)
		}
		for _, e := range r.ConfigEntries {
			if e.ConfigName != "retention.ms" {
				continue
			}
			ms, err := strconv.ParseInt(e.ConfigValue, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s's retention.ms %q: %w", topic, e.ConfigValue, err)
			}
			if ms < 0 {
				return -1, nil
			}
			return time.Duration(ms) * time.Millisecond, nil
		}
	}
	return 0, fmt.Errorf("reading %s's retention.ms: the broker returned none", topic)
}

// SetTopicConfig sets configuration entries of a topic (name=value, in
// order) with IncrementalAlterConfigs; entries not named keep their values.
// The broker validates names and values; its refusal is returned.
func SetTopicConfig(ctx context.Context, c *kafka.Client, topic string, entries [][2]string) error {
	cfgs := make([]kafka.IncrementalAlterConfigsRequestConfig, len(entries))
	for i, e := range entries {
		cfgs[i] = kafka.IncrementalAlterConfigsRequestConfig{Name: e[0], Value: e[1], ConfigOperation: kafka.ConfigOperationSet}
	}
	res, err := c.IncrementalAlterConfigs(ctx, &kafka.IncrementalAlterConfigsRequest{Resources: []kafka.IncrementalAlterConfigsRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, Configs: cfgs,
	}}})
	if err != nil {
		return fmt.Errorf("setting %s's configuration: %w", topic, err)
	}
	for _, r := range res.Resources {
		if r.Error != nil {
			return fmt.Errorf("setting %s's configuration: %w", topic, r.Error)
		}
	}
	return nil
}
