package rowfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// DefaultBatchRows is how many rows one Parquet record holds when a caller
// sets no size.
const DefaultBatchRows = 4096

func parquetRows(path string) (int64, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return 0, fmt.Errorf("opening %s: %w", path, err)
	}
	defer pf.Close()
	return pf.NumRows(), nil
}

// Records reads the Parquet or Avro file path (Avro when its extension is
// .avro) and calls fn with each record of up to batch rows (zero or less:
// DefaultBatchRows). An Avro file's columns are its writer schema's
// top-level fields: Avro primitives as their Arrow peers, timestamps and
// dates as timestamps, decimals as float64, enums as strings, fixed as
// binary, arrays as lists, maps as maps, records as structs, a union of
// null and one type as that type (nullable); a union of several other
// types is an error when the file is opened. A corrupt or truncated Avro
// file ends the read with an error wrapping ErrCorrupt that names the
// block and row, after the rows before it were handed to fn. columns names the
// top-level columns to read; nil reads them all, and a name the file lacks
// is left out (fn finds the record's columns by name). rec is valid only
// during the call. Records checks ctx between records and returns fn's
// error as it is.
func Records(ctx context.Context, path string, columns []string, batch int, fn func(rec arrow.Record) error) error {
	if batch <= 0 {
		batch = DefaultBatchRows
	}
	if f, _ := FormatOf(path); f == Avro {
		return avroRecords(ctx, path, columns, batch, fn)
	}
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(batch)}, memory.NewGoAllocator())
	if err != nil {
		return fmt.Errorf("reading Parquet schema of %s: %w", path, err)
	}
	var leaves []int
	if columns != nil {
		sch, err := fr.Schema()
		if err != nil {
			return fmt.Errorf("reading Parquet schema of %s: %w", path, err)
		}
		for _, name := range columns {
			idx := sch.FieldIndices(name)
			if len(idx) == 0 {
				continue
			}
			leaf, err := leafIndices(fr, idx[0])
			if err != nil {
				return fmt.Errorf("reading Parquet column %q of %s: %w", name, path, err)
			}
			for _, l := range leaf {
				if !slices.Contains(leaves, l) {
					leaves = append(leaves, l)
				}
			}
		}
	}
	rr, err := fr.GetRecordReader(ctx, leaves, nil)
	if err != nil {
		return fmt.Errorf("reading Parquet rows of %s: %w", path, err)
	}
	defer rr.Release()
	for rr.Next() {
		if err := fn(rr.Record()); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading Parquet rows of %s: %w", path, err)
	}
	return nil
}

// leafIndices returns the Parquet leaf columns of top-level field i.
func leafIndices(fr *pqarrow.FileReader, i int) ([]int, error) {
	mf := fr.Manifest
	if i >= len(mf.Fields) {
		return nil, errors.New("no such field")
	}
	var out []int
	var walk func(f pqarrow.SchemaField)
	walk = func(f pqarrow.SchemaField) {
		if f.ColIndex >= 0 && len(f.Children) == 0 {
			out = append(out, f.ColIndex)
		}
		for _, c := range f.Children {
			walk(c)
		}
	}
	walk(mf.Fields[i])
	if len(out) == 0 {
		return nil, errors.New("has no leaf columns")
	}
	return out, nil
}
