package replay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/streamscore/streamscore/schemas"
)

// FileFormat is the format of an input or output file, known by its
// extension.
type FileFormat string

// File formats.
const (
	// JSONL is one JSON event per line (.jsonl, .ndjson, .json).
	JSONL FileFormat = "jsonl"
	// Parquet is a Parquet file whose columns are event fields (.parquet).
	Parquet FileFormat = "parquet"
)

// FormatOf returns the format of path from its extension.
func FormatOf(path string) (FileFormat, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson", ".json":
		return JSONL, nil
	case ".parquet", ".pq":
		return Parquet, nil
	}
	return "", fmt.Errorf("%s: unknown file type: name it .jsonl (one JSON event per line) or .parquet", path)
}

// ExpandFiles returns the files that patterns name, in order: a pattern
// holding *, ? or [ is a glob whose matches are sorted by name; any other
// pattern is a file that must exist. A file named twice is kept once.
func ExpandFiles(patterns []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, p := range patterns {
		matches := []string{p}
		if strings.ContainsAny(p, "*?[") {
			var err error
			matches, err = filepath.Glob(p)
			if err != nil {
				return nil, fmt.Errorf("expanding %q: %w", p, err)
			}
			if len(matches) == 0 {
				return nil, fmt.Errorf("expanding %q: no file matches", p)
			}
			// Glob sorts its matches already; sorted order is the contract.
		}
		for _, m := range matches {
			if seen[m] {
				continue
			}
			seen[m] = true
			if st, err := os.Stat(m); err != nil {
				return nil, fmt.Errorf("reading events: %w", err)
			} else if st.IsDir() {
				return nil, fmt.Errorf("reading events: %s is a directory; name its files, e.g. %s", m, filepath.Join(m, "*.jsonl"))
			}
			if _, err := FormatOf(m); err != nil {
				return nil, err
			}
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("reading events: no input files")
	}
	return out, nil
}

// Files is a bounded Source that reads events from JSONL and Parquet files,
// one after the other, in the order given. Each event becomes one message:
// its Topic is the file's base name, its Partition the file's index in the
// list and its Offset the event's position in the file (the 1-based line
// number for JSONL, the 1-based row number for Parquet). A Parquet row is
// turned into a JSON object whose fields are the row's columns, so both
// formats go through the same JSON decoder as live events.
//
// Records have no Kafka timestamp: a schema without event_time gets event
// time 0 (1970-01-01). Files never acknowledges anything; Ack is a no-op.
type Files struct {
	paths []string
	// MaxLineBytes bounds one JSONL line; zero means 16 MiB. A longer line
	// fails the replay, as a file that is not JSONL would.
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
// files, rows of Parquet files (read from their footers).
func (f *Files) Count(ctx context.Context) (int64, error) {
	var total int64
	for _, p := range f.paths {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		format, _ := FormatOf(p)
		var n int64
		var err error
		if format == Parquet {
			n, err = parquetRows(p)
		} else {
			n, err = jsonlLines(p)
		}
		if err != nil {
			return total, fmt.Errorf("counting events in %s: %w", p, err)
		}
		total += n
	}
	return total, nil
}

func jsonlLines(path string) (int64, error) {
	fh, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	r := bufio.NewReaderSize(fh, 1<<20)
	var n int64
	empty := true
	for {
		b, err := r.ReadSlice('\n')
		for _, c := range b {
			if c != '\n' && c != '\r' && c != ' ' && c != '\t' {
				empty = false
				break
			}
		}
		if len(b) > 0 && b[len(b)-1] == '\n' || err == io.EOF {
			if !empty {
				n++
			}
			empty = true
		}
		switch {
		case err == io.EOF:
			return n, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil:
			return n, err
		}
	}
}

func parquetRows(path string) (int64, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return 0, err
	}
	defer pf.Close()
	return pf.NumRows(), nil
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
		if format == Parquet {
			err = readParquet(ctx, s, p, i)
		} else {
			err = f.readJSONL(s, p, i)
		}
		if errors.Is(err, errStopped) {
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
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	maxLine := f.MaxLineBytes
	if maxLine <= 0 {
		maxLine = 16 << 20
	}
	r := bufio.NewReaderSize(fh, 1<<20)
	var (
		a      arena
		long   []byte
		lineNo int64
		prev   int64 = 0
		name         = filepath.Base(path)
	)
	for {
		b, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, b...)
			if len(long) > maxLine {
				return fmt.Errorf("line %d is longer than %d bytes", lineNo+1, maxLine)
			}
			continue
		}
		if err != nil && err != io.EOF {
			return err
		}
		line := b
		if long != nil {
			line = append(long, b...)
			long = nil
		}
		if len(line) > 0 || err == nil {
			lineNo++
		}
		line = trimSpace(line)
		if len(line) > 0 {
			m := schemas.Message{Topic: name, Partition: index, Offset: lineNo, Prev: prev, Value: a.copy(line), Time: time.UnixMilli(0)}
			prev = lineNo
			if serr := s.send(m); serr != nil {
				return serr
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// parquetBatch is how many rows one Parquet read returns.
const parquetBatch = 4096

func readParquet(ctx context.Context, s *sender, path string, index int) error {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return err
	}
	defer pf.Close()
	mem := memory.NewGoAllocator()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: parquetBatch}, mem)
	if err != nil {
		return fmt.Errorf("reading Parquet schema: %w", err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return fmt.Errorf("reading Parquet rows: %w", err)
	}
	defer rr.Release()
	conv, err := newRowEncoder(rr.Schema())
	if err != nil {
		return err
	}
	var (
		a    arena
		buf  []byte
		row  int64
		name = filepath.Base(path)
	)
	for rr.Next() {
		rec := rr.Record()
		for i := range int(rec.NumRows()) {
			buf = conv.append(buf[:0], rec, i)
			row++
			m := schemas.Message{Topic: name, Partition: index, Offset: row, Prev: row - 1, Value: a.copy(buf), Time: time.UnixMilli(0)}
			if err := s.send(m); err != nil {
				return err
			}
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading Parquet rows: %w", err)
	}
	return nil
}
