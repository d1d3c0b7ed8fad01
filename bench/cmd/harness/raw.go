package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/bench/load"
	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/schemas"
)

// measureFor calls fn until at least d has passed (after two warm-up
// calls) and returns the calls made and the time they took.
func measureFor(d time.Duration, fn func() error) (int, time.Duration, error) {
	for range 2 {
		if err := fn(); err != nil {
			return 0, 0, err
		}
	}
	start := time.Now()
	n := 0
	for time.Since(start) < d {
		if err := fn(); err != nil {
			return n, time.Since(start), err
		}
		n++
	}
	return n, time.Since(start), nil
}

// standardMessages returns n standard events as decoder input.
func standardMessages(n int) []schemas.Message {
	ev := load.NewEvents(99)
	now := time.Now()
	return decoderInput(ev.Messages("events", n, func(int) time.Time { return now }), now)
}

// decoderInput turns records into decoder input, spread over 8 partitions.
func decoderInput(km []kafka.Message, now time.Time) []schemas.Message {
	msgs := make([]schemas.Message, len(km))
	for i, m := range km {
		msgs[i] = schemas.Message{Topic: "events", Partition: i % 8, Offset: int64(i), Prev: int64(i) - 1, Key: m.Key, Value: m.Value, Time: now}
	}
	return msgs
}

// decodeRate measures decoding msgs alone, one batch per call, on one
// goroutine locked to its thread.
func decodeRate(spec *schemas.Spec, msgs []schemas.Message, d time.Duration) (Rate, error) {
	// The best of decodeWindows windows: on a shared machine one window of
	// a second differs from the next by up to 1.5× (other processes, the
	// collector's pacing); the least CPU per row is the decoder's own.
	var best Rate
	for i := range decodeWindows {
		r, err := decodeWindow(spec, msgs, d)
		if err != nil {
			return r, err
		}
		if i == 0 || r.CPUNsPerRow < best.CPUNsPerRow {
			best = r
		}
	}
	return best, nil
}

// decodeWindows is how many windows decodeRate measures.
const decodeWindows = 3

// decodeWindow measures decoding msgs for d.
func decodeWindow(spec *schemas.Spec, msgs []schemas.Message, d time.Duration) (Rate, error) {
	// Into a buffer pool, as run decodes: each batch reuses the buffers of
	// the one released before it.
	dec := schemas.NewDecoder(spec, schemas.NewBufferPool(0))
	// The thread's CPU time as well as the wall time: on a shared machine
	// the wall time also counts the time spent waiting for a core.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	n, el, err := measureFor(d, func() error {
		out := dec.Decode(msgs)
		defer out.Release()
		if len(out.Errors) > 0 {
			return fmt.Errorf("decoding the standard events: %s", out.Errors[0].Error())
		}
		return nil
	})
	if err != nil {
		return Rate{}, err
	}
	r := newRate(n*len(msgs), el)
	// measureFor's two warm-up calls count in the CPU time too.
	r.CPUNsPerRow = float64((threadCPU() - cpu0).Nanoseconds()) / float64((n+2)*len(msgs))
	return r, nil
}

// codecRates measures decoding and encoding alone, one goroutine, 1024
// events per batch.
func codecRates(spec *schemas.Spec, d time.Duration) (decode, encode Rate, err error) {
	msgs := standardMessages(1024)
	if decode, err = decodeRate(spec, msgs, d); err != nil {
		return decode, encode, err
	}
	dec := schemas.NewDecoder(spec, memory.NewGoAllocator())
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	decoded := dec.Decode(msgs)
	defer decoded.Release()
	scores := make([]float64, len(msgs))
	for i := range scores {
		scores[i] = rand.Float64()
	}
	sb := &schemas.ScoredBatch{
		Msgs: msgs, Decoded: decoded, Model: "mlp_score", ModelVersion: "1", ScoredAt: time.Now(),
		Scores: []schemas.Scores{{Name: "score", Width: 1, Bits: 32, Values: scores}},
	}
	enc := schemas.NewEncoder(spec)
	buf := make([]byte, 0, 1<<20)
	cpu0 := threadCPU()
	n, el, _ := measureFor(d, func() error {
		buf = buf[:0]
		for r := range msgs {
			buf = enc.Append(buf, sb, r)
		}
		return nil
	})
	encode = newRate(n*len(msgs), el)
	encode.CPUNsPerRow = float64((threadCPU() - cpu0).Nanoseconds()) / float64((n+2)*len(msgs))
	return decode, encode, nil
}

// inferenceRates measures ONNX Runtime alone (one session, one intra-op
// thread, as streamscore runs it by default) at each batch size.
func inferenceRates(ctx context.Context, m *model.Model, sizes []int, d time.Duration) ([]BatchPoint, error) {
	rng := rand.New(rand.NewPCG(7, 7))
	var out []BatchPoint
	for _, rows := range sizes {
		x := make([]float32, rows*load.Features)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		n, el, err := measureFor(d, func() error {
			_, err := m.Score(ctx, x, rows, load.Features)
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, BatchPoint{Batch: rows, RowsPerSec: float64(n*rows) / el.Seconds(), MicrosPerCall: el.Seconds() * 1e6 / float64(n)})
	}
	return out, nil
}

// inProcessRates measures decode, inference and encode of one batch in
// turn on one goroutine, without Kafka: the CPU cost of scoring itself.
func inProcessRates(ctx context.Context, spec *schemas.Spec, m *model.Model, sizes []int, d time.Duration) ([]BatchPoint, error) {
	dec := schemas.NewDecoder(spec, schemas.NewBufferPool(0))
	enc := schemas.NewEncoder(spec)
	all := standardMessages(max(4096, sizes[len(sizes)-1]))
	var out []BatchPoint
	for _, rows := range sizes {
		msgs := all[:rows]
		var buf []byte
		n, el, err := measureFor(d, func() error {
			decoded := dec.Decode(msgs)
			defer decoded.Release()
			outs, err := m.Score(ctx, decoded.Features(), rows, len(spec.Features))
			if err != nil {
				return err
			}
			sb := &schemas.ScoredBatch{
				Msgs: msgs, Decoded: decoded, Model: "mlp_score", ModelVersion: "1", ScoredAt: time.Now(),
				Scores: []schemas.Scores{{Name: "score", Width: outs[0].Width, Bits: 32, Values: outs[0].Values}},
			}
			buf = buf[:0]
			for r := range rows {
				buf = enc.Append(buf, sb, r)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, BatchPoint{Batch: rows, RowsPerSec: float64(n*rows) / el.Seconds(), MicrosPerCall: el.Seconds() * 1e6 / float64(n)})
	}
	return out, nil
}

// openModel opens the benchmark model as streamscore's defaults do.
func openModel(lib, path string) (*model.Model, error) {
	if err := model.Init(lib); err != nil {
		return nil, err
	}
	return model.Open(model.Config{Path: path, Name: "mlp_score", Version: "1", Outputs: []string{"score"}})
}

// threadCPU returns the CPU time the calling OS thread has used; the caller
// locks its goroutine to the thread.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
