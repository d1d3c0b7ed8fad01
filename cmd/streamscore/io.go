package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/internal/service"
	"github.com/streamscore/streamscore/internal/wire"
	"github.com/streamscore/streamscore/pipeline/rowfile"
	"github.com/streamscore/streamscore/producers"
	"github.com/streamscore/streamscore/schemas"
)

func brokersFlag(cmd *cobra.Command, dst *[]string) {
	cmd.Flags().StringSliceVar(dst, "brokers", nil, "Kafka bootstrap brokers host:port (default $STREAMSCORE_BROKERS or 127.0.0.1:9092)")
}

// newBar reports progress in events on stderr (see progress).
func newBar(total int64, what string) *progress {
	return newStderrProgress(total, what, "events")
}

// produceFile writes the JSONL file path (or, framed, its length-prefixed
// binary values) to cfg.Topic over kc, with a progress bar on stderr unless
// quiet.
func produceFile(ctx context.Context, kc service.KafkaConn, path string, cfg producers.FeedConfig, framed, quiet bool) (int64, error) {
	var total int64
	var err error
	if framed {
		cfg.Values = func(ctx context.Context, fn func(int64, []byte) error) error { return readFrames(path, fn) }
		err = readFrames(path, func(int64, []byte) error { total++; return nil })
	} else {
		total, err = rowfile.CountAs(ctx, path, rowfile.JSONL)
	}
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", path, err)
	}
	w := kc.Writer()
	defer w.Close()
	if !quiet {
		bar := newBar(total, "producing to "+cfg.Topic)
		cfg.Progress = func(n int64) { bar.Set64(n) }
	}
	return producers.FeedFile(ctx, w, path, cfg)
}

func newProduceCmd() *cobra.Command {
	var (
		kf       kafkaConnFlags
		topic    string
		file     string
		keyField string
		rate     float64
		quiet    bool
		keepTime bool
		timeFld  string
		framed   bool
		wf       wireFlags
	)
	cmd := &cobra.Command{
		Use:   "produce",
		Short: "Write a JSONL file of events to a topic",
		Long: `produce writes every line of a JSONL file as one record to a topic, in
order, waiting for acknowledgement from all in-sync replicas, and shows
progress on stderr.

With --preserve-timestamps each record carries the event's own time (read
from --time-field: RFC 3339 or epoch milliseconds) as its Kafka timestamp,
so history written back to a topic can be replayed by time range (replay
--from/--to). An event without a readable time gets the time of writing.
The broker deletes records older than the topic's retention.ms (7 days by
default) at its next retention check, whatever their offsets: produce warns
when it writes such events; give a history topic retention.ms=-1 first
(streamscore topics set TOPIC retention.ms=-1).

With --framed the file holds binary values each preceded by its length as
a 4-byte big-endian integer (what gen --format avro|protobuf writes); each
is written as is, unkeyed.`,
		Example: `  streamscore produce --brokers 127.0.0.1:9092 --topic events --file events.jsonl --key user_id
  streamscore produce --topic events --file events.jsonl --rate 5000
  streamscore produce --topic history --file history.jsonl --key user_id --preserve-timestamps --time-field ts
  streamscore produce --topic events-avro --file events.frames --framed`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if topic == "" || file == "" {
				return fmt.Errorf("--topic and --file are required")
			}
			if framed && (keyField != "" || keepTime || wf.Format != "json") {
				return fmt.Errorf("--framed writes the file's values as they are: --key, --preserve-timestamps and --format read JSONL lines")
			}
			if rate < 0 {
				return fmt.Errorf("--rate: must not be negative")
			}
			kc, err := kf.connect()
			if err != nil {
				return err
			}
			ctx, stop := service.SignalContext(discardLogger())
			defer stop()
			if err := kc.Reach(ctx); err != nil {
				return err
			}
			fc := producers.FeedConfig{Topic: topic, KeyField: keyField, Rate: rate}
			var untimed int64
			var old *retentionWatch
			if keepTime {
				fc.TimeField, fc.Untimed = timeFld, func(int64) { untimed++ }
				old = watchRetention(ctx, kc, topic)
				fc.Timed = old.see
			}
			encode, closeEnc, err := wire.Encoding(wf).Encoder(ctx)
			if err != nil {
				return err
			}
			defer closeEnc()
			fc.Encode = encode
			start := time.Now()
			n, err := produceFile(ctx, kc, file, fc, framed, quiet)
			if err != nil {
				return err
			}
			el := time.Since(start)
			fmt.Fprintf(os.Stderr, "produced %d events to %s in %s (%.0f events/s)\n", n, topic, el.Round(time.Millisecond), float64(n)/el.Seconds())
			if untimed > 0 {
				fmt.Fprintf(os.Stderr, "%d events had no readable %q and carry the time of writing\n", untimed, timeFld)
			}
			old.report(os.Stderr, kc.Brokers[0])
			return nil
		},
	}
	kf.register(cmd)
	cmd.Flags().StringVarP(&topic, "topic", "t", "", "topic to write to (required)")
	cmd.Flags().StringVarP(&file, "file", "f", "", "JSONL file, one event per line (required)")
	cmd.Flags().StringVar(&keyField, "key", "", "top-level JSON field whose value becomes the record key")
	cmd.Flags().Float64Var(&rate, "rate", 0, "events per second (0: as fast as possible)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	cmd.Flags().BoolVar(&keepTime, "preserve-timestamps", false, "write each record with the event's own time (--time-field) as its timestamp")
	cmd.Flags().StringVar(&timeFld, "time-field", "ts", "event field holding the event time, RFC 3339 or epoch milliseconds (with --preserve-timestamps)")
	cmd.Flags().BoolVar(&framed, "framed", false, "the file holds length-prefixed binary values (gen --format avro|protobuf), written as they are")
	wf.register(cmd, true)
	return cmd
}

