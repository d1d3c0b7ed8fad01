package consumers

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/streamscore/streamscore/schemas"
)

// sampleValueBytes is how much of a sample letter's value WriteSamples
// prints unless asked for all of it.
const sampleValueBytes = 200

// WriteSamples prints the sample letters as dlq inspect shows them: for each,
// when, its reason, where it came from, the field and error, and the start of
// its original value (all of it when full), then the counts by reason.
func (st *LetterStats) WriteSamples(w io.Writer, full bool) error {
	bw := bufio.NewWriter(w)
	for _, l := range st.Samples {
		h := l.Headers
		fmt.Fprintf(bw, "%s  %s  %s/%s@%s", h[schemas.HeaderTime], l.Reason(), h[schemas.HeaderSourceTopic], h[schemas.HeaderSourcePartition], h[schemas.HeaderSourceOffset])
		if fld := h[schemas.HeaderField]; fld != "" {
			fmt.Fprintf(bw, "  field %s", fld)
		}
		fmt.Fprintf(bw, "  (dead letter %s/%d@%d)\n", st.Topic, l.Partition, l.Offset)
		if e := h[schemas.HeaderError]; e != "" {
			fmt.Fprintf(bw, "  error: %s\n", e)
		}
		if h["streamscore.truncated"] == "true" {
			fmt.Fprintf(bw, "  truncated: the original value had %s bytes (sha256 %s)\n", h["streamscore.original.value.bytes"], h["streamscore.original.value.sha256"])
		}
		v := l.Value
		if !full && len(v) > sampleValueBytes {
			cut := sampleValueBytes
			for cut > 0 && !utf8.RuneStart(v[cut]) {
				cut--
			}
			v = v[:cut] + fmt.Sprintf("… (%d bytes)", len(l.Value))
		}
		fmt.Fprintf(bw, "  value: %s\n", v)
	}
	if len(st.Samples) > 0 {
		fmt.Fprintln(bw)
	}
	st.writeReasonCounts(bw)
	return bw.Flush()
}

// WriteSamplesJSON prints one JSON object per sample letter (the shape of
// schemas/contracts/dead-letter.v1.json) and nothing else.
func (st *LetterStats) WriteSamplesJSON(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, l := range st.Samples {
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteText prints the counts as dlq stats shows them: by reason, by source
// topic, and per time bucket of width bucket (the scan's Bucket).
func (st *LetterStats) WriteText(w io.Writer, bucket time.Duration) error {
	bw := bufio.NewWriter(w)
	st.writeReasonCounts(bw)
	if st.Truncated > 0 {
		fmt.Fprintf(bw, "  (%d truncated)\n", st.Truncated)
	}
	if len(st.BySource) > 0 {
		fmt.Fprintln(bw, "by source topic:")
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		for _, sc := range st.BySource {
			fmt.Fprintf(tw, "  %s\t%d\n", sc.Topic, sc.Count)
		}
		tw.Flush()
	}
	if len(st.ByTime) > 0 {
		fmt.Fprintf(bw, "by time (%s buckets, UTC):\n", bucket)
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		for _, b := range st.ByTime {
			var parts []string
			for _, rc := range st.ByReason {
				if n := b.ByReason[rc.Reason]; n > 0 {
					parts = append(parts, fmt.Sprintf("%s=%d", rc.Reason, n))
				}
			}
			fmt.Fprintf(tw, "  %s\t%d\t%s\n", b.Start.Format(time.RFC3339), b.Count, strings.Join(parts, " "))
		}
		tw.Flush()
	}
	return bw.Flush()
}

// WriteJSON prints the stats as one indented JSON object (snake_case keys).
func (st *LetterStats) WriteJSON(w io.Writer) error {
	return writeIndentedJSON(w, st)
}

func (st *LetterStats) writeReasonCounts(w io.Writer) {
	fmt.Fprintf(w, "%d dead letters in %s", st.Kept, st.Topic)
	if st.Kept != st.Read {
		fmt.Fprintf(w, " (of %d records read)", st.Read)
	}
	if st.StoppedAtMax {
		fmt.Fprint(w, "; stopped at --max, more remain")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, rc := range st.ByReason {
		fmt.Fprintf(tw, "  %s\t%d\n", rc.Reason, rc.Count)
	}
	tw.Flush()
}

// writeIndentedJSON writes v as indented JSON and a newline.
func writeIndentedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
