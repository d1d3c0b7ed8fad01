package drift

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestBinTableAgreesWithEdgeCount(t *testing.T) {
	edgeSets := [][]float64{
		{-1.2815516, -0.84162123, -0.5244005, -0.2533471, 0, 0.2533471, 0.5244005, 0.84162123, 1.2815516},
		{0},
		{},
		{1e-30, 3, 3.0000002, 1e30},
		{-5, -4.9999995},
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, edges := range edgeSets {
		tab := newBinTable(edges)
		var vals []float32
		for _, e := range edges {
			f := float32(e)
			vals = append(vals, f, math.Nextafter32(f, float32(math.Inf(-1))), math.Nextafter32(f, float32(math.Inf(1))))
		}
		vals = append(vals, 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
			math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, math.MaxFloat32, -math.MaxFloat32)
		for range 200000 {
			vals = append(vals, float32(rng.NormFloat64()*math.Pow(10, float64(rng.IntN(12)-6))))
			vals = append(vals, math.Float32frombits(rng.Uint32()))
		}
		for _, v := range vals {
			if v != v {
				continue
			}
			want := binOf(edges, float64(v))
			got := int(tab.bins[floatKey(v)>>(32-binTableBits)])
			if got == straddles {
				continue
			}
			if got != want {
				t.Fatalf("edges %v: value %v in table bin %d, counted bin %d", edges, v, got, want)
			}
		}
	}
}

func TestFloatKeyKeepsOrder(t *testing.T) {
	vals := []float32{float32(math.Inf(-1)), -math.MaxFloat32, -1, -math.SmallestNonzeroFloat32, float32(math.Copysign(0, -1)), 0, math.SmallestNonzeroFloat32, 1, math.MaxFloat32, float32(math.Inf(1))}
	for i := 1; i < len(vals); i++ {
		if floatKey(vals[i-1]) > floatKey(vals[i]) {
			t.Fatalf("key(%v) > key(%v)", vals[i-1], vals[i])
		}
		if keyFloat(floatKey(vals[i])) != vals[i] {
			t.Fatalf("keyFloat(floatKey(%v)) = %v", vals[i], keyFloat(floatKey(vals[i])))
		}
	}
}
