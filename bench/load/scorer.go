package load

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ScorerConfig is what a benchmark sets in the streamscore.yaml of a
// `streamscore run` under test; every other key keeps its default, as a
// user's file would.
type ScorerConfig struct {
	Brokers            []string
	Group              string
	Input, Output, DLQ string
	Schema, Model      string
	MaxRows, MaxBytes  int
	MaxWait            time.Duration
	// BatchMode is batch.mode (adaptive or fixed); empty keeps the default.
	BatchMode         string
	Sessions, IntraOp int
	HTTPAddr          string
	// Pprof serves Go's profiler on HTTPAddr.
	Pprof bool
	// Extra is appended to the file verbatim (YAML), for variants.
	Extra string
}

// YAML renders c as a streamscore.yaml.
func (c ScorerConfig) YAML() string {
	var b strings.Builder
	q := strconv.Quote
	fmt.Fprintf(&b, "# Written by the streamscore benchmark.\n")
	fmt.Fprintf(&b, "brokers: [%s]\n", strings.Join(quoteAll(c.Brokers), ", "))
	fmt.Fprintf(&b, "group: %s\n", q(c.Group))
	fmt.Fprintf(&b, "topics: {input: %s, output: %s, dlq: %s, partitions: 8}\n", q(c.Input), q(c.Output), q(c.DLQ))
	fmt.Fprintf(&b, "schema: %s\n", q(c.Schema))
	fmt.Fprintf(&b, "model: {path: %s, name: mlp_score, version: \"1\", sessions: %d, intra_op_threads: %d}\n", q(c.Model), max(c.Sessions, 1), max(c.IntraOp, 1))
	mode := ""
	if c.BatchMode != "" {
		mode = "mode: " + c.BatchMode + ", "
	}
	fmt.Fprintf(&b, "batch: {%smax_rows: %d, max_bytes: %d, max_wait: %s}\n", mode, c.MaxRows, c.MaxBytes, c.MaxWait)
	fmt.Fprintf(&b, "http: {addr: %s, pprof: %t}\n", q(c.HTTPAddr), c.Pprof)
	fmt.Fprintf(&b, "log: {level: warn, format: json}\n")
	b.WriteString(c.Extra)
	return b.String()
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// StartScorer writes cfg to dir/name.yaml and starts `bin run` with it,
// its log going to dir/name.log. It returns once the scorer's /readyz
// answers (it holds a partition assignment), or fails after timeout.
func StartScorer(ctx context.Context, bin, dir, name string, cfg ScorerConfig, timeout time.Duration) (*Process, error) {
	if cfg.HTTPAddr == "" {
		addr, err := FreeAddr()
		if err != nil {
			return nil, err
		}
		cfg.HTTPAddr = addr
	}
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, []byte(cfg.YAML()), 0o644); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "run", "--config", path)
	cmd.Stdout, cmd.Stderr = logf, logf
	p, err := Start(name, cmd)
	if err != nil {
		return nil, err
	}
	if err := WaitReady(ctx, "http://"+cfg.HTTPAddr+"/readyz", timeout, p.Done()); err != nil {
		p.Stop(5 * time.Second)
		return nil, fmt.Errorf("%s: %w\n%s", name, err, Tail(logPath, 2000))
	}
	p.HTTPAddr = cfg.HTTPAddr
	return p, nil
}

// Profile fetches a CPU profile of d from a scorer started with Pprof and
// writes it to path.
func Profile(ctx context.Context, p *Process, d time.Duration, path string) error {
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.HTTPAddr, max(1, int(d.Seconds())))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("profiling %s: %w", p.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profiling %s: %s", p.Name, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WaitReady polls url until it answers 200, exited is closed, or timeout.
func WaitReady(ctx context.Context, url string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return fmt.Errorf("exited before it was ready")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// FreeAddr returns a 127.0.0.1:port nothing listens on now.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
