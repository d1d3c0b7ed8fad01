package model

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/streamscore/streamscore/schemas"
)

// smokeBatch decodes rows synthetic events of a Typed spec, so that a smoke
// batch or a probe reaches the model through the same columns as live
// events: numbers drawn from a fixed-seed normal distribution (rounded for
// integer types), bools alternating, arrays filled likewise, and strings
// set to the feature's default_string, else the empty string. A model that
// refuses categories it was not trained on (skl2onnx's OneHotEncoder
// without handle_unknown="ignore") fails here with ONNX Runtime's message,
// as it would on live data. The caller releases the returned batch.
func smokeBatch(spec *schemas.Spec, rows int) (*schemas.Decoded, error) {
	rng := rand.New(rand.NewPCG(1, uint64(rows)))
	num := func(t schemas.FieldType, buf []byte) []byte {
		x := rng.NormFloat64()
		switch t {
		case schemas.TypeInt32, schemas.TypeInt64:
			return strconv.AppendInt(buf, int64(x*3), 10)
		case schemas.TypeBool:
			return strconv.AppendBool(buf, x > 0)
		}
		return strconv.AppendFloat(buf, x, 'g', 6, 32)
	}
	msgs := make([]schemas.Message, rows)
	for r := range rows {
		b := []byte{'{'}
		b = schemas.AppendString(b, spec.ID)
		b = append(b, ':')
		b = schemas.AppendString(b, "smoke-"+strconv.Itoa(r))
		seen := map[string]bool{spec.ID: true}
		field := func(name string) bool {
			if seen[name] {
				return false
			}
			seen[name] = true
			b = append(b, ',')
			b = schemas.AppendString(b, name)
			b = append(b, ':')
			return true
		}
		if spec.Key != "" && field(spec.Key) {
			b = schemas.AppendString(b, "smoke")
		}
		for i := range spec.Features {
			f := &spec.Features[i]
			if !field(f.Name) {
				continue
			}
			switch {
			case f.Type == schemas.TypeString:
				s := ""
				if f.DefaultString != nil {
					s = *f.DefaultString
				}
				b = schemas.AppendString(b, s)
			case f.Length > 0:
				b = append(b, '[')
				for k := range f.Length {
					if k > 0 {
						b = append(b, ',')
					}
					b = num(f.Type, b)
				}
				b = append(b, ']')
			default:
				b = num(f.Type, b)
			}
		}
		for _, fs := range spec.FeatureSets {
			for _, k := range fs.KeyFields() {
				if field(k) {
					b = schemas.AppendString(b, "smoke")
				}
			}
		}
		b = append(b, '}')
		msgs[r] = schemas.Message{Value: b, Offset: int64(r), Time: time.UnixMilli(0)}
	}
	d := schemas.NewDecoder(spec, memory.DefaultAllocator).Decode(msgs)
	if len(d.Errors) > 0 {
		d.Release()
		e := d.Errors[0]
		return nil, fmt.Errorf("building a smoke batch for schema %s: event %d does not decode: %v", spec, e.Index, e.Error())
	}
	return d, nil
}

// scoreSmoke scores rows synthetic events (see smokeBatch) with a model
// bound to typed inputs.
func (m *Model) scoreSmoke(ctx context.Context, rows int) ([]Output, error) {
	spec := m.spec
	if spec == nil {
		return nil, fmt.Errorf("model %s is not bound to a schema with typed inputs", m.cfg.Path)
	}
	d, err := smokeBatch(spec, rows)
	if err != nil {
		return nil, err
	}
	defer d.Release()
	return m.ScoreBatch(ctx, schemas.ScoreInput{
		Features: d.Features(), Rows: rows, Cols: spec.Columns(), Keys: make([]string, rows), Columns: d.Record,
	})
}

// SmokeBatch decodes rows synthetic events of a Typed spec, as the smoke
// batch and the canary probe do (see smokeBatch), for a caller that probes
// a scorer's outputs through the schema's typed columns. The caller
// releases the returned batch.
func SmokeBatch(spec *schemas.Spec, rows int) (*schemas.Decoded, error) {
	return smokeBatch(spec, rows)
}