// retentionWatch counts the events produce writes with timestamps older
// than the topic's retention.ms: the broker deletes those at its next
// retention check, so history written back with its own times needs a
// topic that keeps records forever.
type retentionWatch struct {
	topic     string
	retention time.Duration
	horizon   time.Time
	expired   int64
}

// watchRetention reads the topic's retention; when it cannot, it says so
// on stderr and the watch counts nothing.
func watchRetention(ctx context.Context, kc service.KafkaConn, topic string) *retentionWatch {
	w := &retentionWatch{topic: topic, retention: -1}
	r, err := kc.Retention(ctx, topic)
	if err != nil {
		fmt.Fprintf(os.Stderr, "warning: %v (the broker deletes events older than the topic's retention.ms)\n", err)
		return w
	}
	w.retention, w.horizon = r, time.Now().Add(-r)
	return w
}

func (w *retentionWatch) see(t time.Time) {
	if w.retention >= 0 && t.Before(w.horizon) {
		w.expired++
	}
}

// report warns, with the count and the fix, when any event was too old.
func (w *retentionWatch) report(out io.Writer, broker string) {
	if w == nil || w.expired == 0 {
		return
	}
	fmt.Fprintf(out, "warning: %d events are older than %s's retention.ms (%s): the broker deletes them at its next retention check,\n"+
		"  so a replay may not find them. For history, keep it forever before producing:\n"+
		"  streamscore topics set --brokers %s %s retention.ms=-1\n",
		w.expired, w.topic, w.retention, broker, w.topic)
}

