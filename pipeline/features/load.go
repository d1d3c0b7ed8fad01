package features

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/streamscore/streamscore/schemas"
)

// LoadOptions configures Load.
type LoadOptions struct {
	// TTL expires every key written after it; zero means keys do not
	// expire.
	TTL time.Duration
	// Batch is the entities per pipelined round trip; at least 1.
	Batch int
	// Progress, if set, is called after each round trip with the
	// entities written by it.
	Progress func(n int)
}

// Validate names the option to fix.
func (o LoadOptions) Validate() error {
	if o.TTL < 0 {
		return errors.New("--ttl: must not be negative")
	}
	if o.Batch < 1 {
		return errors.New("--batch: must be at least 1")
	}
	return nil
}

// Load reads the entities of path (JSONL, or Parquet by its extension) and
// writes them to Redis in fs's layout, opts.Batch per round trip. It blocks
// until the file is written or ctx is done, and returns what it read.
func Load(ctx context.Context, client redis.UniversalClient, fs *schemas.FeatureSet, path string, opts LoadOptions) (FileStats, error) {
	if err := opts.Validate(); err != nil {
		return FileStats{}, err
	}
	w, err := NewWriter(client, fs, opts.TTL)
	if err != nil {
		return FileStats{}, err
	}
	st, err := ReadFile(ctx, path, fs, opts.Batch, func(ents []Entity) error {
		if err := w.Write(ctx, ents); err != nil {
			return err
		}
		if opts.Progress != nil {
			opts.Progress(len(ents))
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("loading feature set %s after %d entities: %w", fs.Name, st.Rows, err)
	}
	return st, nil
}

// FindSet returns the feature set of spec named name, or an error that
// lists the sets spec has (schemaPath names the schema in it).
func FindSet(spec *schemas.Spec, name, schemaPath string) (*schemas.FeatureSet, error) {
	for i := range spec.FeatureSets {
		if spec.FeatureSets[i].Name == name {
			return &spec.FeatureSets[i], nil
		}
	}
	if len(spec.FeatureSets) == 0 {
		return nil, fmt.Errorf("--set %s: schema %s declares no feature_sets", name, schemaPath)
	}
	return nil, fmt.Errorf("--set %s: schema %s has no such feature set (it has: %s)", name, schemaPath, SetNames(spec))
}

// SetNames lists spec's feature sets, comma-separated.
func SetNames(spec *schemas.Spec) string {
	names := make([]string, len(spec.FeatureSets))
	for i := range spec.FeatureSets {
		names[i] = spec.FeatureSets[i].Name
	}
	return strings.Join(names, ", ")
}

// CheckFile returns an error naming --file when path cannot be read.
func CheckFile(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("--file: %w", err)
	}
	return nil
}

// WriteLoadText prints what Load did, as features load shows it: the
// entities loaded into feature set fs at Redis addrs, in elapsed (and the
// rate), with their expiry (ttl, zero: none), then how many values were
// stored as defaults, if any.
func (st FileStats) WriteLoadText(w io.Writer, fs *schemas.FeatureSet, addrs []string, elapsed, ttl time.Duration) {
	expiry := "no expiry"
	if ttl > 0 {
		expiry = "expiring in " + ttl.String()
	}
	fmt.Fprintf(w, "loaded %d entities of feature set %s (%s, version %d) into Redis %s in %s (%.0f/s), %s\n",
		st.Rows, fs.Name, fs.Layout, fs.Version, strings.Join(addrs, ","), elapsed.Round(time.Millisecond),
		float64(st.Rows)/max(elapsed.Seconds(), 1e-9), expiry)
	if st.Defaulted > 0 {
		fmt.Fprintf(w, "%d feature values were absent or null in the file and were stored as their defaults\n", st.Defaulted)
	}
}
