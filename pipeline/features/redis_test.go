package features

import (
	"bufio"
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

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
