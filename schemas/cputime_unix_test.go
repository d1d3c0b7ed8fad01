//go:build unix

package schemas_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) the process has used. On
// a machine shared with other work it measures a benchmark's cost better
// than wall time, which also counts the time spent waiting for a core.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
