package features

import (
	"bytes"
	"testing"
	"time"

	"github.com/streamscore/streamscore/schemas"
)

func TestFileStatsWriteLoadText(t *testing.T) {
	fs := &schemas.FeatureSet{Name: "user_stats", Layout: schemas.LayoutVector, Version: 3}
	for _, tc := range []struct {
		name string
		st   FileStats
		ttl  time.Duration
		want string
	}{
		{"no expiry", FileStats{Rows: 500}, 0,
			"loaded 500 entities of feature set user_stats (vector, version 3) into Redis 127.0.0.1:6379,127.0.0.1:6380 in 2.5s (200/s), no expiry\n"},
		{"ttl and defaults", FileStats{Rows: 500, Defaulted: 7}, time.Hour,
			"loaded 500 entities of feature set user_stats (vector, version 3) into Redis 127.0.0.1:6379,127.0.0.1:6380 in 2.5s (200/s), expiring in 1h0m0s\n" +
				"7 feature values were absent or null in the file and were stored as their defaults\n"},
	} {
		var buf bytes.Buffer
		tc.st.WriteLoadText(&buf, fs, []string{"127.0.0.1:6379", "127.0.0.1:6380"}, 2500*time.Millisecond+300*time.Microsecond, tc.ttl)
		if got := buf.String(); got != tc.want {
			t.Errorf("%s: wrote %q, want %q", tc.name, got, tc.want)
		}
	}
}
