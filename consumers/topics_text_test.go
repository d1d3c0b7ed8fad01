package consumers

import (
	"bytes"
	"testing"
)

func TestTopicsWriteTable(t *testing.T) {
	var buf bytes.Buffer
	if err := topicsFixture().WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	want := `TOPIC       PARTITIONS  REPLICATION  RECORDS
events      2           2            150
events.dlq  1           1            0
empty       0           0            0
`
	if got := buf.String(); got != want {
		t.Errorf("WriteTable wrote\n%s\nwant\n%s", got, want)
	}
}

func TestTopicsWriteText(t *testing.T) {
	var buf bytes.Buffer
	if err := topicsFixture().WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	want := `topic events: 2 partitions, 150 records
  PARTITION  LEADER              REPLICAS  ISR  LOW  HIGH
  0          1 (127.0.0.1:9092)  1,2       1,2  0    100
  1          -1                  2,1            10   60
  config:
    cleanup.policy=delete
    retention.ms=3600000

topic events.dlq: 1 partitions, 0 records
  PARTITION  LEADER  REPLICAS  ISR  LOW  HIGH
  0          1       1         1    0    0
  config: not available (DescribeConfigs: not authorized)

topic empty: 0 partitions, 0 records
  PARTITION  LEADER  REPLICAS  ISR  LOW  HIGH
  config: broker defaults
`
	if got := buf.String(); got != want {
		t.Errorf("WriteText wrote\n%s\nwant\n%s", got, want)
	}
}

func TestTopicsWriteJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		ts   Topics
		want string
	}{
		// No topics print as JSON null, as they always have.
		{"none", nil, "null\n"},
		{"one", Topics{{Name: "e", Partitions: []PartitionInfo{{Partition: 0, Leader: 1, Replicas: []int{1}, ISR: []int{1}, HighWatermark: 3}}, Records: 3}},
			"[\n  {\n    \"name\": \"e\",\n    \"partitions\": [\n      {\n        \"partition\": 0,\n        \"leader\": 1,\n        \"replicas\": [\n          1\n        ],\n        \"isr\": [\n          1\n        ],\n        \"low_watermark\": 0,\n        \"high_watermark\": 3\n      }\n    ],\n    \"records\": 3\n  }\n]\n"},
	} {
		var buf bytes.Buffer
		if err := tc.ts.WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		if got := buf.String(); got != tc.want {
			t.Errorf("%s: WriteJSON wrote %q, want %q", tc.name, got, tc.want)
		}
	}
}
