package drift

import (
	"slices"

	"github.com/streamscore/streamscore/schemas"
)

// ObserveBatch folds the scored rows of b into the current bucket of their
// model version. It runs on the engine's inference goroutine: it takes a
// mutex held only by other in-memory work, does no I/O, and allocates only
// when a new bucket starts.
func (m *Monitor) ObserveBatch(b *schemas.ScoredBatch) {
	if b == nil || b.Decoded == nil || b.Decoded.Record == nil {
		return
	}
	n := int(b.Decoded.Record.NumRows())
	if n == 0 {
		return
	}
	start := m.bucketStart(m.cfg.Now())
	m.mu.Lock()
	defer m.mu.Unlock()
	if b.Versions == nil {
		m.foldRows(b, modelKey{b.Model, b.ModelVersion}, start, m.selectRows(b, n, nil))
		return
	}
	// A canary splits the batch between versions: each has its window.
	var buf [4]string
	versions := buf[:0]
	for r := range n {
		if v := b.Versions[r]; !slices.Contains(versions, v) {
			versions = append(versions, v)
		}
	}
	for _, v := range versions {
		m.foldRows(b, modelKey{b.Model, v}, start, m.selectRows(b, n, &v))
	}
}

// selectRows lists the scored record rows (of version, if not nil) in the
// scratch slice.
func (m *Monitor) selectRows(b *schemas.ScoredBatch, n int, version *string) []int32 {
	sel := m.sel[:0]
	for r := range n {
		if !b.RowOK(r) || (version != nil && b.Versions[r] != *version) {
			continue
		}
		sel = append(sel, int32(r))
	}
	m.sel = sel
	return sel
}

func (m *Monitor) foldRows(b *schemas.ScoredBatch, mk modelKey, start int64, rows []int32) {
	if len(rows) == 0 {
		return
	}
	key := bucketKey{mk, start}
	pb := m.pending[key]
	if pb == nil {
		m.makeRoom()
		pb = &pendingBucket{counts: make([]int64, m.lay.width)}
		m.pending[key] = pb
		m.m.pending.Set(float64(len(m.pending)))
	}
	m.lay.fold(pb.counts, b, rows)
	pb.events += int64(len(rows))
	m.m.observed.Add(float64(len(rows)))
	if m.active[mk] < start {
		m.active[mk] = start
	}
}

// makeRoom drops the oldest pending buckets until one more fits. m.mu is
// held.
func (m *Monitor) makeRoom() {
	for len(m.pending) >= m.cfg.MaxPendingBuckets {
		var oldest bucketKey
		first := true
		for k := range m.pending {
			if first || k.start < oldest.start {
				oldest, first = k, false
			}
		}
		m.m.lost.WithLabelValues("overflow").Add(float64(m.pending[oldest].events))
		delete(m.pending, oldest)
	}
}
