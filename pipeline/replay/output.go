package replay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/schemas"
)

// Output receives a replay's scored rows in replay order. CreateFile and
// NewTopicOutput make one; Run calls it from one goroutine.
type Output interface {
	// write writes one batch of rows laid out as l.
	write(ctx context.Context, l *layout, r *rows) error
	// finish completes the output. With commit false (the replay failed or
	// was interrupted) it discards what it can: a file is removed. l is nil
	// when no row was scored.
	finish(l *layout, commit bool) error
	// Describe names where rows go.
	Describe() string
}

// appendRow appends row i of r as one JSON object:
//
//	{"event_id":"e1","key":"u1","event_time":1732460000000,"label":1,
//	 "source":"events","partition":3,"offset":1234,
//	 "scores":{"champion":{"score":0.25},"challenger":{"score":0.31}}}
//
// label is present when a label field is configured (null for a row without
// one). source, partition and offset locate the input: the topic, partition
// and offset, or the file's base name, its index among the inputs and its
// line (JSONL) or row (Parquet) number. An output of width k is an array of
// k numbers; float32 outputs print the shortest text that reads back as the
// same float32, and a non-finite value is null. A string output (class
// labels) is a string, or an array of k strings; a ZipMap output is an
// object {"<class>": p, ...}, as in live scored events.
func appendRow(dst []byte, l *layout, r *rows, i int) []byte {
	dst = append(dst, `{"event_id":`...)
	dst = schemas.AppendString(dst, string(r.ids.bytes(i)))
	dst = append(dst, `,"key":`...)
	dst = schemas.AppendString(dst, string(r.keys.bytes(i)))
	dst = append(dst, `,"event_time":`...)
	dst = strconv.AppendInt(dst, r.times[i], 10)
	if l.label {
		dst = append(dst, `,"label":`...)
		dst = appendScore(dst, r.labels[i], 64)
	}
	dst = append(dst, `,"source":`...)
	dst = schemas.AppendString(dst, r.sources[i])
	dst = append(dst, `,"partition":`...)
	dst = strconv.AppendInt(dst, int64(r.partitions[i]), 10)
	dst = append(dst, `,"offset":`...)
	dst = strconv.AppendInt(dst, r.offsets[i], 10)
	dst = append(dst, `,"scores":{`...)
	for mi, m := range l.models {
		if mi > 0 {
			dst = append(dst, ',')
		}
		dst = schemas.AppendString(dst, m.name)
		dst = append(dst, ":{"...)
		for oi, o := range m.outputs {
			if oi > 0 {
				dst = append(dst, ',')
			}
			dst = schemas.AppendString(dst, o.name)
			dst = append(dst, ':')
			if o.str {
				dst = appendLabels(dst, r.strs[o.index][i*o.width:(i+1)*o.width])
				continue
			}
			vals := r.outs[o.index][i*o.width : (i+1)*o.width]
			if o.keys != nil {
				dst = append(dst, '{')
				for j, v := range vals {
					if j > 0 {
						dst = append(dst, ',')
					}
					dst = schemas.AppendString(dst, o.keys[j])
					dst = append(dst, ':')
					dst = appendScore(dst, v, o.bits)
				}
				dst = append(dst, '}')
				continue
			}
			if o.width == 1 {
				dst = appendScore(dst, vals[0], o.bits)
				continue
			}
			dst = append(dst, '[')
			for j, v := range vals {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = appendScore(dst, v, o.bits)
			}
			dst = append(dst, ']')
		}
		dst = append(dst, '}')
	}
	return append(dst, "}}"...)
}

// appendLabels writes one row of a string output: a string, or an array
// of strings.
func appendLabels(dst []byte, labels []string) []byte {
	if len(labels) == 1 {
		return schemas.AppendString(dst, labels[0])
	}
	dst = append(dst, '[')
	for j, s := range labels {
		if j > 0 {
			dst = append(dst, ',')
		}
		dst = schemas.AppendString(dst, s)
	}
	return append(dst, ']')
}

// appendScore writes v as the scored-event encoder does: integers without a
// fraction, others as the shortest text that round-trips at bits, non-finite
// values as null.
func appendScore(dst []byte, v float64, bits int) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(dst, "null"...)
	}
	if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
		return strconv.AppendInt(dst, int64(v), 10)
	}
	if bits != 32 {
		bits = 64
	}
	return strconv.AppendFloat(dst, v, 'g', -1, bits)
}

// CreateFile returns an Output that writes path as JSONL (.jsonl) or
// Parquet (.parquet). Rows go to a temporary file beside path, created with
// the first row and renamed to path once the replay succeeds, so a failed
// replay never leaves a file that looks complete (and an Output never used
// leaves nothing).
func CreateFile(path string) (Output, error) {
	format, err := FormatOf(path)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("creating output: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("creating output: %s is not a directory", filepath.Dir(path))
	}
	f := fileOut{path: path}
	if format == Parquet {
		return &parquetOut{fileOut: f}, nil
	}
	return &jsonlOut{fileOut: f}, nil
}

