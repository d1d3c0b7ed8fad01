package load

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTicks is the kernel's USER_HZ, the unit of CPU times in /proc; it is
// 100 on every Linux this runs on.
const clockTicks = 100

// Process is a child process under measurement: its resident memory and CPU
// time are read from /proc.
type Process struct {
	Name string
	// HTTPAddr is a scorer's operations endpoint.
	HTTPAddr string
	cmd      *exec.Cmd
	done     chan struct{}
	err      error

	mu      sync.Mutex
	rss     []RSSSample
	stopRSS chan struct{}
	rssDone chan struct{}
	last    Usage
}

// RSSSample is the resident set size at one moment.
type RSSSample struct {
	At    time.Time
	Bytes int64
}

// Start starts cmd (whose output the caller has directed) and returns it
// as a Process named name.
func Start(name string, cmd *exec.Cmd) (*Process, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Process{Name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err returns how the process exited; valid once Done is closed.
func (p *Process) Err() error { return p.err }

// SampleRSS records the resident set size every interval until Stop.
func (p *Process) SampleRSS(interval time.Duration) {
	p.stopRSS = make(chan struct{})
	p.rssDone = make(chan struct{})
	go func() {
		defer close(p.rssDone)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if u, err := ReadUsage(p.Pid()); err == nil {
				p.mu.Lock()
				p.rss = append(p.rss, RSSSample{At: time.Now(), Bytes: u.RSS})
				p.last = u
				p.mu.Unlock()
			}
			select {
			case <-t.C:
			case <-p.stopRSS:
				return
			case <-p.done:
				return
			}
		}
	}()
}

// RSS returns the samples taken so far.
func (p *Process) RSS() []RSSSample {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]RSSSample(nil), p.rss...)
}

// Usage reads the process's memory and CPU time now; after it has exited,
// the last reading taken.
func (p *Process) Usage() (Usage, error) {
	u, err := ReadUsage(p.Pid())
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		return p.last, err
	}
	p.last = u
	return u, nil
}

// Stop sends SIGTERM, waits up to grace for the process to exit, then kills
// it. It returns the process's usage read just before the signal.
func (p *Process) Stop(grace time.Duration) Usage {
	u, _ := p.Usage()
	if p.stopRSS != nil {
		close(p.stopRSS)
		<-p.rssDone
		p.stopRSS = nil
	}
	select {
	case <-p.done:
		return u
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	return u
}

// Usage is a process's memory and CPU time.
type Usage struct {
	// RSS is the resident set size now, PeakRSS its high-water mark
	// (VmHWM), in bytes.
	RSS, PeakRSS int64
	// CPU is user plus system time, of all its threads.
	CPU time.Duration
}

// ReadUsage reads pid's usage from /proc/<pid>/status and /proc/<pid>/stat.
func ReadUsage(pid int) (Usage, error) {
	var u Usage
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return u, err
	}
	u.RSS, u.PeakRSS = parseStatus(status)
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return u, err
	}
	cpu, err := parseStatCPU(stat)
	if err != nil {
		return u, err
	}
	u.CPU = cpu
	return u, nil
}

// parseStatus returns VmRSS and VmHWM of a /proc/<pid>/status, in bytes.
func parseStatus(b []byte) (rss, hwm int64) {
	for line := range bytes.Lines(b) {
		var dst *int64
		switch {
		case bytes.HasPrefix(line, []byte("VmRSS:")):
			dst = &rss
		case bytes.HasPrefix(line, []byte("VmHWM:")):
			dst = &hwm
		default:
			continue
		}
		f := strings.Fields(string(line))
		if len(f) >= 2 {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			*dst = kb << 10
		}
	}
	return rss, hwm
}

// parseStatCPU returns utime+stime of a /proc/<pid>/stat.
func parseStatCPU(b []byte) (time.Duration, error) {
	// The command name (field 2) may hold spaces; fields count from after
	// its closing parenthesis.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// Tail returns the last n bytes of a file, for error messages.
func Tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}
