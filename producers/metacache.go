package producers

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"
)

// metadataTTL is how long metadataCache serves one topic's partition list.
// kafka.Transport itself serves metadata up to 6 s old (MetadataTTL), so
// this adds no staleness a user would notice.
const metadataTTL = time.Second

// metadataCache is a kafka.RoundTripper in front of a Writer's transport.
// kafka-go's Writer.WriteMessages asks the transport for the topic's
// metadata once per message to learn its partition count; kafka.Transport
// answers from its cache, but builds a filtered copy of the response each
// time, which showed in CPU profiles as several percent of streamscore's
// CPU. metadataCache answers those requests (one topic, no auto-creation)
// with the same response for metadataTTL; everything else passes through.
// It is safe for concurrent use.
type metadataCache struct {
	next kafka.RoundTripper
	now  func() time.Time

	mu      sync.Mutex
	entries map[string]cachedMetadata
}

type cachedMetadata struct {
	res *metadataAPI.Response
	at  time.Time
}

func newMetadataCache(next kafka.RoundTripper) *metadataCache {
	return &metadataCache{next: next, now: time.Now, entries: make(map[string]cachedMetadata)}
}

// RoundTrip implements kafka.RoundTripper. The cached response is shared
// by every caller: kafka-go's Writer only reads it.
func (m *metadataCache) RoundTrip(ctx context.Context, addr net.Addr, req kafka.Request) (kafka.Response, error) {
	mr, ok := req.(*metadataAPI.Request)
	if !ok || len(mr.TopicNames) != 1 || mr.AllowAutoTopicCreation {
		return m.next.RoundTrip(ctx, addr, req)
	}
	topic := mr.TopicNames[0]
	now := m.now()
	m.mu.Lock()
	e, hit := m.entries[topic]
	m.mu.Unlock()
	if hit && now.Sub(e.at) < metadataTTL {
		return e.res, nil
	}
	res, err := m.next.RoundTrip(ctx, addr, req)
	if err != nil {
		return nil, err
	}
	if r, ok := res.(*metadataAPI.Response); ok && answers(r, topic) {
		m.mu.Lock()
		m.entries[topic] = cachedMetadata{res: r, at: now}
		m.mu.Unlock()
	}
	return res, nil
}

// answers reports whether r holds topic without an error, so that it may
// be served again; an error (a missing topic) is asked again each time.
func answers(r *metadataAPI.Response, topic string) bool {
	for _, t := range r.Topics {
		if t.Name == topic {
			return t.ErrorCode == 0 && len(t.Partitions) > 0
		}
	}
	return false
}
