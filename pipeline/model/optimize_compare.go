package model

import (
	"context"
	"fmt"
	"io"
	"time"
)

// OptimizeOptions configures OptimizeAndCompare.
type OptimizeOptions struct {
	// Level is the graph optimisation level: basic, extended or all
	// (empty: all).
	Level string
	// Compare measures start-up and scoring of both files.
	Compare bool
	// Rows per batch and Duration per file when measuring scoring.
	Rows     int
	Duration time.Duration
}

// OptimizeAndCompare saves the graph ONNX Runtime optimises at opts.Level
// from the model at in to outPath, and prints to out how nodes and bytes
// changed and, with opts.Compare, the open time and scoring throughput of
// in (optimised at load) against outPath (loaded pre-optimised). It blocks
// for about twice opts.Duration when comparing.
func OptimizeAndCompare(ctx context.Context, out io.Writer, in, outPath string, opts OptimizeOptions) error {
	if err := Optimize(Config{Path: in, GraphOptimization: opts.Level}, outPath); err != nil {
		return err
	}
	a, err := Inspect(in)
	if err != nil {
		return err
	}
	b, err := Inspect(outPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "optimized %s -> %s (level %s)\n", in, outPath, levelName(opts.Level))
	fmt.Fprintf(out, "  nodes        %d -> %d\n", a.Nodes, b.Nodes)
	fmt.Fprintf(out, "  bytes        %d -> %d\n", a.Size, b.Size)
	if !opts.Compare {
		return nil
	}
	orig, err := Measure(ctx, Config{Path: in, GraphOptimization: opts.Level}, opts.Rows, opts.Duration)
	if err != nil {
		return err
	}
	opt, err := Measure(ctx, Config{Path: outPath, GraphOptimization: GraphOptimizationDisable}, opts.Rows, opts.Duration)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  start-up     %s (optimised at load) -> %s (loaded pre-optimised), %.2fx\n",
		orig.Open.Round(time.Microsecond), opt.Open.Round(time.Microsecond), orig.Open.Seconds()/opt.Open.Seconds())
	fmt.Fprintf(out, "  scoring      %.0f -> %.0f rows/s at %d rows per batch, %.2fx\n", orig.RowsPerSec, opt.RowsPerSec, opts.Rows, opt.RowsPerSec/orig.RowsPerSec)
	return nil
}

func levelName(level string) string {
	if level == "" {
		return "all"
	}
	return level
}
