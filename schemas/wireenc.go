package schemas

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// WireEncoder turns JSON events into Confluent-framed Avro or Protobuf
// values with one writer schema, so JSONL files can feed a binary topic
// (streamscore produce --format). It is not safe for concurrent use.
type WireEncoder struct {
	id    int
	avro  *anode
	proto protoreflect.MessageDescriptor
	idx   []int
}

// NewWireEncoder returns an encoder writing events with schema id, which
// src finds. For Protobuf, message names the message type (its full name,
// or "" for the schema's first message).
func NewWireEncoder(ctx context.Context, src SchemaSource, format Format, id int, message string) (*WireEncoder, error) {
	ws, err := src.Schema(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("finding schema %d: %w", id, err)
	}
	e := &WireEncoder{id: id}
	switch format {
	case FormatAvro:
		if ws.Type != SchemaTypeAvro {
			return nil, fmt.Errorf("schema %d is %s, not AVRO", id, ws.Type)
		}
		s, err := ParseAvro(ws.Text)
		if err != nil {
			return nil, fmt.Errorf("parsing schema %d: %w", id, err)
		}
		if e.avro, err = avroNode(s, 0); err != nil {
			return nil, fmt.Errorf("reading schema %d: %w", id, err)
		}
		if e.avro.t != aRecord {
			return nil, fmt.Errorf("schema %d is not a record", id)
		}
	case FormatProtobuf:
		if len(ws.Descriptors) == 0 {
			return nil, fmt.Errorf("schema %d has no FileDescriptorSet (give one in registry.files)", id)
		}
		fd, err := FileDescriptorSet(ws.Descriptors)
		if err != nil {
			return nil, err
		}
		e.idx = []int{0}
		if message != "" {
			if e.idx, err = messageIndexes(fd, message); err != nil {
				return nil, err
			}
		}
		if e.proto, err = MessageAt(fd, e.idx); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("format %q is not avro or protobuf", format)
	}
	return e, nil
}

// messageIndexes finds the message-index list of the message named full
// (or of the top-level message named so) in fd.
func messageIndexes(fd protoreflect.FileDescriptor, full string) ([]int, error) {
	var walk func(msgs protoreflect.MessageDescriptors, path []int) []int
	walk = func(msgs protoreflect.MessageDescriptors, path []int) []int {
		for i := range msgs.Len() {
			m := msgs.Get(i)
			p := append(append([]int(nil), path...), i)
			if string(m.FullName()) == full || string(m.Name()) == full {
				return p
			}
			if r := walk(m.Messages(), p); r != nil {
				return r
			}
		}
		return nil
	}
	if idx := walk(fd.Messages(), nil); idx != nil {
		return idx, nil
	}
	return nil, fmt.Errorf("no message %q in %s", full, fd.Path())
}

// Encode appends the framed encoding of the JSON event js to dst.
func (e *WireEncoder) Encode(dst, js []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return dst, fmt.Errorf("reading JSON event: %w", err)
	}
	dst = AppendFrame(dst, e.id)
	if e.avro != nil {
		return appendAvro(dst, e.avro, v, "")
	}
	dst = AppendMessageIndexes(dst, e.idx)
	m := dynamicpb.NewMessage(e.proto)
	fixTimestamps(e.proto, v)
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, m); err != nil {
		return dst, fmt.Errorf("encoding %s: %w", e.proto.FullName(), err)
	}
	// Deterministic writes the fields by number, as generated code and
	// the other languages' runtimes do (a dynamic message otherwise writes
	// them in map order, different per process).
	return proto.MarshalOptions{Deterministic: true}.MarshalAppend(dst, m)
}

// fixTimestamps rewrites epoch-millisecond numbers of Timestamp fields as
// RFC 3339, the form protojson reads.
func fixTimestamps(md protoreflect.MessageDescriptor, v map[string]any) {
	fields := md.Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		if f.Kind() != protoreflect.MessageKind || f.Message().FullName() != timestampName || f.IsList() {
			continue
		}
		for _, name := range []string{string(f.Name()), f.JSONName()} {
			if n, ok := v[name].(json.Number); ok {
				if ms, err := n.Int64(); err == nil {
					v[name] = time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
				}
			}
		}
	}
}

