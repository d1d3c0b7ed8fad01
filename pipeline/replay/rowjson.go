package replay

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/streamscore/streamscore/schemas"
)

// rowEncoder writes one row of an Arrow record (read from Parquet) as a JSON
// object, one field per column, so it goes through the same decoder as a
// live event. Numbers keep their exact value: float32 columns print the
// shortest text that reads back as the same float32. NaN and ±Inf print as
// NaN, Infinity and -Infinity, which the decoder treats by the schema's
// non_finite policy as it does in live events. Timestamps become epoch
// milliseconds. Other types go through their Arrow JSON form.
type rowEncoder struct {
	names [][]byte // `"name":` per column
}

func newRowEncoder(s *arrow.Schema) (*rowEncoder, error) {
	e := &rowEncoder{}
	seen := map[string]bool{}
	for i, f := range s.Fields() {
		if seen[f.Name] {
			return nil, fmt.Errorf("reading Parquet schema: column %q appears twice", f.Name)
		}
		seen[f.Name] = true
		var b []byte
		if i > 0 {
			b = append(b, ',')
		}
		b = schemas.AppendString(b, f.Name)
		b = append(b, ':')
		e.names = append(e.names, b)
	}
	return e, nil
}

func (e *rowEncoder) append(dst []byte, rec arrow.Record, row int) []byte {
	dst = append(dst, '{')
	for c, name := range e.names {
		dst = append(dst, name...)
		dst = appendValue(dst, rec.Column(c), row)
	}
	return append(dst, '}')
}

func appendFloat(dst []byte, v float64, bits int) []byte {
	switch {
	case math.IsNaN(v):
		return append(dst, "NaN"...)
	case math.IsInf(v, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(v, -1):
		return append(dst, "-Infinity"...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, bits)
}

func appendValue(dst []byte, col arrow.Array, row int) []byte {
	if col.IsNull(row) {
		return append(dst, "null"...)
	}
	switch a := col.(type) {
	case *array.Float32:
		return appendFloat(dst, float64(a.Value(row)), 32)
	case *array.Float64:
		return appendFloat(dst, a.Value(row), 64)
	case *array.Int8:
		return strconv.AppendInt(dst, int64(a.Value(row)), 10)
	case *array.Int16:
		return strconv.AppendInt(dst, int64(a.Value(row)), 10)
	case *array.Int32:
		return strconv.AppendInt(dst, int64(a.Value(row)), 10)
	case *array.Int64:
		return strconv.AppendInt(dst, a.Value(row), 10)
	case *array.Uint8:
		return strconv.AppendUint(dst, uint64(a.Value(row)), 10)
	case *array.Uint16:
		return strconv.AppendUint(dst, uint64(a.Value(row)), 10)
	case *array.Uint32:
		return strconv.AppendUint(dst, uint64(a.Value(row)), 10)
	case *array.Uint64:
		return strconv.AppendUint(dst, a.Value(row), 10)
	case *array.Boolean:
		return strconv.AppendBool(dst, a.Value(row))
	case *array.String:
		return schemas.AppendString(dst, a.Value(row))
	case *array.LargeString:
		return schemas.AppendString(dst, a.Value(row))
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return strconv.AppendInt(dst, a.Value(row).ToTime(unit).UnixMilli(), 10)
	case *array.Dictionary:
		return appendValue(dst, a.Dictionary(), a.GetValueIndex(row))
	}
	b, err := json.Marshal(col.GetOneForMarshal(row))
	if err != nil {
		return append(dst, "null"...)
	}
	return append(dst, b...)
}