func newConsumeCmd() *cobra.Command {
	var (
		kf      kafkaConnFlags
		topic   string
		from    bool
		max     int
		timeout time.Duration
		headers bool
		wf      wireFlags
		iso     string
	)
	cmd := &cobra.Command{
		Use:   "consume",
		Short: "Print a topic's records as JSONL",
		Long: `consume reads every partition of a topic without joining a consumer group
(it commits nothing) and prints each record's value as one line on stdout.
With --headers each line is an object with the key, headers, partition,
offset and value instead.`,
		Example: `  streamscore consume --topic scored --from-beginning --max 10
  streamscore consume --topic events.dlq --from-beginning --timeout 5s --headers`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if topic == "" {
				return fmt.Errorf("--topic is required")
			}
			isolation, err := parseIsolationFlag(iso)
			if err != nil {
				return err
			}
			kc, err := kf.connect()
			if err != nil {
				return err
			}
			ctx, stop := service.SignalContext(discardLogger())
			defer stop()
			if err := kc.Reach(ctx); err != nil {
				return err
			}
			out := bufio.NewWriter(cmd.OutOrStdout())
			defer out.Flush()
			render, closeRender, err := wire.Renderer(wf.Schema)
			if err != nil {
				return err
			}
			defer closeRender()
			_, err = consumers.Tail(ctx, consumers.TailConfig{
				Brokers: kc.Brokers, Dialer: kc.Dialer, Topic: topic, FromBeginning: from, Max: max, Idle: timeout,
				Isolation: isolation,
			}, func(m schemas.Message) error {
				if render != nil {
					m.Value = render(ctx, m.Value)
				}
				return consumers.WriteRecord(out, m, headers)
			})
			return err
		},
	}
	kf.register(cmd)
	cmd.Flags().StringVarP(&topic, "topic", "t", "", "topic to read (required)")
	cmd.Flags().BoolVar(&from, "from-beginning", false, "start at the first offset of every partition")
	cmd.Flags().IntVar(&max, "max", 0, "stop after this many records (0: no limit)")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "stop after no record arrived for this long (0: never)")
	cmd.Flags().BoolVar(&headers, "headers", false, "print key, headers, partition and offset with each value")
	wf.register(cmd, false)
	isolationFlag(cmd, &iso, "read_committed: only committed transactions' records (what an exactly_once pipeline promises); read_uncommitted: aborted and open ones too (default: kafka-go's plain reader, which also shows transaction markers as empty records)")
	return cmd
}

// isolationFlag registers --isolation.
func isolationFlag(cmd *cobra.Command, dst *string, usage string) {
	cmd.Flags().StringVar(dst, "isolation", "", usage)
}

// parseIsolationFlag checks --isolation.
func parseIsolationFlag(s string) (consumers.Isolation, error) {
	iso, err := consumers.ParseIsolation(s)
	if err != nil {
		return "", fmt.Errorf("--isolation: %w", err)
	}
	return iso, nil
}

func newTopicsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "topics", Short: "Manage the topics streamscore uses"}
	var (
		configPath string
		o          overrides
		asJSON     bool
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Create the input, output and dead-letter topics",
		Long: `create makes the configured input, output and dead-letter topics with
topics.partitions partitions and topics.replication_factor replicas, and the
drift topic (one partition) when drift is on. Topics that already exist are
left as they are.`,
		Example: `  streamscore topics create --config streamscore.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(configPath)
			if err != nil {
				return err
			}
			o.apply(&cfg)
			ready, err := service.CreateTopics(cmd.Context(), &cfg)
			if err != nil {
				return err
			}
			return ready.Write(cmd.OutOrStdout(), asJSON)
		},
	}
	create.Flags().StringVarP(&configPath, "config", "c", "", "configuration file (streamscore.yaml)")
	o.registerTopics(create)
	create.Flags().BoolVar(&asJSON, "json", false, "print the topics as JSON (snake_case keys)")
	cmd.AddCommand(create, newTopicsListCmd(), newTopicsDescribeCmd(), newTopicsSchemaCmd(), newTopicsSetCmd())
	return cmd
}

// readFrames calls fn with each length-prefixed value of the file at path.
func readFrames(path string, fn func(int64, []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var n int64
	return wire.ReadFrames(f, func(v []byte) error { n++; return fn(n, v) })
}
