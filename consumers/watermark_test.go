package consumers

import (
	"reflect"
	"testing"

	"github.com/streamscore/streamscore/schemas"
)

func span(p int, epoch uint64, prev, last int64, n int) schemas.Span {
	return schemas.Span{Topic: "t", Partition: p, Epoch: epoch, Prev: prev, Last: last, Count: n}
}

func TestWatermark(t *testing.T) {
	tests := []struct {
		name  string
		begin map[int]int64
		acks  [][]schemas.Span
		want  map[int]int64 // partition -> offset to commit; absent means nothing to commit
		sent  int
		out   int64
		stale int64
	}{
		{
			name:  "in order",
			sent:  10,
			begin: map[int]int64{0: 10},
			acks:  [][]schemas.Span{{span(0, 1, 9, 14, 5)}, {span(0, 1, 14, 19, 5)}},
			want:  map[int]int64{0: 20},
		},
		{
			name:  "out of order stops at the hole",
			sent:  15,
			begin: map[int]int64{0: 0},
			acks:  [][]schemas.Span{{span(0, 1, 4, 9, 5)}, {span(0, 1, 14, 19, 5)}},
			want:  map[int]int64{},
			out:   5,
		},
		{
			name:  "hole filled last moves past everything",
			sent:  15,
			begin: map[int]int64{0: 0},
			acks:  [][]schemas.Span{{span(0, 1, 4, 9, 5)}, {span(0, 1, 9, 14, 5)}, {span(0, 1, -1, 4, 5)}},
			want:  map[int]int64{0: 15},
		},
		{
			name:  "offset gaps follow the fetch chain",
			sent:  5,
			begin: map[int]int64{0: 100},
			acks:  [][]schemas.Span{{span(0, 1, 150, 170, 3)}, {span(0, 1, 99, 150, 2)}},
			want:  map[int]int64{0: 171},
		},
		{
			name:  "partitions are independent",
			sent:  8,
			begin: map[int]int64{0: 0, 1: 0},
			acks:  [][]schemas.Span{{span(0, 1, -1, 3, 4), span(1, 1, 3, 5, 2)}},
			want:  map[int]int64{0: 4},
			out:   2,
		},
		{
			name:  "a revoked epoch's acks are stale",
			sent:  5,
			begin: map[int]int64{0: 0},
			acks:  [][]schemas.Span{{span(0, 0, -1, 9, 10)}, {span(0, 1, -1, 4, 5)}},
			want:  map[int]int64{0: 5},
			stale: 10,
		},
		{
			name:  "a partition never begun is not committed",
			sent:  0,
			begin: map[int]int64{0: 0},
			acks:  [][]schemas.Span{{span(3, 1, -1, 4, 5)}},
			want:  map[int]int64{},
			stale: 5,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWatermark(1)
			for p, first := range tc.begin {
				w.Begin("t", p, first)
			}
			w.Sent(tc.sent)
			for _, a := range tc.acks {
				w.Ack(a)
			}
			got := map[int]int64{}
			for _, parts := range w.Uncommitted() {
				for p, off := range parts {
					got[p] = off
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Uncommitted() = %v, want %v", got, tc.want)
			}
			if o := w.Outstanding(); o != tc.out {
				t.Fatalf("Outstanding() = %d, want %d", o, tc.out)
			}
			if s := w.Stale(); s != tc.stale {
				t.Fatalf("Stale() = %d, want %d", s, tc.stale)
			}
			w.Committed(w.Uncommitted())
			if u := w.Uncommitted(); u != nil {
				t.Fatalf("after Committed, Uncommitted() = %v, want nil", u)
			}
		})
	}
}

// TestWatermarkLower covers offsets carried from a previous assignment: the
// partition starts at 100, but the group's commit is 40, so 100 is to be
// committed before any new ack, and acks move it on from there.
func TestWatermarkLower(t *testing.T) {
	w := NewWatermark(2)
	w.Begin("t", 0, 100)
	if got := w.Uncommitted(); got != nil {
		t.Fatalf("Uncommitted() = %v before Lower, want nil", got)
	}
	w.Lower("t", 0, 40)
	w.Lower("t", 1, 40) // not begun: ignored
	if got, want := w.Uncommitted(), map[string]map[int]int64{"t": {0: 100}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Uncommitted() = %v, want %v", got, want)
	}
	w.Committed(map[string]map[int]int64{"t": {0: 100}})
	if got := w.Uncommitted(); got != nil {
		t.Fatalf("Uncommitted() = %v after committing, want nil", got)
	}
	w.Ack([]schemas.Span{span(0, 2, 99, 104, 5)})
	if got, want := w.Uncommitted(), map[string]map[int]int64{"t": {0: 105}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Uncommitted() = %v, want %v", got, want)
	}
}
