package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"
)

// genConfig describes a sample event stream for the demo and for trying
// things out: events with an id, a user key, a time, 32 float features
// f00..f31 and a passthrough merchant field.
type genConfig struct {
	N int
	// IDPrefix starts every event id; the default is "e-".
	IDPrefix string
	Users    int
	Seed     uint64
	BadRatio float64
	Start    time.Time
	// Step is the event-time distance between consecutive events.
	Step time.Duration
}

// badKinds are malformed events of each dead-letter reason.
var badKinds = []func(id string) string{
	func(id string) string { return `{"event_id":"` + id + `","user_id":"u-1","f00":` },        // invalid_json: truncated
	func(id string) string { return `{"event_id":"` + id + `","user_id":"u-1","f00":"high"}` }, // type_mismatch
	func(id string) string { return `{"event_id":"` + id + `","user_id":"u-1"}` },              // missing_field (f01..)
	func(id string) string { return `{"event_id":"` + id + `","user_id":"u-1","f00":NaN}` },    // non_finite
	func(id string) string { return `not json at all ` + id },                                  // invalid_json
}

// writeEvents writes cfg.N events as JSONL and returns how many are
// malformed on purpose.
func writeEvents(w io.Writer, cfg genConfig) (bad int, err error) {
	if cfg.IDPrefix == "" {
		cfg.IDPrefix = "e-"
	}
	if cfg.Users <= 0 {
		cfg.Users = 1000
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Now()
	}
	if cfg.Step == 0 {
		cfg.Step = time.Millisecond
	}
	r := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed))
	bw := bufio.NewWriterSize(w, 1<<20)
	var b []byte
	for i := 0; i < cfg.N; i++ {
		id := fmt.Sprintf("%s%08d", cfg.IDPrefix, i)
		if cfg.BadRatio > 0 && r.Float64() < cfg.BadRatio {
			bad++
			b = append(b[:0], badKinds[bad%len(badKinds)](id)...)
			b = append(b, '\n')
			if _, err := bw.Write(b); err != nil {
				return bad, err
			}
			continue
		}
		b = append(b[:0], `{"event_id":"`...)
		b = append(b, id...)
		b = append(b, `","user_id":"u-`...)
		b = strconv.AppendInt(b, int64(r.IntN(cfg.Users)), 10)
		b = append(b, `","ts":`...)
		b = strconv.AppendInt(b, cfg.Start.Add(time.Duration(i)*cfg.Step).UnixMilli(), 10)
		for f := 0; f < 32; f++ {
			b = append(b, `,"f`...)
			if f < 10 {
				b = append(b, '0')
			}
			b = strconv.AppendInt(b, int64(f), 10)
			b = append(b, `":`...)
			b = strconv.AppendFloat(b, r.NormFloat64(), 'g', 9, 32)
		}
		b = append(b, `,"merchant":"m-`...)
		b = strconv.AppendInt(b, int64(r.IntN(50)), 10)
		b = append(b, "\"}\n"...)
		if _, err := bw.Write(b); err != nil {
			return bad, err
		}
	}
	return bad, bw.Flush()
}

func newGenCmd() *cobra.Command {
	var (
		cfg genConfig
		out string
	)
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Write sample events (JSONL) for trying streamscore out",
		Long: `gen writes sample events matching testdata/*.schema.yaml: an event_id, a
user_id key, a ts in epoch milliseconds, 32 float features f00..f31 and a
merchant passthrough field. --bad-ratio mixes in malformed events of every
dead-letter kind.`,
		Example: `  streamscore gen --n 100000 --out events.jsonl
  streamscore gen --n 20000 --bad-ratio 0.01 --seed 7 > events.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.N < 0 || cfg.BadRatio < 0 || cfg.BadRatio > 1 {
				return fmt.Errorf("--n must not be negative and --bad-ratio must be within [0, 1]")
			}
			w := cmd.OutOrStdout()
			if out != "" && out != "-" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			bad, err := writeEvents(w, cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "wrote %d events (%d malformed)\n", cfg.N, bad)
			return nil
		},
	}
	cmd.Flags().IntVarP(&cfg.N, "n", "n", 10000, "number of events")
	cmd.Flags().IntVar(&cfg.Users, "users", 1000, "number of distinct user keys")
	cmd.Flags().StringVar(&cfg.IDPrefix, "id-prefix", "e-", "prefix of every event id")
	cmd.Flags().Uint64Var(&cfg.Seed, "seed", 1, "random seed (same seed, same events)")
	cmd.Flags().Float64Var(&cfg.BadRatio, "bad-ratio", 0, "share of malformed events")
	cmd.Flags().StringVarP(&out, "out", "o", "", "output file (default stdout)")
	return cmd
}
