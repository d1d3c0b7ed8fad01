package schemas_test

import (
	"slices"
	"testing"

	"github.com/streamscore/streamscore/schemas"
)

// msg is a message of topic t, partition p, assignment epoch e, at offset
// off, fetched after prev.
func msg(t string, p int, e uint64, prev, off int64) schemas.Message {
	return schemas.Message{Topic: t, Partition: p, Epoch: e, Prev: prev, Offset: off}
}

func TestSpans(t *testing.T) {
	tests := []struct {
		name string
		dst  []schemas.Span
		msgs []schemas.Message
		want []schemas.Span
	}{
		{name: "no messages"},
		{
			name: "one message",
			msgs: []schemas.Message{msg("a", 0, 1, 9, 10)},
			want: []schemas.Span{{Topic: "a", Partition: 0, Epoch: 1, Prev: 9, Last: 10, Count: 1}},
		},
		{
			name: "one partition with an offset gap",
			msgs: []schemas.Message{msg("a", 0, 1, 9, 10), msg("a", 0, 1, 10, 11), msg("a", 0, 1, 11, 14)},
			want: []schemas.Span{{Topic: "a", Partition: 0, Epoch: 1, Prev: 9, Last: 14, Count: 3}},
		},
		{
			name: "interleaved partitions in first-seen order",
			msgs: []schemas.Message{
				msg("a", 2, 1, 99, 100),
				msg("a", 0, 1, 4, 5),
				msg("a", 2, 1, 100, 101),
				msg("a", 1, 1, 0, 1),
				msg("a", 0, 1, 5, 6),
				msg("a", 2, 1, 101, 102),
			},
			want: []schemas.Span{
				{Topic: "a", Partition: 2, Epoch: 1, Prev: 99, Last: 102, Count: 3},
				{Topic: "a", Partition: 0, Epoch: 1, Prev: 4, Last: 6, Count: 2},
				{Topic: "a", Partition: 1, Epoch: 1, Prev: 0, Last: 1, Count: 1},
			},
		},
		{
			name: "same partition number in two topics",
			msgs: []schemas.Message{msg("a", 0, 1, 9, 10), msg("b", 0, 1, 49, 50), msg("a", 0, 1, 10, 11)},
			want: []schemas.Span{
				{Topic: "a", Partition: 0, Epoch: 1, Prev: 9, Last: 11, Count: 2},
				{Topic: "b", Partition: 0, Epoch: 1, Prev: 49, Last: 50, Count: 1},
			},
		},
		{
			name: "reassigned partition is a new span",
			msgs: []schemas.Message{
				msg("a", 0, 1, 9, 10),
				msg("a", 0, 1, 10, 11),
				msg("a", 0, 2, 10, 11), // refetched after a rebalance
				msg("a", 0, 2, 11, 12),
			},
			want: []schemas.Span{
				{Topic: "a", Partition: 0, Epoch: 1, Prev: 9, Last: 11, Count: 2},
				{Topic: "a", Partition: 0, Epoch: 2, Prev: 10, Last: 12, Count: 2},
			},
		},
		{
			name: "appends without merging into dst",
			dst:  []schemas.Span{{Topic: "a", Partition: 0, Epoch: 1, Prev: 1, Last: 9, Count: 8}},
			msgs: []schemas.Message{msg("a", 0, 1, 9, 10)},
			want: []schemas.Span{
				{Topic: "a", Partition: 0, Epoch: 1, Prev: 1, Last: 9, Count: 8},
				{Topic: "a", Partition: 0, Epoch: 1, Prev: 9, Last: 10, Count: 1},
			},
		},
		{
			name: "no messages keeps dst",
			dst:  []schemas.Span{{Topic: "a", Partition: 0, Epoch: 1, Prev: 1, Last: 9, Count: 8}},
			want: []schemas.Span{{Topic: "a", Partition: 0, Epoch: 1, Prev: 1, Last: 9, Count: 8}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := schemas.Spans(tc.dst, tc.msgs)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Spans =\n%+v\nwant\n%+v", got, tc.want)
			}
			count := 0
			for _, s := range got[len(tc.dst):] {
				count += s.Count
			}
			if count != len(tc.msgs) {
				t.Errorf("spans count %d messages, want %d", count, len(tc.msgs))
			}
		})
	}
}

func TestSpansReusesDst(t *testing.T) {
	buf := make([]schemas.Span, 0, 4)
	msgs := []schemas.Message{msg("a", 0, 1, 0, 1), msg("a", 1, 1, 0, 1)}
	got := schemas.Spans(buf[:0], msgs)
	if len(got) != 2 || &got[0] != &buf[:1][0] {
		t.Errorf("Spans did not append into dst's spare capacity: %+v", got)
	}
}
