package model

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// BenchmarkScore measures one Score call on the benchmark MLP (32->128->128->1)
// with one session and one intra-op thread, per batch size.
func BenchmarkScore(b *testing.B) {
	for _, rows := range []int{1, 64, 1024, 4096} {
		b.Run("batch="+strconv.Itoa(rows), func(b *testing.B) {
			m := openModel(b, Config{Path: modelPath("mlp_score.onnx")})
			x := randomRows(rand.New(rand.NewPCG(7, 7)), rows, features)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Score(b.Context(), x, rows, features); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkScoreParallel measures Score from several goroutines on a pool of
// two single-threaded sessions (one per core here), at batch 1024.
func BenchmarkScoreParallel(b *testing.B) {
	const rows = 1024
	m := openModel(b, Config{Path: modelPath("mlp_score.onnx"), Sessions: 2})
	x := randomRows(rand.New(rand.NewPCG(7, 7)), rows, features)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Score(b.Context(), x, rows, features); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
