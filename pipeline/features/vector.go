package features

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Magic starts every stored feature vector.
const Magic = "SSFV"

// HeaderSize is the size in bytes of a feature vector's header.
const HeaderSize = 16

// ErrMalformed says a stored value is not a feature vector.
var ErrMalformed = errors.New("not a streamscore feature vector")

// Vector is a decoded feature vector.
type Vector struct {
	// Version is the feature-set version it was written for.
	Version uint16
	// Written is the write time, millisecond precision.
	Written time.Time
	// Values are the features in schema order.
	Values []float32
}

// AppendVector appends the encoded vector (see the package doc) to dst.
func AppendVector(dst []byte, version uint16, written time.Time, values []float32) []byte {
	var h [HeaderSize]byte
	copy(h[:4], Magic)
	binary.LittleEndian.PutUint16(h[4:], version)
	binary.LittleEndian.PutUint16(h[6:], uint16(len(values)))
	binary.LittleEndian.PutUint64(h[8:], uint64(written.UnixMilli()))
	dst = append(dst, h[:]...)
	for _, v := range values {
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
	}
	return dst
}

// vectorHeader reads the header of b, checking the magic and that the
// length matches the count.
func vectorHeader(b []byte) (version uint16, count int, writtenMs int64, ok bool) {
	if len(b) < HeaderSize || string(b[:4]) != Magic {
		return 0, 0, 0, false
	}
	version = binary.LittleEndian.Uint16(b[4:])
	count = int(binary.LittleEndian.Uint16(b[6:]))
	writtenMs = int64(binary.LittleEndian.Uint64(b[8:]))
	if len(b) != HeaderSize+4*count {
		return 0, 0, 0, false
	}
	return version, count, writtenMs, true
}

// decodeValues writes the count values of a checked vector b into dst.
func decodeValues(dst []float32, b []byte) {
	b = b[HeaderSize:]
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
}

// DecodeVector decodes a stored feature vector. It returns an error wrapping
// ErrMalformed when b is not one.
func DecodeVector(b []byte) (Vector, error) {
	version, count, ms, ok := vectorHeader(b)
	if !ok {
		return Vector{}, fmt.Errorf("decoding vector of %d bytes: %w", len(b), ErrMalformed)
	}
	v := Vector{Version: version, Written: time.UnixMilli(ms), Values: make([]float32, count)}
	decodeValues(v.Values, b)
	return v, nil
}
