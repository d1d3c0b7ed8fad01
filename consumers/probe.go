package consumers

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

// Probe checks that at least one broker answers a metadata request, so
// /readyz can say "not ready" while the cluster is unreachable.
type Probe struct {
	brokers  []string
	dialer   *kafka.Dialer
	interval time.Duration
	up       atomic.Bool
}

// NewProbe returns a probe of brokers every interval (zero means 2 s).
func NewProbe(brokers []string, dialer *kafka.Dialer, interval time.Duration) *Probe {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	if dialer == nil {
		dialer = kafka.DefaultDialer
	}
	return &Probe{brokers: brokers, dialer: dialer, interval: interval}
}

// Up reports whether the last check reached a broker.
func (p *Probe) Up() bool { return p.up.Load() }

// Run checks until ctx is done.
func (p *Probe) Run(ctx context.Context) {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		p.up.Store(p.check(ctx))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *Probe) check(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, p.interval)
	defer cancel()
	for _, b := range p.brokers {
		conn, err := p.dialer.DialContext(ctx, "tcp", b)
		if err != nil {
			continue
		}
		conn.SetDeadline(time.Now().Add(p.interval))
		_, err = conn.Brokers()
		conn.Close()
		if err == nil {
			return true
		}
	}
	return false
}
