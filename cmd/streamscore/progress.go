package main

import termprogress "github.com/streamscore/streamscore/internal/progress"

// progress is the progress report long commands draw on stderr.
type progress = termprogress.Bar

// newStderrProgress reports total units (0: unknown) on stderr, as a bar
// only if stderr is a terminal.
func newStderrProgress(total int64, what, unit string) *progress {
	return termprogress.Stderr(total, what, unit)
}
