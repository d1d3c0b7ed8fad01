package schemas

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// The Confluent wire format frames a binary event as magic byte 0, the
// writer schema's id as a 4-byte big-endian integer, then (Protobuf only)
// the message-index list, then the encoded event.
const (
	WireMagic      = 0
	WireHeaderSize = 5
)

// ReasonUnknownSchema marks an event whose schema id no registry or local
// file knows (or, under the dead_letter policy, that could not be asked).
const ReasonUnknownSchema Reason = "unknown_schema"

// ReasonMalformed marks a binary event that is not in the format it claims:
// a wrong magic byte, a truncated frame or record, a bad varint, trailing
// bytes. It is the binary formats' invalid_json.
const ReasonMalformed Reason = "malformed"

// ParseFrame splits a Confluent-framed value into the schema id and the
// rest (for Protobuf, the message indexes followed by the message).
func ParseFrame(v []byte) (id int, body []byte, err error) {
	if len(v) < WireHeaderSize {
		return 0, nil, errors.New("record of " + strconv.Itoa(len(v)) + " bytes is shorter than the 5-byte wire header")
	}
	if v[0] != WireMagic {
		return 0, nil, errors.New("magic byte is " + strconv.Itoa(int(v[0])) + ", not 0 (not the Confluent wire format)")
	}
	return int(binary.BigEndian.Uint32(v[1:5])), v[5:], nil
}

// AppendFrame appends the 5-byte header for schema id to dst.
func AppendFrame(dst []byte, id int) []byte {
	return binary.BigEndian.AppendUint32(append(dst, WireMagic), uint32(id))
}

// maxMessageIndexes bounds the message-index list (nesting depth).
const maxMessageIndexes = 64

// ParseMessageIndexes reads the Protobuf message-index list at the start of
// b: a zigzag varint count, then that many zigzag varint indexes; a count of
// 0 means [0], the schema's first message. It appends the indexes to dst
// and returns the rest of b.
func ParseMessageIndexes(dst []int, b []byte) ([]int, []byte, error) {
	n, k := binary.Varint(b)
	if k <= 0 {
		return dst, nil, errors.New("truncated message-index list")
	}
	b = b[k:]
	if n == 0 {
		return append(dst, 0), b, nil
	}
	if n < 0 || n > maxMessageIndexes {
		return dst, nil, errors.New("message-index count " + strconv.FormatInt(n, 10) + " is out of range")
	}
	for range n {
		x, k := binary.Varint(b)
		if k <= 0 {
			return dst, nil, errors.New("truncated message-index list")
		}
		if x < 0 || x > 1<<20 {
			return dst, nil, errors.New("message index " + strconv.FormatInt(x, 10) + " is out of range")
		}
		dst = append(dst, int(x))
		b = b[k:]
	}
	return dst, b, nil
}

// AppendMessageIndexes appends the message-index list of idx to dst, [0]
// written as the single byte 0, as Confluent serializers do.
func AppendMessageIndexes(dst []byte, idx []int) []byte {
	if len(idx) == 1 && idx[0] == 0 {
		return append(dst, 0)
	}
	dst = binary.AppendVarint(dst, int64(len(idx)))
	for _, i := range idx {
		dst = binary.AppendVarint(dst, int64(i))
	}
	return dst
}