type fileOut struct {
	path string
	tmp  *os.File // nil until the first write
}

func (f *fileOut) Describe() string { return f.path }

// create opens the temporary file.
func (f *fileOut) create() error {
	if f.tmp != nil {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), "."+filepath.Base(f.path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("creating output: %w", err)
	}
	f.tmp = tmp
	return nil
}

// done closes the temporary file and renames it to path, or removes it.
func (f *fileOut) done(commit bool, werr error) error {
	if f.tmp == nil {
		if werr != nil {
			return fmt.Errorf("writing %s: %w", f.path, werr)
		}
		return nil
	}
	cerr := f.tmp.Close()
	if errors.Is(cerr, os.ErrClosed) {
		cerr = nil // the Parquet writer closes its file itself
	}
	if !commit || werr != nil || cerr != nil {
		os.Remove(f.tmp.Name())
		if werr != nil {
			return fmt.Errorf("writing %s: %w", f.path, werr)
		}
		if cerr != nil {
			return fmt.Errorf("writing %s: %w", f.path, cerr)
		}
		return nil
	}
	if err := os.Chmod(f.tmp.Name(), 0o644); err != nil {
		os.Remove(f.tmp.Name())
		return fmt.Errorf("writing %s: %w", f.path, err)
	}
	if err := os.Rename(f.tmp.Name(), f.path); err != nil {
		os.Remove(f.tmp.Name())
		return fmt.Errorf("writing %s: %w", f.path, err)
	}
	return nil
}

type jsonlOut struct {
	fileOut
	w   *bufio.Writer
	buf []byte
}

func (o *jsonlOut) write(_ context.Context, l *layout, r *rows) error {
	if o.w == nil {
		if err := o.create(); err != nil {
			return err
		}
		o.w = bufio.NewWriterSize(o.tmp, 1<<20)
	}
	for i := range r.n {
		o.buf = appendRow(o.buf[:0], l, r, i)
		o.buf = append(o.buf, '\n')
		if _, err := o.w.Write(o.buf); err != nil {
			return fmt.Errorf("writing %s: %w", o.path, err)
		}
	}
	return nil
}

func (o *jsonlOut) finish(_ *layout, commit bool) error {
	var err error
	if commit {
		if err = o.create(); err == nil && o.w != nil { // an empty replay writes an empty file
			err = o.w.Flush()
		}
	}
	return o.done(commit, err)
}

// parquetRowGroup is the rows per Parquet row group.
const parquetRowGroup = 128 * 1024

// parquetOut writes one column per field: event_id, key (utf8), event_time
// (timestamp ms, UTC), label (float64, null when missing; only with a
// label field), source (utf8), partition (int32), offset (int64), then one
// float64 column per model output value, named "model.output", or
// "model.output[j]" for column j of a multi-column output, or
// "model.output[class]" for a ZipMap output's class; a string output's
// columns are utf8. Row groups hold 128 Ki rows, compressed with Snappy.
type parquetOut struct {
	fileOut
	schema *arrow.Schema
	fw     *pqarrow.FileWriter
	mem    memory.Allocator
}

