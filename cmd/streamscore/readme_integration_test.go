//go:build integration

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/internal/servicetest"
)

// Limits of the README runner.
const (
	readmeBlockTimeout = 2 * time.Minute  // one block
	readmeTotalBudget  = 90 * time.Second // the whole README, reported (not enforced) beside the run time
	readmeStopTimeout  = 30 * time.Second // a background block after SIGTERM
)

// The README's local addresses, replaced by this run's services.
const (
	readmeBrokers = "127.0.0.1:9092"
	readmeRedis   = "127.0.0.1:6379"
	readmeHTTP    = "127.0.0.1:9464"
)

// readmeTopics are the topics the README's walk-through uses; the runner
// deletes them first so that every run starts from empty topics.
var readmeTopics = []string{"events", "scored", "events.dlq"}

// readmeGroup is streamscore.yaml's consumer group, deleted first too.
const readmeGroup = "streamscore"

// TestReadmeRunsAsWritten runs every sh and bash block of README.md, in
// order, in a copy of the repository's tracked files, with the binary built
// for these tests as bin/streamscore (and on PATH), against the services of
// .run/env. A block fails on a non-zero exit, on running past
// readmeBlockTimeout, or when a file it names as input (--file, --in,
// --schema, --config, --model) is missing before it runs or one it names
// as output (--out, -o, --report, > FILE) is missing after. Blocks marked
// skip are counted and printed; background blocks run until the end and
// must exit 0 on SIGTERM.
func TestReadmeRunsAsWritten(t *testing.T) {
	brokers := servicetest.Brokers(t)
	redisAddr := servicetest.RedisAddr(t)
	servicetest.Env(t, servicetest.ONNXRuntimeEnv)
	root := repoRoot(t)
	md, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := readmeBlocks(string(md))
	if err != nil {
		t.Fatal(err)
	}
	// Tools the README's blocks call besides streamscore.
	for _, tool := range []string{"bash", "jq", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README uses %s, which is not installed (apt-get install %s)", tool, tool)
		}
	}
	httpAddr := fmt.Sprintf("127.0.0.1:%d", servicetest.FreePort(t))
	subst := strings.NewReplacer(readmeBrokers, brokers[0], readmeRedis, redisAddr, readmeHTTP, httpAddr)

	work := t.TempDir()
	copyTracked(t, root, work)
	// The files the README uses name the README's addresses too.
	for _, f := range []string{"streamscore.yaml"} {
		p := filepath.Join(work, f)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(subst.Replace(string(b))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(work, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(binPath, filepath.Join(work, "bin", "streamscore")); err != nil {
		t.Fatal(err)
	}
	deleteTopics(t, brokers, readmeTopics...)
	deleteGroup(t, brokers, readmeGroup)
	env := append(os.Environ(), "PATH="+filepath.Join(work, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))

	type bg struct {
		b    readmeBlock
		cmd  *exec.Cmd
		logs *servicetest.Logs
		done chan error
	}
	var (
		background []*bg
		skipped    []readmeBlock
		ran        int
	)
	stopBackground := func() {
		for _, p := range background {
			if p.cmd.Process == nil {
				continue
			}
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
			select {
			case err := <-p.done:
				if err != nil {
					t.Errorf("README.md:%d (background) did not exit 0 after SIGTERM: %v\n%s\noutput:\n%s", p.b.line, err, p.b.text, servicetest.Tail(p.logs.String(), 3000))
				}
			case <-time.After(readmeStopTimeout):
				syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
				<-p.done
				t.Errorf("README.md:%d (background) still ran %s after SIGTERM\n%s", p.b.line, readmeStopTimeout, servicetest.Tail(p.logs.String(), 3000))
			}
		}
		background = nil
	}
	defer stopBackground()

	start := time.Now()
	for _, b := range blocks {
		if b.mark == "skip" {
			skipped = append(skipped, b)
			continue
		}
		script := subst.Replace(b.text)
		made := map[string]bool{}
		for _, f := range readmeOutputs(script) {
			made[f] = true
		}
		for _, f := range readmeInputs(script) {
			if made[f] {
				continue // an earlier command of the block writes it
			}
			if _, err := os.Stat(filepath.Join(work, f)); err != nil {
				t.Fatalf("README.md:%d names %s, which neither the repository nor an earlier block provides\n%s", b.line, f, b.text)
			}
		}
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
		cmd.Dir, cmd.Env = work, env
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		logs := &servicetest.Logs{}
		cmd.Stdout, cmd.Stderr = logs, logs
		if b.mark == "background" {
			if err := cmd.Start(); err != nil {
				t.Fatalf("README.md:%d: starting: %v", b.line, err)
			}
			p := &bg{b: b, cmd: cmd, logs: logs, done: make(chan error, 1)}
			go func() { p.done <- cmd.Wait() }()
			background = append(background, p)
			ran++
			t.Logf("README.md:%d started in the background: %s", b.line, firstLine(b.text))
			continue
		}
		blockStart := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatalf("README.md:%d: starting: %v", b.line, err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err = <-done:
		case <-time.After(readmeBlockTimeout):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
			err = fmt.Errorf("still running after %s", readmeBlockTimeout)
		}
		ran++
		if err != nil {
			var bgLogs []string
			for _, p := range background {
				bgLogs = append(bgLogs, fmt.Sprintf("background block at README.md:%d:\n%s", p.b.line, servicetest.Tail(p.logs.String(), 2000)))
			}
			t.Fatalf("README.md:%d failed: %v\n--- block\n%s--- output\n%s\n%s", b.line, err, script, servicetest.Tail(logs.String(), 4000), strings.Join(bgLogs, "\n"))
		}
		// Output that is not a terminal gets no progress-bar frames.
		if strings.Contains(logs.String(), "\r") {
			t.Fatalf("README.md:%d wrote a carriage return to a pipe (a progress frame?):\n%q", b.line, servicetest.Tail(logs.String(), 2000))
		}
		for _, f := range readmeOutputs(script) {
			if _, err := os.Stat(filepath.Join(work, f)); err != nil {
				t.Fatalf("README.md:%d exited 0 but did not write %s\n%s\noutput:\n%s", b.line, f, script, servicetest.Tail(logs.String(), 2000))
			}
		}
		t.Logf("README.md:%d ok in %s: %s", b.line, time.Since(blockStart).Round(time.Millisecond), firstLine(b.text))
	}
	stopBackground()
	took := time.Since(start)
	fmt.Printf("README runner: %d blocks run, %d skipped, in %s (budget %s)\n", ran, len(skipped), took.Round(time.Millisecond), readmeTotalBudget)
	for _, b := range skipped {
		fmt.Printf("  skipped README.md:%d (%s): %s\n", b.line, b.reason, firstLine(b.text))
	}
	if took > readmeTotalBudget {
		t.Logf("the README took %s, over its %s budget: shorten the examples (fewer events)", took.Round(time.Millisecond), readmeTotalBudget)
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

var (
	readmeInFlags  = regexp.MustCompile(`(?:--file|--in|--schema|--config|--golden)[ =]([^\s'"*?\[]+)`)
	readmeModel    = regexp.MustCompile(`--model[ =](?:[A-Za-z0-9_.-]+=)?([^\s'"*?\[]+\.onnx)\b`)
	readmeOutFlags = regexp.MustCompile(`(?:--out|--features-out|-o|--report)[ =]([^\s'"]+)|>\s*([^\s&|'"]+)`)
)

// readmeQuoted matches single-quoted words, whose text (a jq program, a
// glob) is not a file name.
var readmeQuoted = regexp.MustCompile(`'[^']*'`)

// readmeInputs returns the files a script names as inputs.
func readmeInputs(script string) []string {
	script = readmeQuoted.ReplaceAllString(script, "''")
	var out []string
	for _, m := range readmeInFlags.FindAllStringSubmatch(script, -1) {
		out = append(out, m[1])
	}
	for _, m := range readmeModel.FindAllStringSubmatch(script, -1) {
		out = append(out, m[1])
	}
	return out
}

// readmeOutputs returns the files a script names as outputs.
func readmeOutputs(script string) []string {
	script = readmeQuoted.ReplaceAllString(script, "''")
	var out []string
	for _, m := range readmeOutFlags.FindAllStringSubmatch(script, -1) {
		f := m[1] + m[2]
		if f == "" || strings.HasPrefix(f, "/dev/") || strings.HasPrefix(f, "&") {
			continue
		}
		out = append(out, f)
	}
	return out
}

// copyTracked copies the repository's tracked files (its working-tree
// contents) from root into dst.
func copyTracked(t *testing.T, root, dst string) {
	t.Helper()
	list, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("listing tracked files: %v", err)
	}
	for _, rel := range strings.Split(strings.TrimRight(string(list), "\x00"), "\x00") {
		src := filepath.Join(root, rel)
		st, err := os.Lstat(src)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the working tree
		}
		if err != nil {
			t.Fatal(err)
		}
		if !st.Mode().IsRegular() {
			continue
		}
		to := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		in, err := os.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, st.Mode().Perm())
		if err != nil {
			in.Close()
			t.Fatal(err)
		}
		_, err = io.Copy(out, in)
		in.Close()
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// deleteTopics deletes topics if they exist and waits until they are gone.
func deleteTopics(t *testing.T, brokers []string, topics ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	res, err := c.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: topics})
	if err != nil {
		t.Fatalf("deleting topics %v: %v", topics, err)
	}
	for topic, err := range res.Errors {
		if err != nil && !errors.Is(err, kafka.UnknownTopicOrPartition) {
			t.Fatalf("deleting topic %s: %v", topic, err)
		}
	}
	for {
		md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
		if err == nil {
			left := 0
			for _, tp := range md.Topics {
				if tp.Error == nil {
					left++
				}
			}
			if left == 0 {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("topics %v still exist 30 s after deleting them", topics)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// deleteGroup deletes a consumer group if it exists (its committed offsets
// with it).
func deleteGroup(t *testing.T, brokers []string, group string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	res, err := c.DeleteGroups(ctx, &kafka.DeleteGroupsRequest{GroupIDs: []string{group}})
	if err != nil {
		t.Fatalf("deleting group %s: %v", group, err)
	}
	switch err := res.Errors[group]; {
	case err == nil, errors.Is(err, kafka.GroupIdNotFound):
	case errors.Is(err, kafka.NotCoordinatorForGroup), errors.Is(err, kafka.GroupCoordinatorNotAvailable):
		// No group has used this broker yet (no __consumer_offsets):
		// nothing to delete. Deleting the topics dropped any offsets.
		t.Logf("group %s not deleted: %v", group, err)
	default:
		t.Fatalf("deleting group %s: %v", group, err)
	}
}
