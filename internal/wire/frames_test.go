package wire

import (
	"bytes"
	"strings"
	"testing"
)

func TestFramesRoundTrip(t *testing.T) {
	values := [][]byte{[]byte("a"), {}, bytes.Repeat([]byte{0, 1, 2}, 1000)}
	var stream []byte
	for _, v := range values {
		stream = AppendFrame(stream, v)
	}
	var got [][]byte
	if err := ReadFrames(bytes.NewReader(stream), func(v []byte) error {
		got = append(got, bytes.Clone(v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(values) {
		t.Fatalf("read %d frames, want %d", len(got), len(values))
	}
	for i := range values {
		if !bytes.Equal(got[i], values[i]) {
			t.Errorf("frame %d: %q, want %q", i, got[i], values[i])
		}
	}
}

func TestFramesCutShort(t *testing.T) {
	stream := AppendFrame(AppendFrame(nil, []byte("hello")), []byte("world"))
	for cut, want := range map[int]string{
		len(stream) - 1: "frame 2: 5-byte value cut short",
		11:              "frame 2: the 4-byte length is cut short",
	} {
		err := ReadFrames(bytes.NewReader(stream[:cut]), func([]byte) error { return nil })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("cut at %d: %v, want %q", cut, err, want)
		}
	}
	err := ReadFrames(strings.NewReader(`{"event_id":1}`+"\n"), func([]byte) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "is this gen --format output?") {
		t.Errorf("JSONL read as frames: %v, want an error that says what the input should be", err)
	}
}
