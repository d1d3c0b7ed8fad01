package rowfile

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/valyala/fastjson"
)

// DefaultMaxLineBytes is the longest JSONL line read when a caller sets no
// limit. Longer lines end the read with a *LineError wrapping
// ErrLineTooLong.
const DefaultMaxLineBytes = 64 << 20

// ctxEvery is how many lines pass between two checks of the context.
const ctxEvery = 4096

// ErrLineTooLong is wrapped by the *LineError of a line longer than the
// limit.
var ErrLineTooLong = errors.New("line too long")

// LineError is a failure at one line of a JSONL file.
type LineError struct {
	Path string
	Line int64 // 1-based
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.Path, e.Line, e.Err) }

// Unwrap returns the cause.
func (e *LineError) Unwrap() error { return e.Err }

// isBlank reports whether b holds only JSON whitespace.
func isBlank(b []byte) bool { return len(trimSpace(b)) == 0 }

// trimSpace trims JSON whitespace (space, tab, CR, LF) from both ends.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// Lines calls fn with every line of the JSONL file path that holds more
// than whitespace, trimmed of it, and its 1-based line number in the file.
// line is valid only during the call. A line longer than maxLine bytes
// (zero or less: DefaultMaxLineBytes) ends the read with a *LineError
// wrapping ErrLineTooLong. Lines returns fn's error as it is, and ctx's
// error if ctx is done (checked every few thousand lines).
func Lines(ctx context.Context, path string, maxLine int, fn func(no int64, line []byte) error) error {
	if maxLine <= 0 {
		maxLine = DefaultMaxLineBytes
	}
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	r := bufio.NewReaderSize(fh, 1<<20)
	var (
		long []byte
		no   int64
	)
	for {
		b, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, b...)
			if len(long) > maxLine {
				return &LineError{Path: path, Line: no + 1, Err: fmt.Errorf("%w: longer than %d bytes", ErrLineTooLong, maxLine)}
			}
			continue
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		line := b
		if long != nil {
			line = append(long, b...)
			long = nil
		}
		if len(line) > 0 || err == nil {
			no++
		}
		if len(trimSpace(line)) > maxLine {
			return &LineError{Path: path, Line: no, Err: fmt.Errorf("%w: longer than %d bytes", ErrLineTooLong, maxLine)}
		}
		if line = trimSpace(line); len(line) > 0 {
			if no%ctxEvery == 0 {
				if cerr := ctx.Err(); cerr != nil {
					return cerr
				}
			}
			if ferr := fn(no, line); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// BadLines is what a reader of JSON objects does with a line that is not
// one (not JSON, or JSON but not an object).
type BadLines int

const (
	// FailOnBadLine ends the read with a *LineError naming the line.
	FailOnBadLine BadLines = iota
	// SkipBadLines skips the line and counts it.
	SkipBadLines
)

// String returns the policy's name.
func (b BadLines) String() string {
	switch b {
	case FailOnBadLine:
		return "fail"
	case SkipBadLines:
		return "skip"
	}
	return fmt.Sprintf("BadLines(%d)", int(b))
}

// Options set how a JSONL file is read. The zero value fails on the
// first bad line and allows DefaultMaxLineBytes per line.
type Options struct {
	// MaxLineBytes bounds one line; zero means DefaultMaxLineBytes.
	MaxLineBytes int
	// BadLines says what a line that is not a JSON object does.
	BadLines BadLines
}

// Objects calls fn with each JSON object of the JSONL file path and its
// 1-based line number. o is valid only during the call (the parser is
// reused). A line that is not a JSON object is handled by opts.BadLines;
// skipped counts the lines skipped. Errors from fn are returned as they
// are; a failing line gives a *LineError.
func Objects(ctx context.Context, path string, opts Options, fn func(no int64, o *fastjson.Object) error) (skipped int64, err error) {
	var p fastjson.Parser
	err = Lines(ctx, path, opts.MaxLineBytes, func(no int64, line []byte) error {
		v, perr := p.ParseBytes(line)
		var bad error
		switch {
		case perr != nil:
			bad = fmt.Errorf("parsing JSON: %w", perr)
		case v.Type() != fastjson.TypeObject:
			bad = errors.New("the line is not a JSON object")
		}
		if bad != nil {
			if opts.BadLines == SkipBadLines {
				skipped++
				return nil
			}
			return &LineError{Path: path, Line: no, Err: bad}
		}
		o, _ := v.Object()
		return fn(no, o)
	})
	return skipped, err
}

// Count returns how many rows path holds: for JSONL the lines holding more
// than whitespace (whatever their length), for Parquet the rows its footer
// records, for Avro the rows its blocks' headers record (the rows
// themselves are skipped, not decoded).
func Count(ctx context.Context, path string) (int64, error) {
	format, err := FormatOf(path)
	if err != nil {
		return 0, err
	}
	return CountAs(ctx, path, format)
}

// CountAs is Count for a file read as format whatever its extension.
func CountAs(ctx context.Context, path string, format Format) (int64, error) {
	switch format {
	case Parquet:
		return parquetRows(path)
	case Avro:
		return avroRows(ctx, path)
	}
	return countLines(ctx, path)
}

// countLines returns how many lines of the JSONL file path hold more than
// whitespace, whatever their length.
func countLines(ctx context.Context, path string) (int64, error) {
	fh, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	r := bufio.NewReaderSize(fh, 1<<20)
	var n, lines int64
	empty := true
	for {
		b, err := r.ReadSlice('\n')
		if empty && !isBlank(b) {
			empty = false
		}
		if len(b) > 0 && b[len(b)-1] == '\n' || err == io.EOF {
			if !empty {
				n++
			}
			empty = true
			if lines++; lines%ctxEvery == 0 {
				if cerr := ctx.Err(); cerr != nil {
					return n, cerr
				}
			}
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
