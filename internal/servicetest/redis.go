package servicetest

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a redis-server of a test's own, on 127.0.0.1 and a port fixed
// at start, so a test can stop it and start it again at the same address.
type Redis struct {
	// Addr is host:port.
	Addr string
	// Port is Addr's port.
	Port int

	dir     string
	persist bool
	extra   []string
	cmd     *exec.Cmd
}

// RedisOptions configure StartRedis.
type RedisOptions struct {
	// Persist keeps the data across Stop and Start (saved at Stop,
	// loaded at Start), as a Redis with persistence does across a
	// restart. Without it a restarted server is empty.
	Persist bool
	// Args are extra redis-server arguments.
	Args []string
}

// StartRedis starts a private redis-server (Debian's package;
// deployments/local/redis.sh installs it), waits for it to answer PING and
// stops it when the test ends. Benchmarks skip when redis-server is not
// installed; tests fail.
func StartRedis(tb testing.TB, opts RedisOptions) *Redis {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if _, ok := tb.(*testing.B); ok {
			tb.Skip("redis-server is not installed (deployments/local/redis.sh start installs it)")
		}
		tb.Fatal("redis-server is not installed: run `deployments/local/redis.sh start` once, or `make test`")
	}
	r := &Redis{Port: FreePort(tb), dir: tb.TempDir(), persist: opts.Persist, extra: opts.Args}
	r.Addr = fmt.Sprintf("127.0.0.1:%d", r.Port)
	r.Start(tb)
	tb.Cleanup(func() { r.kill() })
	return r
}

// FreePort returns a TCP port free on 127.0.0.1 at the time of the call.
func FreePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start starts the server again after Stop and waits until it answers
// PING (10 s at most).
func (r *Redis) Start(tb testing.TB) {
	tb.Helper()
	args := []string{"--port", strconv.Itoa(r.Port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", r.dir}
	r.cmd = exec.Command("redis-server", append(args, r.extra...)...)
	if err := r.cmd.Start(); err != nil {
		tb.Fatalf("starting redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			tb.Fatalf("redis-server on %s does not answer PING", r.Addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops the server with SIGTERM and waits for it to exit, saving its
// data first if it persists. It does nothing if the server is stopped.
func (r *Redis) Stop(tb testing.TB) {
	tb.Helper()
	if r.cmd == nil {
		return
	}
	if r.persist {
		c := redis.NewClient(&redis.Options{Addr: r.Addr})
		err := c.Save(context.Background()).Err()
		c.Close()
		if err != nil {
			tb.Fatalf("SAVE on %s: %v", r.Addr, err)
		}
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	r.cmd.Wait()
	r.cmd = nil
}

func (r *Redis) kill() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	r.cmd.Wait()
	r.cmd = nil
}
