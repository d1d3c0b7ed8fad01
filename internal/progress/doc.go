// Package progress reports a long command's advance on a writer: as a bar
// redrawn in place on a terminal, as an occasional plain line anywhere else
// (a log file, a pipe, CI), so that logs never hold carriage returns.
//
// It imports the standard library and golang.org/x/term only.
package progress
