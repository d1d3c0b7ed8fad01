package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/consumers"
)

// CreateTopics creates topics with partitions partitions each (replication
// 1) and returns once every partition has a leader. retention, if not zero,
// caps what each partition keeps (retention.bytes), so long runs do not fill
// the disk; zero keeps the broker's default.
func CreateTopics(ctx context.Context, brokers []string, partitions int, retention int64, topics ...string) error {
	if retention > 0 {
		cc, closeAll, err := controller(ctx, brokers)
		if err != nil {
			return err
		}
		defer closeAll()
		for _, t := range topics {
			err := cc.CreateTopics(kafka.TopicConfig{
				Topic: t, NumPartitions: partitions, ReplicationFactor: 1,
				ConfigEntries: []kafka.ConfigEntry{
					{ConfigName: "retention.bytes", ConfigValue: strconv.FormatInt(retention, 10)},
					{ConfigName: "segment.bytes", ConfigValue: strconv.FormatInt(min(retention/4, 1<<30), 10)},
				},
			})
			if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
				return fmt.Errorf("creating topic %s: %w", t, err)
			}
		}
	}
	// Creates what is missing and waits for every leader.
	return consumers.CreateTopics(ctx, nil, brokers, partitions, 1, topics...)
}

// controller connects to the cluster's controller; closeAll closes what it
// opened.
func controller(ctx context.Context, brokers []string) (cc *kafka.Conn, closeAll func(), err error) {
	conn, err := kafka.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to %s: %w", brokers[0], err)
	}
	ctrl, err := conn.Controller()
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("finding the controller: %w", err)
	}
	cc, err = kafka.DialContext(ctx, "tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("connecting to the controller: %w", err)
	}
	return cc, func() { cc.Close(); conn.Close() }, nil
}

// DeleteTopics deletes topics; one that does not exist is not an error.
func DeleteTopics(ctx context.Context, brokers []string, topics ...string) error {
	cc, closeAll, err := controller(ctx, brokers)
	if err != nil {
		return err
	}
	defer closeAll()
	for _, t := range topics {
		if err := cc.DeleteTopics(t); err != nil && !errors.Is(err, kafka.UnknownTopicOrPartition) {
			return fmt.Errorf("deleting topic %s: %w", t, err)
		}
	}
	return nil
}

// Counter reads how many records a topic holds from its partitions' end
// offsets: one ListOffsets request per call, cheap enough to poll every few
// milliseconds without disturbing what is measured. It assumes the topic
// started empty and has no compaction or transaction markers.
type Counter struct {
	client *kafka.Client
	topic  string
	req    []kafka.OffsetRequest
}

// NewCounter returns a Counter for topic, which must exist.
func NewCounter(ctx context.Context, brokers []string, topic string) (*Counter, error) {
	parts, err := consumers.Partitions(ctx, nil, brokers, topic)
	if err != nil {
		return nil, err
	}
	c := &Counter{client: &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}, topic: topic}
	for _, p := range parts {
		c.req = append(c.req, kafka.LastOffsetOf(p))
	}
	return c, nil
}

// Count returns the sum of the topic's end offsets.
func (c *Counter) Count(ctx context.Context) (int64, error) {
	res, err := c.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{c.topic: c.req}})
	if err != nil {
		return 0, fmt.Errorf("listing end offsets of %s: %w", c.topic, err)
	}
	var n int64
	for _, po := range res.Topics[c.topic] {
		if po.Error != nil {
			return 0, fmt.Errorf("listing end offset of %s/%d: %w", c.topic, po.Partition, po.Error)
		}
		n += po.LastOffset
	}
	return n, nil
}

// CommittedCounter reads how many records of a topic a consumer group has
// done from the group's committed offsets: one OffsetFetch request per
// call. Under exactly-once delivery the consumed offsets commit in the same
// transaction as the results, so this counts what a read_committed reader
// downstream can see, without the transaction markers that end offsets of
// the output topic include. It assumes the topic's first offset is 0 and
// has no transaction markers itself (a backlog written without
// transactions).
type CommittedCounter struct {
	client *kafka.Client
	group  string
	topic  string
	parts  []int
}

// NewCommittedCounter returns a CommittedCounter for group on topic, which
// must exist.
func NewCommittedCounter(ctx context.Context, brokers []string, group, topic string) (*CommittedCounter, error) {
	parts, err := consumers.Partitions(ctx, nil, brokers, topic)
	if err != nil {
		return nil, err
	}
	return &CommittedCounter{client: &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}, group: group, topic: topic, parts: parts}, nil
}

// Count returns the sum of the group's committed offsets on the topic; a
// partition with no commit yet counts 0.
func (c *CommittedCounter) Count(ctx context.Context) (int64, error) {
	res, err := c.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: c.group, Topics: map[string][]int{c.topic: c.parts}})
	if err != nil {
		return 0, fmt.Errorf("fetching the offsets of group %s: %w", c.group, err)
	}
	if res.Error != nil {
		return 0, fmt.Errorf("fetching the offsets of group %s: %w", c.group, res.Error)
	}
	var n int64
	for _, po := range res.Topics[c.topic] {
		if po.Error != nil {
			return 0, fmt.Errorf("fetching the offset of group %s on %s/%d: %w", c.group, c.topic, po.Partition, po.Error)
		}
		if po.CommittedOffset > 0 {
			n += po.CommittedOffset
		}
	}
	return n, nil
}

// GroupAssigned reports whether consumer group has a member that holds
// partitions.
func GroupAssigned(ctx context.Context, brokers []string, group string) (bool, error) {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 5 * time.Second}
	res, err := client.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
	if err != nil {
		return false, err
	}
	for _, g := range res.Groups {
		if g.Error != nil {
			return false, g.Error
		}
		if g.GroupState != "Stable" {
			continue
		}
		for _, m := range g.Members {
			for _, t := range m.MemberAssignments.Topics {
				if len(t.Partitions) > 0 {
					return true, nil
				}
			}
		}
	}
	return false, nil
}
