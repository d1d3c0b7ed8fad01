package rowfile

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/streamscore/streamscore/schemas"
)

// Kind is the kind of an Arrow value as streamscore reads it.
type Kind uint8

// Kinds of values.
const (
	// Null is a null value.
	Null Kind = iota
	// Float is a float32 or float64 (Value.Float, Value.Bits).
	Float
	// Int is a signed integer of any width (Value.Int).
	Int
	// Uint is an unsigned integer of any width (Value.Uint).
	Uint
	// Bool is a boolean (Value.Bool).
	Bool
	// String is a string or large string (Value.Str).
	String
	// Bytes is a binary value (Value.Str holds its bytes).
	Bytes
	// Time is a timestamp, as epoch milliseconds (Value.Int).
	Time
	// Other is any other type; only AppendJSON and AppendText read it.
	Other
)

// Value is one Arrow value, tagged by kind. Value.Str of a string column
// may share the column's memory: it is valid while the record is.
type Value struct {
	Kind  Kind
	Float float64
	Bits  int // 32 or 64 for Float
	Int   int64
	Uint  uint64
	Bool  bool
	Str   string

	other arrow.Array // Other: the column
	row   int
}

// ValueAt returns row i of col. A dictionary column gives its value, not
// its index. This is the one place that switches over Arrow array types.
func ValueAt(col arrow.Array, i int) Value {
	if col.IsNull(i) {
		return Value{}
	}
	switch a := col.(type) {
	case *array.Float32:
		return Value{Kind: Float, Float: float64(a.Value(i)), Bits: 32}
	case *array.Float64:
		return Value{Kind: Float, Float: a.Value(i), Bits: 64}
	case *array.Int8:
		return Value{Kind: Int, Int: int64(a.Value(i))}
	case *array.Int16:
		return Value{Kind: Int, Int: int64(a.Value(i))}
	case *array.Int32:
		return Value{Kind: Int, Int: int64(a.Value(i))}
	case *array.Int64:
		return Value{Kind: Int, Int: a.Value(i)}
	case *array.Uint8:
		return Value{Kind: Uint, Uint: uint64(a.Value(i))}
	case *array.Uint16:
		return Value{Kind: Uint, Uint: uint64(a.Value(i))}
	case *array.Uint32:
		return Value{Kind: Uint, Uint: uint64(a.Value(i))}
	case *array.Uint64:
		return Value{Kind: Uint, Uint: a.Value(i)}
	case *array.Boolean:
		return Value{Kind: Bool, Bool: a.Value(i)}
	case *array.String:
		return Value{Kind: String, Str: a.Value(i)}
	case *array.LargeString:
		return Value{Kind: String, Str: a.Value(i)}
	case *array.Binary:
		return Value{Kind: Bytes, Str: string(a.Value(i))}
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return Value{Kind: Time, Int: a.Value(i).ToTime(unit).UnixMilli()}
	case *array.Dictionary:
		return ValueAt(a.Dictionary(), a.GetValueIndex(i))
	}
	return Value{Kind: Other, other: col, row: i}
}

// Number returns a number or a boolean (1 or 0) as a float64; ok is false
// for null, strings, timestamps and other kinds.
func (v Value) Number() (x float64, ok bool) {
	switch v.Kind {
	case Float:
		return v.Float, true
	case Int:
		return float64(v.Int), true
	case Uint:
		return float64(v.Uint), true
	case Bool:
		if v.Bool {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// AppendText appends the value's text as an event field would carry it:
// numbers in their shortest exact form (a float32 as float32), integers in
// decimal, booleans as true or false, strings as they are, timestamps as
// epoch milliseconds, null as nothing, other kinds as their JSON.
func (v Value) AppendText(dst []byte) []byte {
	switch v.Kind {
	case Null:
		return dst
	case String, Bytes:
		return append(dst, v.Str...)
	}
	return v.AppendJSON(dst)
}

// AppendJSON appends the value as a JSON value: NaN and ±Inf as NaN,
// Infinity and -Infinity (which the event decoder reads by the schema's
// non_finite policy), strings quoted, timestamps as epoch milliseconds,
// null as null, and binary and other kinds through their Arrow JSON form
// (binary as base64).
func (v Value) AppendJSON(dst []byte) []byte {
	switch v.Kind {
	case Null:
		return append(dst, "null"...)
	case Float:
		switch {
		case math.IsNaN(v.Float):
			return append(dst, "NaN"...)
		case math.IsInf(v.Float, 1):
			return append(dst, "Infinity"...)
		case math.IsInf(v.Float, -1):
			return append(dst, "-Infinity"...)
		}
		return strconv.AppendFloat(dst, v.Float, 'g', -1, v.Bits)
	case Int, Time:
		return strconv.AppendInt(dst, v.Int, 10)
	case Uint:
		return strconv.AppendUint(dst, v.Uint, 10)
	case Bool:
		return strconv.AppendBool(dst, v.Bool)
	case String:
		return schemas.AppendString(dst, v.Str)
	case Bytes:
		b, _ := json.Marshal([]byte(v.Str))
		return append(dst, b...)
	}
	b, err := json.Marshal(v.other.GetOneForMarshal(v.row))
	if err != nil {
		return append(dst, "null"...)
	}
	return append(dst, b...)
}

// Numeric reports whether a column of type dt holds numbers or booleans
// (or only nulls), whose values Number reads.
func Numeric(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.FLOAT32, arrow.FLOAT64, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64, arrow.BOOL, arrow.NULL:
		return true
	}
	return false
}
