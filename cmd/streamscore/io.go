package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/producers"
	"github.com/streamscore/streamscore/schemas"
)

func brokersFlag(cmd *cobra.Command, dst *[]string) {
	cmd.Flags().StringSliceVar(dst, "brokers", nil, "Kafka bootstrap brokers host:port (default $STREAMSCORE_BROKERS or 127.0.0.1:9092)")
}

// countLines counts the non-empty lines of a file, for a progress total.
func countLines(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 10<<20)
	var n int64
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			n++
		}
	}
	return n, sc.Err()
}

func newBar(total int64, what string) *progressbar.ProgressBar {
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("events"),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(os.Stderr) }),
	)
}

// feedOption adjusts the producers.FeedConfig that produceFile uses.
type feedOption func(*producers.FeedConfig)

// keepEventTimes writes each record with the event time read from field;
// untimed counts the events that had none.
func keepEventTimes(field string, untimed *int64) feedOption {
	return func(c *producers.FeedConfig) {
		c.TimeField = field
		c.Untimed = func(int64) { *untimed++ }
	}
}

// produceFile writes a JSONL file to a topic with a progress bar on stderr.
func produceFile(ctx context.Context, brokers []string, topic, path, keyField string, rate float64, quiet bool, opts ...feedOption) (int64, error) {
	return produceFileConn(ctx, kafkaConn{brokers: brokers}, topic, path, keyField, rate, quiet, opts...)
}

// produceFileConn is produceFile over a connection with security settings.
func produceFileConn(ctx context.Context, kc kafkaConn, topic, path, keyField string, rate float64, quiet bool, opts ...feedOption) (int64, error) {
	total, err := countLines(path)
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", path, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	pc := producers.Config{Brokers: kc.brokers, Topic: topic, Transport: kc.transport}
	w := pc.NewKafkaWriter()
	defer w.Close()
	cfg := producers.FeedConfig{Topic: topic, KeyField: keyField, Rate: rate}
	for _, o := range opts {
		o(&cfg)
	}
	if !quiet {
		bar := newBar(total, "producing to "+topic)
		cfg.Progress = func(n int64) { bar.Set64(n) }
	}
	return producers.Feed(ctx, w, f, cfg)
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
--from/--to). An event without a readable time gets the time of writing.`,
		Example: `  streamscore produce --brokers 127.0.0.1:9092 --topic events --file events.jsonl --key user_id
  streamscore produce --topic events --file events.jsonl --rate 5000
  streamscore produce --topic history --file history.jsonl --key user_id --preserve-timestamps --time-field ts`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if topic == "" || file == "" {
				return fmt.Errorf("--topic and --file are required")
			}
			if rate < 0 {
				return fmt.Errorf("--rate: must not be negative")
			}
			kc, err := kf.connect()
			if err != nil {
				return err
			}
			ctx, stop := signalContext(discardLogger())
			defer stop()
			if err := kc.reach(ctx); err != nil {
				return err
			}
			var opts []feedOption
			var untimed int64
			if keepTime {
				opts = append(opts, keepEventTimes(timeFld, &untimed))
			}
			start := time.Now()
			n, err := produceFileConn(ctx, kc, topic, file, keyField, rate, quiet, opts...)
			if err != nil {
				return err
			}
			el := time.Since(start)
			fmt.Fprintf(os.Stderr, "produced %d events to %s in %s (%.0f events/s)\n", n, topic, el.Round(time.Millisecond), float64(n)/el.Seconds())
			if untimed > 0 {
				fmt.Fprintf(os.Stderr, "%d events had no readable %q and carry the time of writing\n", untimed, timeFld)
			}
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
	return cmd
}

func newConsumeCmd() *cobra.Command {
	var (
		kf      kafkaConnFlags
		topic   string
		from    bool
		max     int
		timeout time.Duration
		headers bool
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
			ctx, stop := signalContext(discardLogger())
			defer stop()
			if err := kc.reach(ctx); err != nil {
				return err
			}
			out := bufio.NewWriter(cmd.OutOrStdout())
			defer out.Flush()
			_, err = consumers.Tail(ctx, consumers.TailConfig{
				Brokers: kc.brokers, Dialer: kc.dialer, Topic: topic, FromBeginning: from, Max: max, Idle: timeout,
				Isolation: isolation,
			}, func(m schemas.Message) error {
				return writeRecord(out, m, headers)
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

func writeRecord(w io.Writer, m schemas.Message, withHeaders bool) error {
	if !withHeaders {
		if _, err := w.Write(m.Value); err != nil {
			return err
		}
		_, err := w.Write([]byte{'\n'})
		return err
	}
	hs := map[string]string{}
	for _, h := range m.Headers {
		hs[h.Key] = string(h.Value)
	}
	rec := struct {
		Partition int               `json:"partition"`
		Offset    int64             `json:"offset"`
		Key       string            `json:"key"`
		Headers   map[string]string `json:"headers"`
		Value     string            `json:"value"`
	}{m.Partition, m.Offset, string(m.Key), hs, string(m.Value)}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func newTopicsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "topics", Short: "Manage the topics streamscore uses"}
	var (
		configPath string
		o          overrides
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
			kc, err := newKafkaConn(cfg.Brokers, &cfg.Kafka)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			if err := consumers.CreateTopics(ctx, kc.dialer, kc.brokers, cfg.Topics.Partitions, cfg.Topics.ReplicationFactor,
				cfg.Topics.Input, cfg.Topics.Output, cfg.Topics.DLQ); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "topics ready: %s, %s, %s (%d partitions)\n", cfg.Topics.Input, cfg.Topics.Output, cfg.Topics.DLQ, cfg.Topics.Partitions)
			if cfg.Drift.Enabled && cfg.Drift.Topic != "" {
				// Drift events are few; one partition keeps them in order.
				if err := consumers.CreateTopics(ctx, kc.dialer, kc.brokers, 1, cfg.Topics.ReplicationFactor, cfg.Drift.Topic); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "drift topic ready: %s\n", cfg.Drift.Topic)
			}
			return nil
		},
	}
	create.Flags().StringVarP(&configPath, "config", "c", "", "configuration file (streamscore.yaml)")
	o.register(create)
	cmd.AddCommand(create)
	return cmd
}