// appendAvro appends the Avro encoding of the JSON value v of type n.
func appendAvro(dst []byte, n *anode, v any, path string) ([]byte, error) {
	bad := func(want string) ([]byte, error) {
		return dst, fmt.Errorf("field %q: %v is not %s", strings.TrimPrefix(path, "."), v, want)
	}
	zz := func(x int64) []byte { return binary.AppendUvarint(dst, uint64(x<<1)^uint64(x>>63)) }
	switch n.t {
	case aNull:
		if v != nil {
			return bad("null")
		}
		return dst, nil
	case aBool:
		b, ok := v.(bool)
		if !ok {
			return bad("a boolean")
		}
		if b {
			return append(dst, 1), nil
		}
		return append(dst, 0), nil
	case aInt, aLong:
		var x int64
		switch v := v.(type) {
		case json.Number:
			var err error
			if x, err = v.Int64(); err != nil {
				return bad("an integer")
			}
		case string:
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil || n.unit == unitNone {
				return bad("an integer")
			}
			switch n.unit {
			case unitMicros:
				x = t.UnixMicro()
			case unitNanos:
				x = t.UnixNano()
			case unitDays:
				x = t.Unix() / 86400
			default:
				x = t.UnixMilli()
			}
		default:
			return bad("an integer")
		}
		if n.t == aInt && (x < math.MinInt32 || x > math.MaxInt32) {
			return bad("an int")
		}
		return zz(x), nil
	case aFloat, aDouble:
		num, ok := v.(json.Number)
		if !ok {
			return bad("a number")
		}
		f, err := strconv.ParseFloat(string(num), 64)
		if err != nil {
			return bad("a number")
		}
		if n.t == aFloat {
			return binary.LittleEndian.AppendUint32(dst, math.Float32bits(float32(f))), nil
		}
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f)), nil
	case aString:
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case json.Number:
			s = string(v)
		default:
			return bad("a string")
		}
		return append(zz(int64(len(s))), s...), nil
	case aBytes, aFixed:
		var b []byte
		if n.decimal {
			num, ok := v.(json.Number)
			if !ok {
				return bad("a decimal number")
			}
			r, ok := new(big.Rat).SetString(string(num))
			if !ok {
				return bad("a decimal number")
			}
			r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n.scale)), nil)))
			u := new(big.Int).Quo(r.Num(), r.Denom())
			b = twosComplement(u, n.size)
		} else {
			s, ok := v.(string)
			if !ok {
				return bad("a string of bytes")
			}
			b = []byte(s)
		}
		if n.t == aFixed {
			if len(b) != n.size {
				return bad(strconv.Itoa(n.size) + " bytes")
			}
			return append(dst, b...), nil
		}
		return append(zz(int64(len(b))), b...), nil
	case aEnum:
		s, _ := v.(string)
		for i, sym := range n.symbols {
			if sym == s {
				return zz(int64(i)), nil
			}
		}
		return bad("one of " + strings.Join(n.symbols, ", "))
	case aUnion:
		var errs []error
		for i, b := range n.branches {
			out, err := appendAvro(zz(int64(i)), b, v, path)
			if err == nil {
				return out, nil
			}
			errs = append(errs, err)
		}
		return dst, errors.Join(errs...)
	case aArray:
		items, ok := v.([]any)
		if !ok {
			return bad("an array")
		}
		if len(items) > 0 {
			dst = zz(int64(len(items)))
			for i, it := range items {
				var err error
				if dst, err = appendAvro(dst, n.items, it, path+"["+strconv.Itoa(i)+"]"); err != nil {
					return dst, err
				}
			}
		}
		return append(dst, 0), nil
	case aMap:
		m, ok := v.(map[string]any)
		if !ok {
			return bad("an object")
		}
		if len(m) > 0 {
			dst = zz(int64(len(m)))
			for k, it := range m {
				dst = append(zz(int64(len(k))), k...)
				var err error
				if dst, err = appendAvro(dst, n.items, it, path+"."+k); err != nil {
					return dst, err
				}
			}
		}
		return append(dst, 0), nil
	case aRecord:
		m, ok := v.(map[string]any)
		if !ok {
			return bad("an object")
		}
		for i, f := range n.fields {
			fv, ok := m[n.names[i]]
			if !ok {
				if !n.hasDef[i] {
					if !avroNullable(f) {
						return dst, fmt.Errorf("field %q: missing, and the schema gives no default", strings.TrimPrefix(path+"."+n.names[i], "."))
					}
				} else {
					fv = jsonDefault(n.defaults[i])
				}
			}
			var err error
			if dst, err = appendAvro(dst, f, fv, path+"."+n.names[i]); err != nil {
				return dst, err
			}
		}
		return dst, nil
	}
	return dst, fmt.Errorf("field %q: unsupported type", path)
}

func avroNullable(n *anode) bool {
	if n.t == aNull {
		return true
	}
	for _, b := range n.branches {
		if b.t == aNull {
			return true
		}
	}
	return false
}

// jsonDefault converts a schema default as hamba parsed it to the JSON
// value appendAvro takes.
func jsonDefault(v any) any {
	switch v := v.(type) {
	case float64:
		return json.Number(strconv.FormatFloat(v, 'g', -1, 64))
	case float32:
		return json.Number(strconv.FormatFloat(float64(v), 'g', -1, 32))
	case int:
		return json.Number(strconv.Itoa(v))
	case int32:
		return json.Number(strconv.Itoa(int(v)))
	case int64:
		return json.Number(strconv.FormatInt(v, 10))
	}
	return v
}

// twosComplement returns u as big-endian two's complement, size bytes
// long when size > 0, else as short as it goes.
func twosComplement(u *big.Int, size int) []byte {
	n := size
	if n == 0 {
		n = (u.BitLen()+8)/8 + 0
	}
	out := make([]byte, n)
	if u.Sign() >= 0 {
		u.FillBytes(out)
		return out
	}
	// -x as 2^(8n) - x.
	m := new(big.Int).Lsh(big.NewInt(1), uint(8*n))
	m.Add(m, u)
	m.FillBytes(out)
	return out
}
