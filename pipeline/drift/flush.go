package drift

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// Flush sends every pending count to the store in one round trip. On
// failure the counts are kept for the next flush (within
// Config.MaxPendingBuckets; buckets too old to fall in any window are
// dropped and counted as lost).
func (m *Monitor) Flush(ctx context.Context) error {
	m.mu.Lock()
	taken := m.pending
	if len(taken) > 0 {
		m.pending = make(map[bucketKey]*pendingBucket, len(taken))
	}
	m.mu.Unlock()
	if len(taken) == 0 {
		return nil
	}
	buckets := make([]BucketCounts, 0, len(taken))
	names := make([]string, len(m.base.Columns))
	for i := range m.base.Columns {
		names[i] = m.base.Columns[i].Name
	}
	for k, pb := range taken {
		bc := BucketCounts{NS: m.Namespace(k.model, k.version), Start: k.start, Events: pb.events, Names: names, Columns: make([]Histogram, len(m.lay.cols))}
		for i := range m.lay.cols {
			bc.Columns[i] = m.lay.histogram(pb.counts, i)
		}
		buckets = append(buckets, bc)
	}
	t0 := time.Now()
	err := m.store.Add(ctx, buckets, m.ttl())
	m.m.flushTime.Observe(time.Since(t0).Seconds())
	if err == nil {
		m.m.flushes.WithLabelValues("ok").Inc()
		m.mu.Lock()
		m.m.pending.Set(float64(len(m.pending)))
		m.mu.Unlock()
		return nil
	}
	m.m.flushes.WithLabelValues("error").Inc()
	m.restore(taken)
	return err
}

// restore puts counts whose flush failed back, merging them with counts
// observed since. Newer buckets win the room MaxPendingBuckets leaves.
func (m *Monitor) restore(taken map[bucketKey]*pendingBucket) {
	oldest := m.bucketStart(m.cfg.Now()) - int64(m.cfg.Window-1)*m.cfg.Bucket.Milliseconds()
	keys := make([]bucketKey, 0, len(taken))
	for k := range taken {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b bucketKey) int { return cmp.Compare(b.start, a.start) })
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		pb := taken[k]
		if k.start < oldest {
			m.m.lost.WithLabelValues("expired").Add(float64(pb.events))
			continue
		}
		if cur := m.pending[k]; cur != nil {
			for i, c := range pb.counts {
				cur.counts[i] += c
			}
			cur.events += pb.events
			continue
		}
		if len(m.pending) >= m.cfg.MaxPendingBuckets && !m.olderPending(k.start) {
			m.m.lost.WithLabelValues("overflow").Add(float64(pb.events))
			continue
		}
		m.makeRoom()
		m.pending[k] = pb
	}
	m.m.pending.Set(float64(len(m.pending)))
}

// olderPending reports whether a pending bucket starts before start. m.mu
// is held.
func (m *Monitor) olderPending(start int64) bool {
	for k := range m.pending {
		if k.start < start {
			return true
		}
	}
	return false
}

// Pending returns the number of events held locally, not yet flushed.
func (m *Monitor) Pending() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for _, pb := range m.pending {
		n += pb.events
	}
	return n
}

// flushLogged flushes, logging the first failure and the recovery.
func (m *Monitor) flushLogged(ctx context.Context) {
	fctx, cancel := context.WithTimeout(ctx, m.cfg.StoreTimeout)
	err := m.Flush(fctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	m.mu.Lock()
	was := m.down
	m.down = err != nil
	m.mu.Unlock()
	switch {
	case err != nil && !was:
		m.log.Warn("drift store unreachable; keeping counts locally and retrying", "pending_events", m.Pending(), "err", err)
	case err != nil:
		m.log.Debug("drift store still unreachable", "pending_events", m.Pending(), "err", err)
	case was:
		m.log.Info("drift store reachable again; pending counts flushed")
	}
}
