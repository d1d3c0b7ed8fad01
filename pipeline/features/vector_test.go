package features

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"time"
)

func TestVectorRoundTrip(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_123)
	vals := []float32{1.5, -2, 0, math.MaxFloat32}
	b := AppendVector([]byte("prefix"), 7, at, vals)[len("prefix"):]
	if len(b) != HeaderSize+4*len(vals) {
		t.Fatalf("encoded %d bytes, want %d", len(b), HeaderSize+4*len(vals))
	}
	// The documented layout, byte by byte.
	want := []byte("SSFV")
	want = binary.LittleEndian.AppendUint16(want, 7)
	want = binary.LittleEndian.AppendUint16(want, 4)
	want = binary.LittleEndian.AppendUint64(want, uint64(at.UnixMilli()))
	for _, v := range vals {
		want = binary.LittleEndian.AppendUint32(want, math.Float32bits(v))
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("encoding = %x, want %x", b, want)
	}
	v, err := DecodeVector(b)
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != 7 || !v.Written.Equal(at) || len(v.Values) != 4 || v.Values[0] != 1.5 || v.Values[3] != math.MaxFloat32 {
		t.Fatalf("decoded %+v", v)
	}
}

func TestDecodeVectorRejects(t *testing.T) {
	good := AppendVector(nil, 1, time.Now(), []float32{1, 2})
	cases := map[string][]byte{
		"empty":       nil,
		"short":       good[:10],
		"bad magic":   append([]byte("XXXX"), good[4:]...),
		"truncated":   good[:len(good)-1],
		"extra bytes": append(append([]byte{}, good...), 0),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeVector(b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeVector = %v, want ErrMalformed", err)
			}
		})
	}
}
