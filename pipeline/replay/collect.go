package replay

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/streamscore/streamscore/schemas"
)

// texts is a column of strings packed into one buffer, so a batch's ids and
// keys cost a few allocations, not one per row.
type texts struct {
	buf  []byte
	ends []int
}

func (t *texts) add(s string) {
	t.buf = append(t.buf, s...)
	t.ends = append(t.ends, len(t.buf))
}

func (t *texts) addBytes(b []byte) {
	t.buf = append(t.buf, b...)
	t.ends = append(t.ends, len(t.buf))
}

func (t *texts) bytes(i int) []byte {
	start := 0
	if i > 0 {
		start = t.ends[i-1]
	}
	return t.buf[start:t.ends[i]]
}

func (t *texts) at(i int) string { return string(t.bytes(i)) }

func (t *texts) len() int { return len(t.ends) }

// rows are the scored rows of one batch, copied out of its Arrow memory so
// they outlive the batch. Rows the model rejected (dead letters) and rows
// outside the time range are not in it.
type rows struct {
	n     int
	ids   texts
	keys  texts
	times []int64 // event time, epoch milliseconds
	// labels holds each row's label; NaN when the event has none (or no
	// label field is configured).
	labels []float64
	// source, partition and offset say where each row came from: the
	// topic, or the file's base name, its index and the line or row.
	sources    []string
	partitions []int32
	offsets    []int64
	// outs holds each flat output's values, n×width, row-major.
	outs [][]float64
	// strs holds each string output's labels, n×width, row-major (nil for
	// a numeric output).
	strs [][]string

	// Rows counted but not kept.
	outside     int // event time outside [From, To)
	badLabels   int // a label that is not a number or a boolean
	featMissing int // scored with feature-set defaults (store miss)
}

// chunkQueue bounds the scored batches waiting for the writer, so a slow
// output pauses scoring instead of growing memory.
const chunkQueue = 4

// collector is the replay's Observer: on the engine's inference goroutine it
// copies each scored batch's rows out of Arrow memory and hands them, in
// batch order, to the writer goroutine. The send blocks while the writer is
// behind; that is the replay's backpressure, not a stall of live traffic.
type collector struct {
	models   *models
	labelCol int // record column of the label, -1 for none
	from, to int64
	window   bool
	out      chan<- *rows
	// fail reports a batch whose outputs do not fit the first batch's.
	fail func(error)

	layout *layout // set on the first batch; inference goroutine only
}

// ObserveBatch copies b's scored rows and sends them to the writer.
func (c *collector) ObserveBatch(b *schemas.ScoredBatch) {
	if c.layout == nil {
		l, err := c.models.layoutOf(b.Scores)
		if err != nil {
			c.fail(err)
			return
		}
		l.label = c.labelCol >= 0
		c.layout = l
	} else if !c.layout.matches(b.Scores) {
		c.fail(fmt.Errorf("scoring: a batch's outputs changed shape (%d outputs); every batch must have the first batch's", len(b.Scores)))
		return
	}
	rec := b.Decoded.Record
	n := int(rec.NumRows())
	ids := rec.Column(0).(*array.String)
	keys := rec.Column(1).(*array.String)
	ts := rec.Column(2).(*array.Timestamp)
	var labels *array.String
	if c.labelCol >= 0 {
		labels = rec.Column(c.labelCol).(*array.String)
	}
	r := &rows{
		times:      make([]int64, 0, n),
		labels:     make([]float64, 0, n),
		sources:    make([]string, 0, n),
		partitions: make([]int32, 0, n),
		offsets:    make([]int64, 0, n),
		outs:       make([][]float64, len(b.Scores)),
		strs:       make([][]string, len(b.Scores)),
	}
	for i, s := range b.Scores {
		r.outs[i] = make([]float64, 0, n*s.Width)
		if s.Strings != nil {
			r.strs[i] = make([]string, 0, n*s.Width)
		}
	}
	for row := range n {
		if !b.RowOK(row) {
			continue
		}
		t := int64(ts.Value(row))
		if c.window && (t < c.from || t >= c.to) {
			r.outside++
			continue
		}
		m := &b.Msgs[b.Decoded.Rows[row]]
		r.ids.add(ids.Value(row))
		r.keys.add(keys.Value(row))
		r.times = append(r.times, t)
		label := math.NaN()
		if labels != nil && labels.IsValid(row) {
			v, ok := parseLabel(labels.Value(row))
			if ok {
				label = v
			} else {
				r.badLabels++
			}
		}
		r.labels = append(r.labels, label)
		r.sources = append(r.sources, m.Topic)
		r.partitions = append(r.partitions, int32(m.Partition))
		r.offsets = append(r.offsets, m.Offset)
		for i, s := range b.Scores {
			r.outs[i] = append(r.outs[i], s.Values[row*s.Width:(row+1)*s.Width]...)
			if s.Strings != nil {
				r.strs[i] = append(r.strs[i], s.Strings[row*s.Width:(row+1)*s.Width]...)
			}
		}
		if b.FeaturesMissing != nil && b.FeaturesMissing[row] {
			r.featMissing++
		}
		r.n++
	}
	c.out <- r
}

// parseLabel reads a label's raw JSON: a number, true or false, or a
// string holding one of those. null is no label.
func parseLabel(raw string) (float64, bool) {
	b := bytes.TrimSpace([]byte(raw))
	if len(b) >= 2 && b[0] == '"' {
		s, err := strconv.Unquote(string(b))
		if err != nil {
			return 0, false
		}
		b = bytes.TrimSpace([]byte(s))
	}
	switch string(b) {
	case "true", "True", "TRUE":
		return 1, true
	case "false", "False", "FALSE":
		return 0, true
	case "null", "":
		return math.NaN(), true
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// windowOf returns the filter bounds in epoch milliseconds, and whether
// there is a filter at all.
func windowOf(from, to time.Time) (lo, hi int64, ok bool) {
	lo, hi = math.MinInt64, math.MaxInt64
	if !from.IsZero() {
		lo, ok = from.UnixMilli(), true
	}
	if !to.IsZero() {
		hi, ok = to.UnixMilli(), true
	}
	return lo, hi, ok
}
