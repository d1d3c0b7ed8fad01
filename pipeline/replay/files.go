package replay

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/streamscore/streamscore/pipeline/rowfile"
	"github.com/streamscore/streamscore/schemas"
)

// FileFormat is the format of an input or output file, known by its
// extension.
type FileFormat = rowfile.Format

// File formats.
const (
	// JSONL is one JSON event per line (.jsonl, .ndjson, .json).
	JSONL = rowfile.JSONL
	// Parquet is a Parquet file whose columns are event fields (.parquet, .pq).
	Parquet = rowfile.Parquet
	// Avro is an Avro Object Container File whose records' fields are event
	// fields (.avro).
	Avro = rowfile.Avro
)

// FormatOf returns the format of path from its extension.
func FormatOf(path string) (FileFormat, error) { return rowfile.FormatOf(path) }

// ExpandFiles returns the files that patterns name, in order: a pattern
// holding *, ? or [ is a glob whose matches are sorted by name; any other
// pattern is a file that must exist. A file named twice is kept once.
func ExpandFiles(patterns []string) ([]string, error) {
	out, err := rowfile.Expand(patterns)
	if err != nil {
		return nil, fmt.Errorf("reading events: %w", err)
	}
	return out, nil
}

// Files is a bounded Source that reads events from JSONL, Parquet and Avro
// container files, one after the other, in the order given. Each event
// becomes one message: its Topic is the file's base name, its Partition the
// file's index in the list and its Offset the event's position in the file
// (the 1-based line number for JSONL, the 1-based row number for Parquet
// and Avro). A Parquet or Avro row is turned into a JSON object whose
// fields are the row's columns (an Avro null as JSON null, an Avro
// timestamp as epoch milliseconds), so every format goes through the same
// JSON decoder as live events, and a row the decoder rejects is a dead
// letter with its reason, as a bad JSONL line is. A corrupt or truncated
// Avro file fails the replay with an error naming the block and row.
//
// Records have no Kafka timestamp: a schema without event_time gets event
// time 0 (1970-01-01). Files never acknowledges anything; Ack is a no-op.
type Files struct {
	paths []string
	// MaxLineBytes bounds one JSONL line; zero means
	// rowfile.DefaultMaxLineBytes. A longer line fails the replay, as a
	// file that is not JSONL would.
	MaxLineBytes int

	stop     chan struct{}
	stopOnce sync.Once
}

// NewFiles returns a source for paths; ExpandFiles resolves globs.
func NewFiles(paths []string) (*Files, error) {
	if len(paths) == 0 {
		return nil, errors.New("reading events: no input files")
	}
	for _, p := range paths {
		if _, err := FormatOf(p); err != nil {
			return nil, err
		}
	}
	return &Files{paths: paths, stop: make(chan struct{})}, nil
}

// Describe names the files.
func (f *Files) Describe() string {
	if len(f.paths) == 1 {
		return f.paths[0]
	}
	return fmt.Sprintf("%d files (%s … %s)", len(f.paths), f.paths[0], f.paths[len(f.paths)-1])
}

// Count returns how many events the files hold: non-empty lines of JSONL
// files, rows of Parquet files (read from their footers) and of Avro files
// (read from their block headers).
func (f *Files) Count(ctx context.Context) (int64, error) {
	var total int64
	for _, p := range f.paths {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := rowfile.Count(ctx, p)
		if err != nil {
			return total, fmt.Errorf("counting events in %s: %w", p, err)
		}
		total += n
	}
	return total, nil
}

// StopFetching makes Run stop sending and return. It does not block.
func (f *Files) StopFetching() { f.stopOnce.Do(func() { close(f.stop) }) }

// Ack does nothing: files have no offsets to commit.
func (f *Files) Ack([]schemas.Span) {}

// sender sends messages to out until the source is stopped.
type sender struct {
	ctx  context.Context
	out  chan<- schemas.Message
	stop <-chan struct{}
}

// errStopped ends a read early because the replay is stopping.
var errStopped = errors.New("stopped")

func (s *sender) send(m schemas.Message) error {
	select {
	case s.out <- m:
		return nil
	case <-s.stop:
		return errStopped
	case <-s.ctx.Done():
		return errStopped
	}
}

// Run sends every event of every file to out, in order, then closes out and
// returns. It returns early, with nil, after StopFetching or when ctx is
// done, and with an error if a file cannot be read.
func (f *Files) Run(ctx context.Context, out chan<- schemas.Message) error {
	defer close(out)
	s := &sender{ctx: ctx, out: out, stop: f.stop}
	for i, p := range f.paths {
		format, _ := FormatOf(p)
		var err error
		if format.Columnar() {
			err = readRecords(ctx, s, p, i)
		} else {
			err = f.readJSONL(s, p, i)
		}
		if errors.Is(err, errStopped) || ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading events from %s: %w", p, err)
		}
	}
	return nil
}

// arena hands out byte slices carved from large blocks, so a file's lines
// cost one allocation per block, not one per line. A slice stays valid for
// as long as anything references it.
type arena struct{ block []byte }

const arenaBlock = 1 << 20

func (a *arena) copy(b []byte) []byte {
	if len(b) > arenaBlock/4 {
		return append([]byte(nil), b...)
	}
	if cap(a.block)-len(a.block) < len(b) {
		a.block = make([]byte, 0, arenaBlock)
	}
	start := len(a.block)
	a.block = append(a.block, b...)
	return a.block[start:len(a.block):len(a.block)]
}

func (f *Files) readJSONL(s *sender, path string, index int) error {
	var (
		a    arena
		prev int64
		name = filepath.Base(path)
	)
	return rowfile.Lines(s.ctx, path, f.MaxLineBytes, func(no int64, line []byte) error {
		m := schemas.Message{Topic: name, Partition: index, Offset: no, Prev: prev, Value: a.copy(line), Time: time.UnixMilli(0)}
		prev = no
		return s.send(m)
	})
}

// readRecords reads a Parquet or Avro file as Arrow records and sends each
// row as a JSON object.
func readRecords(ctx context.Context, s *sender, path string, index int) error {
	var (
		a    arena
		buf  []byte
		row  int64
		conv *rowEncoder
		name = filepath.Base(path)
	)
	return rowfile.Records(ctx, path, nil, rowfile.DefaultBatchRows, func(rec arrow.Record) error {
		if conv == nil {
			var err error
			if conv, err = newRowEncoder(rec.Schema()); err != nil {
				return err
			}
		}
		for i := range int(rec.NumRows()) {
			buf = conv.append(buf[:0], rec, i)
			row++
			m := schemas.Message{Topic: name, Partition: index, Offset: row, Prev: row - 1, Value: a.copy(buf), Time: time.UnixMilli(0)}
			if err := s.send(m); err != nil {
				return err
			}
		}
		return nil
	})
}
