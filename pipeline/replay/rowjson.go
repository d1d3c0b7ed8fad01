package replay

import (
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/streamscore/streamscore/pipeline/rowfile"
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
		dst = rowfile.ValueAt(rec.Column(c), row).AppendJSON(dst)
	}
	return append(dst, '}')
}
