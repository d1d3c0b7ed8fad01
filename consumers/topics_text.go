package consumers

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// Topics is a list of described topics, as topics list and topics describe
// print them.
type Topics []TopicInfo

// WriteTable prints one line per topic: its name, partition count,
// replication factor (that of its first partition) and record count.
func (ts Topics) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITIONS\tREPLICATION\tRECORDS")
	for _, t := range ts {
		repl := 0
		if len(t.Partitions) > 0 {
			repl = len(t.Partitions[0].Replicas)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", t.Name, len(t.Partitions), repl, t.Records)
	}
	return tw.Flush()
}

// WriteText prints each topic in full: its partitions with leader,
// replicas, in-sync replicas and watermarks, then its configuration
// entries that differ from the broker's defaults, or why they are missing.
func (ts Topics) WriteText(w io.Writer) error {
	for i, t := range ts {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "topic %s: %d partitions, %d records\n", t.Name, len(t.Partitions), t.Records)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  PARTITION\tLEADER\tREPLICAS\tISR\tLOW\tHIGH")
		for _, p := range t.Partitions {
			leader := fmt.Sprint(p.Leader)
			if p.LeaderAddr != "" {
				leader += " (" + p.LeaderAddr + ")"
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%d\t%d\n", p.Partition, leader, joinInts(p.Replicas), joinInts(p.ISR), p.LowWatermark, p.HighWatermark)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		switch {
		case t.ConfigError != "":
			fmt.Fprintf(w, "  config: not available (%s)\n", t.ConfigError)
		case len(t.Config) == 0:
			fmt.Fprintln(w, "  config: broker defaults")
		default:
			keys := make([]string, 0, len(t.Config))
			for k := range t.Config {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			fmt.Fprintln(w, "  config:")
			for _, k := range keys {
				fmt.Fprintf(w, "    %s=%s\n", k, t.Config[k])
			}
		}
	}
	return nil
}

// WriteJSON prints the topics as one indented JSON array (snake_case keys).
func (ts Topics) WriteJSON(w io.Writer) error {
	return writeIndentedJSON(w, []TopicInfo(ts))
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}
