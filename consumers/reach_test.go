package consumers

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// silentListener accepts connections and never writes to them.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestReach(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	silent, closed := silentListener(t), closedPort(t)
	tests := []struct {
		name    string
		brokers []string
		want    string // "" means nil
	}{
		{"a broker", c.ListenAddrs(), ""},
		{"silent then a broker", append([]string{silent}, c.ListenAddrs()...), ""},
		{"silent", []string{silent}, silent + " accepted the connection but sent no Kafka response within 300ms: is it a Kafka broker?"},
		{"refused", []string{closed}, "connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := Reach(t.Context(), tc.brokers, nil, 300*time.Millisecond)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Reach = %v, want %q", err, tc.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("Reach took %s", d)
			}
		})
	}
}

func TestReachStopsWhenCancelled(t *testing.T) {
	silent := silentListener(t)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	err := Reach(ctx, []string{silent}, nil, time.Minute)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Reach = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Reach returned %s after the cancel, want under 2 s", d)
	}
}

func TestWaitForBrokers(t *testing.T) {
	silent, closed := silentListener(t), closedPort(t)
	err := WaitForBrokers(t.Context(), []string{silent}, nil, 200*time.Millisecond, time.Minute, nil)
	if !errors.Is(err, ErrSilentListener) {
		t.Fatalf("WaitForBrokers(silent) = %v, want ErrSilentListener at once", err)
	}
	err = WaitForBrokers(t.Context(), []string{closed}, nil, 200*time.Millisecond, 500*time.Millisecond, nil)
	if err == nil || !strings.Contains(err.Error(), "kafka.startup_timeout (500ms)") {
		t.Fatalf("WaitForBrokers(closed) = %v, want the startup timeout", err)
	}
}
