//go:build !unix

package schemas_test

import "time"

// processCPU is not measured here; benchmarks then report no CPU metric.
func processCPU() time.Duration { return 0 }
