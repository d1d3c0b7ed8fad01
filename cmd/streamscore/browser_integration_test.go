//go:build integration

package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// browser is headless Chromium driven over the DevTools protocol (CDP), a
// few calls of it: enough to load a page, read what it shows, collect
// console errors and take screenshots, without a browser library.
type browser struct {
	cmd  *exec.Cmd
	ws   *websocket.Conn
	mu   sync.Mutex
	next int
	wait map[int]chan cdpReply
	// errs collects console errors, uncaught exceptions and failed loads.
	errs []string
	done chan struct{}
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// chromiumPath finds Debian's chromium (deployments/local/chromium.sh
// installs it), or STREAMSCORE_CHROMIUM.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("STREAMSCORE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is not installed: run deployments/local/chromium.sh (make test does)")
	return ""
}

var devtoolsURL = regexp.MustCompile(`DevTools listening on (ws://\S+)`)

// startBrowser starts headless Chromium with a blank page and connects to
// that page's DevTools endpoint. It stops when the test ends.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	// The profile folder is removed after the browser's whole process
	// group is gone: its helper processes outlive the main one briefly and
	// keep writing there (t.TempDir's removal would race them).
	profile, err := os.MkdirTemp("", "streamscore-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(chromiumPath(t), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--no-first-run", "--disable-extensions", "--disable-background-networking", "--remote-allow-origins=*",
		"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--user-data-dir="+profile,
		"--window-size=1280,1000", "about:blank")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(profile)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pgid := cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGKILL)
		cmd.Wait()
		// Wait (at most 5 s) until no process of the group is left.
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if syscall.Kill(-pgid, 0) != nil {
				break
			}
		}
		if err := os.RemoveAll(profile); err != nil {
			t.Logf("removing the browser profile: %v", err)
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := devtoolsURL.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	var browserWS string
	select {
	case browserWS = <-found:
	case <-time.After(30 * time.Second):
		t.Fatal("chromium printed no DevTools address within 30s")
	}
	// The page target of about:blank, from the HTTP side of the endpoint.
	host := strings.TrimPrefix(browserWS, "ws://")
	host = host[:strings.IndexByte(host, '/')]
	var pageWS string
	for deadline := time.Now().Add(10 * time.Second); pageWS == "" && time.Now().Before(deadline); {
		res, err := http.Get("http://" + host + "/json/list")
		if err == nil {
			var targets []struct {
				Type string `json:"type"`
				WS   string `json:"webSocketDebuggerUrl"`
			}
			json.NewDecoder(res.Body).Decode(&targets)
			res.Body.Close()
			for _, tg := range targets {
				if tg.Type == "page" {
					pageWS = tg.WS
				}
			}
		}
		if pageWS == "" {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if pageWS == "" {
		t.Fatal("chromium lists no page target")
	}
	ws, err := websocket.Dial(pageWS, "", "http://127.0.0.1/")
	if err != nil {
		t.Fatalf("connecting to %s: %v", pageWS, err)
	}
	ws.MaxPayloadBytes = 64 << 20
	b := &browser{cmd: cmd, ws: ws, wait: map[int]chan cdpReply{}, done: make(chan struct{})}
	go b.read()
	t.Cleanup(func() {
		ws.Close()
		<-b.done
	})
	for _, m := range []string{"Runtime.enable", "Log.enable", "Page.enable", "Network.enable"} {
		b.call(t, m, nil)
	}
	return b
}

// read dispatches replies to their callers and records errors the page
// reports.
func (b *browser) read() {
	defer close(b.done)
	for {
		var msg struct {
			ID     int             `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
			cdpReply
		}
		if err := websocket.JSON.Receive(b.ws, &msg); err != nil {
			b.mu.Lock()
			for _, ch := range b.wait {
				close(ch)
			}
			b.wait = map[int]chan cdpReply{}
			b.mu.Unlock()
			return
		}
		if msg.ID != 0 {
			b.mu.Lock()
			ch := b.wait[msg.ID]
			delete(b.wait, msg.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- msg.cdpReply
			}
			continue
		}
		var e string
		switch msg.Method {
		case "Runtime.consoleAPICalled":
			var p struct {
				Type string `json:"type"`
				Args []struct {
					Value any `json:"value"`
				} `json:"args"`
			}
			json.Unmarshal(msg.Params, &p)
			if p.Type == "error" || p.Type == "assert" {
				e = fmt.Sprintf("console.%s: %v", p.Type, p.Args)
			}
		case "Runtime.exceptionThrown":
			e = "uncaught exception: " + string(msg.Params)
		case "Log.entryAdded":
			var p struct {
				Entry struct {
					Level, Text, URL string
				} `json:"entry"`
			}
			json.Unmarshal(msg.Params, &p)
			if p.Entry.Level == "error" {
				e = fmt.Sprintf("log error: %s (%s)", p.Entry.Text, p.Entry.URL)
			}
		case "Network.loadingFailed":
			e = "load failed: " + string(msg.Params)
		}
		if e != "" {
			b.mu.Lock()
			b.errs = append(b.errs, e)
			b.mu.Unlock()
		}
	}
}

// call sends one CDP command and waits up to 30 s for its result.
func (b *browser) call(t *testing.T, method string, params any) json.RawMessage {
	t.Helper()
	b.mu.Lock()
	b.next++
	id := b.next
	ch := make(chan cdpReply, 1)
	b.wait[id] = ch
	b.mu.Unlock()
	if params == nil {
		params = struct{}{}
	}
	if err := websocket.JSON.Send(b.ws, map[string]any{"id": id, "method": method, "params": params}); err != nil {
		t.Fatalf("CDP %s: %v", method, err)
	}
	select {
	case r, ok := <-ch:
		if !ok {
			t.Fatalf("CDP %s: the browser went away", method)
		}
		if r.Error != nil {
			t.Fatalf("CDP %s: %s", method, r.Error.Message)
		}
		return r.Result
	case <-time.After(30 * time.Second):
		t.Fatalf("CDP %s: no answer within 30s", method)
	}
	return nil
}

// eval evaluates a JavaScript expression in the page and decodes its value
// into out.
func (b *browser) eval(t *testing.T, expr string, out any) {
	t.Helper()
	raw := b.call(t, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if r.Exception != nil {
		t.Fatalf("evaluating %s: %s", expr, r.Exception.Text)
	}
	if err := json.Unmarshal(r.Result.Value, out); err != nil {
		t.Fatalf("evaluating %s: %s: %v", expr, r.Result.Value, err)
	}
}

// errors returns what the page reported as errors so far.
func (b *browser) errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errs...)
}

// screenshot writes a PNG of the page at width×height CSS pixels (the full
// page height when height is 0) to path.
func (b *browser) screenshot(t *testing.T, path string, width, height int) {
	t.Helper()
	if height == 0 {
		var h int
		b.eval(t, "document.documentElement.scrollHeight", &h)
		height = h
	}
	b.call(t, "Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
	time.Sleep(300 * time.Millisecond) // a frame or two for the new layout
	var h int
	b.eval(t, "document.documentElement.scrollHeight", &h)
	raw := b.call(t, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true,
		"clip": map[string]any{"x": 0, "y": 0, "width": width, "height": max(h, height), "scale": 1}})
	var r struct {
		Data string `json:"data"`
	}
	json.Unmarshal(raw, &r)
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil || len(png) < 1000 {
		t.Fatalf("screenshot: %v (%d bytes)", err, len(png))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d px wide, %d bytes)", path, width, len(png))
}

// testOutput returns the folder tests write artifacts to: STREAMSCORE_TEST_OUTPUT,
// else .run/test-output under the repository.
func testOutput(t *testing.T, sub string) string {
	t.Helper()
	dir := os.Getenv("STREAMSCORE_TEST_OUTPUT")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), ".run", "test-output")
	}
	return filepath.Join(dir, sub)
}

// getJSON GETs url and decodes the JSON answer into out.
func getJSON(ctx context.Context, t *testing.T, url string, out any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, res.Status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("GET %s: %v\n%s", url, err, b)
	}
}