func parquetSchema(l *layout) *arrow.Schema {
	fields := []arrow.Field{
		{Name: "event_id", Type: arrow.BinaryTypes.String},
		{Name: "key", Type: arrow.BinaryTypes.String},
		{Name: "event_time", Type: arrow.FixedWidthTypes.Timestamp_ms},
	}
	if l.label {
		fields = append(fields, arrow.Field{Name: "label", Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	fields = append(fields,
		arrow.Field{Name: "source", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "partition", Type: arrow.PrimitiveTypes.Int32},
		arrow.Field{Name: "offset", Type: arrow.PrimitiveTypes.Int64},
	)
	for _, m := range l.models {
		for _, o := range m.outputs {
			for j := range o.width {
				name := columnName(m.name, o.name, o.width, j)
				if o.keys != nil {
					name = m.name + "." + o.name + "[" + o.keys[j] + "]"
				}
				typ := arrow.DataType(arrow.PrimitiveTypes.Float64)
				if o.str {
					typ = arrow.BinaryTypes.String
				}
				fields = append(fields, arrow.Field{Name: name, Type: typ, Nullable: true})
			}
		}
	}
	return arrow.NewSchema(fields, nil)
}

func (o *parquetOut) open(l *layout) error {
	if err := o.create(); err != nil {
		return err
	}
	o.schema = parquetSchema(l)
	o.mem = memory.NewGoAllocator()
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(parquetRowGroup),
		parquet.WithAllocator(o.mem),
	)
	fw, err := pqarrow.NewFileWriter(o.schema, o.tmp, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(o.mem)))
	if err != nil {
		return fmt.Errorf("writing %s: %w", o.path, err)
	}
	o.fw = fw
	return nil
}

func (o *parquetOut) write(_ context.Context, l *layout, r *rows) error {
	if o.fw == nil {
		if err := o.open(l); err != nil {
			return err
		}
	}
	if r.n == 0 {
		return nil
	}
	b := array.NewRecordBuilder(o.mem, o.schema)
	defer b.Release()
	col := 0
	next := func() array.Builder { f := b.Field(col); col++; return f }
	ids, keys := next().(*array.StringBuilder), next().(*array.StringBuilder)
	times := next().(*array.TimestampBuilder)
	var labels *array.Float64Builder
	if l.label {
		labels = next().(*array.Float64Builder)
	}
	sources := next().(*array.StringBuilder)
	parts := next().(*array.Int32Builder)
	offs := next().(*array.Int64Builder)
	for i := range r.n {
		ids.BinaryBuilder.Append(r.ids.bytes(i))
		keys.BinaryBuilder.Append(r.keys.bytes(i))
		times.Append(arrow.Timestamp(r.times[i]))
		if labels != nil {
			if math.IsNaN(r.labels[i]) {
				labels.AppendNull()
			} else {
				labels.Append(r.labels[i])
			}
		}
		sources.Append(r.sources[i])
		parts.Append(r.partitions[i])
		offs.Append(r.offsets[i])
	}
	for _, m := range l.models {
		for _, ol := range m.outputs {
			if ol.str {
				labels := r.strs[ol.index]
				for j := range ol.width {
					sb := next().(*array.StringBuilder)
					sb.Reserve(r.n)
					for i := range r.n {
						sb.Append(labels[i*ol.width+j])
					}
				}
				continue
			}
			vals := r.outs[ol.index]
			for j := range ol.width {
				fb := next().(*array.Float64Builder)
				fb.Reserve(r.n)
				for i := range r.n {
					v := vals[i*ol.width+j]
					if math.IsNaN(v) || math.IsInf(v, 0) {
						fb.AppendNull()
					} else {
						fb.UnsafeAppend(v)
					}
				}
			}
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	if err := o.fw.WriteBuffered(rec); err != nil {
		return fmt.Errorf("writing %s: %w", o.path, err)
	}
	return nil
}

func (o *parquetOut) finish(l *layout, commit bool) error {
	var err error
	if commit && o.fw == nil {
		if l == nil {
			l = &layout{}
		}
		err = o.open(l)
	}
	if o.fw != nil {
		if cerr := o.fw.Close(); err == nil && commit {
			err = cerr
		}
	}
	return o.done(commit, err)
}

// TopicOutputConfig configures NewTopicOutput.
type TopicOutputConfig struct {
	// Topic receives the rows. It must already exist.
	Topic string
	// Writer writes them: one whose messages name their topic, with
	// RequiredAcks all (producers.Config.NewKafkaWriter makes one).
	Writer *kafka.Writer
}

// NewTopicOutput returns an Output that writes each row as one record, its
// value the row's JSON (as a JSONL output's line) and its key the row's
// key, and waits for every record to be acknowledged. Closing the writer is
// the caller's.
func NewTopicOutput(cfg TopicOutputConfig) (Output, error) {
	if cfg.Topic == "" || cfg.Writer == nil {
		return nil, errors.New("writing to a topic: a topic and a writer are required")
	}
	return &topicOut{cfg: cfg}, nil
}

type topicOut struct {
	cfg   TopicOutputConfig
	buf   []byte
	msgs  []kafka.Message
	total int64
}

func (o *topicOut) Describe() string { return "topic " + o.cfg.Topic }

func (o *topicOut) write(ctx context.Context, l *layout, r *rows) error {
	if r.n == 0 {
		return nil
	}
	o.buf = o.buf[:0]
	ends := make([]int, r.n)
	for i := range r.n {
		o.buf = appendRow(o.buf, l, r, i)
		ends[i] = len(o.buf)
	}
	// One buffer per batch: the messages alias it until WriteMessages returns.
	buf := o.buf
	o.buf = nil
	o.msgs = o.msgs[:0]
	start := 0
	for i := range r.n {
		o.msgs = append(o.msgs, kafka.Message{Topic: o.cfg.Topic, Key: r.keys.bytes(i), Value: buf[start:ends[i]:ends[i]]})
		start = ends[i]
	}
	if err := o.cfg.Writer.WriteMessages(ctx, o.msgs...); err != nil {
		return fmt.Errorf("writing to topic %s: %w", o.cfg.Topic, err)
	}
	o.total += int64(r.n)
	return nil
}

func (o *topicOut) finish(*layout, bool) error { return nil }
