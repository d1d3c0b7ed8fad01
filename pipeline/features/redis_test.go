package features

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a private redis-server for one test or benchmark, on a
// fixed port so it can be stopped and started again at the same address.
type redisServer struct {
	addr  string
	port  int
	dir   string
	extra []string
	cmd   *exec.Cmd
}

// startRedis starts a redis-server (Debian's package; deployments/local/
// redis.sh installs it). Benchmarks skip without one; tests fail.
func startRedis(tb testing.TB, extra ...string) *redisServer {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if _, ok := tb.(*testing.B); ok {
			tb.Skip("redis-server is not installed (deployments/local/redis.sh start installs it)")
		}
		tb.Fatal("redis-server is not installed: run `deployments/local/redis.sh start` once, or `make test`")
	}
	r := &redisServer{port: freePort(tb), dir: tb.TempDir(), extra: extra}
	r.addr = fmt.Sprintf("127.0.0.1:%d", r.port)
	r.start(tb)
	tb.Cleanup(func() { r.stop(tb) })
	return r
}

func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (r *redisServer) start(tb testing.TB) {
	tb.Helper()
	args := append([]string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", r.dir}, r.extra...)
	r.cmd = exec.Command("redis-server", args...)
	if err := r.cmd.Start(); err != nil {
		tb.Fatalf("starting redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: r.addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			tb.Fatalf("redis-server on %s does not answer PING", r.addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop stops the server (SIGTERM) and waits for it; it may be started again.
func (r *redisServer) stop(tb testing.TB) {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	r.cmd.Wait()
	r.cmd = nil
}

// commandCalls returns the calls= count of each command from INFO
// commandstats, keyed by lower-case name.
func commandCalls(tb testing.TB, c redis.UniversalClient) map[string]int64 {
	tb.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		name, rest, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "cmdstat_"), ":")
		if !ok || !strings.HasPrefix(rest, "calls=") {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimPrefix(strings.SplitN(rest, ",", 2)[0], "calls="), 10, 64)
		out[name] = n
	}
	return out
}

// pipelineHook counts the pipelines a client sends and can hold them.
type pipelineHook struct {
	pipelines atomic.Int64
	hold      chan struct{} // if not nil, each pipeline waits for it to close
	entered   chan struct{} // if not nil, receives one value per pipeline
}

func (h *pipelineHook) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *pipelineHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *pipelineHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.pipelines.Add(1)
		if h.entered != nil {
			h.entered <- struct{}{}
		}
		if h.hold != nil {
			<-h.hold
		}
		return next(ctx, cmds)
	}
}
