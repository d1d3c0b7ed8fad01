package consumers

import (
	"strings"
	"time"
)

// letterStatsFixture is a scan result with two samples (one long and
// truncated, one short) and counts by reason, source and hour.
func letterStatsFixture() *LetterStats {
	t0 := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	long := strings.Repeat("x", 199) + "é" + strings.Repeat("y", 50)
	return &LetterStats{
		Topic: "events.dlq", Read: 12, Kept: 10, StoppedAtMax: true, Truncated: 1,
		ByReason: []ReasonCount{{Reason: "type_mismatch", Count: 7}, {Reason: "invalid_json", Count: 3}},
		BySource: []SourceCount{{Topic: "events", Count: 9}, {Topic: "clicks", Count: 1}},
		ByTime: []TimeBucket{
			{Start: t0, Count: 4, ByReason: map[string]int{"type_mismatch": 4}},
			{Start: t0.Add(time.Hour), Count: 6, ByReason: map[string]int{"type_mismatch": 3, "invalid_json": 3}},
		},
		Samples: []Letter{
			{Topic: "events.dlq", Partition: 1, Offset: 42, Key: "u1", Value: long, Headers: map[string]string{
				"streamscore.time": "2026-11-26T06:10:00Z", "streamscore.reason": "type_mismatch",
				"streamscore.source.topic": "events", "streamscore.source.partition": "0", "streamscore.source.offset": "17",
				"streamscore.field": "f03", "streamscore.error": "want a number, got a string",
				"streamscore.truncated": "true", "streamscore.original.value.bytes": "9000", "streamscore.original.value.sha256": "abc123",
			}},
			{Topic: "events.dlq", Partition: 0, Offset: 3, Key: "u2", Value: "{not json", Headers: map[string]string{
				"streamscore.time": "2026-11-26T07:00:00Z", "streamscore.reason": "invalid_json",
				"streamscore.source.topic": "clicks", "streamscore.source.partition": "2", "streamscore.source.offset": "5",
			}},
		},
	}
}

// topicsFixture is two described topics: one with a config entry and a
// leaderless partition, one whose config could not be read.
func topicsFixture() Topics {
	return Topics{
		{Name: "events", Records: 150, Config: map[string]string{"retention.ms": "3600000", "cleanup.policy": "delete"}, Partitions: []PartitionInfo{
			{Partition: 0, Leader: 1, LeaderAddr: "127.0.0.1:9092", Replicas: []int{1, 2}, ISR: []int{1, 2}, LowWatermark: 0, HighWatermark: 100},
			{Partition: 1, Leader: -1, Replicas: []int{2, 1}, ISR: []int{}, LowWatermark: 10, HighWatermark: 60},
		}},
		{Name: "events.dlq", Records: 0, ConfigError: "DescribeConfigs: not authorized", Partitions: []PartitionInfo{
			{Partition: 0, Leader: 1, Replicas: []int{1}, ISR: []int{1}},
		}},
		{Name: "empty", Config: map[string]string{}},
	}
}
