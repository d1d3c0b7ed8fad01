package consumers

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

func TestProbe(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name    string
		brokers []string
		want    bool
	}{
		{"a broker answers", c.ListenAddrs(), true},
		{"the first is down, the second answers", append([]string{dead}, c.ListenAddrs()...), true},
		{"none answers", []string{dead}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewProbe(tc.brokers, nil, time.Second)
			if got := p.check(t.Context()); got != tc.want {
				t.Fatalf("check() = %v, want %v", got, tc.want)
			}
			// Run publishes the result of each check through Up.
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() { defer close(done); p.Run(ctx) }()
			deadline := time.Now().Add(5 * time.Second)
			for tc.want && !p.Up() && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			<-done
			if p.Up() != tc.want {
				t.Fatalf("Up() = %v after Run, want %v", p.Up(), tc.want)
			}
		})
	}
}
