package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxFrame is the largest value ReadFrames accepts: a longer length prefix
// means the input is not a stream of frames (or is corrupt).
const MaxFrame = 64 << 20

// AppendFrame appends v to dst preceded by its length as a 4-byte
// big-endian integer: the framing `streamscore gen --format avro|protobuf`
// writes and `produce --framed` reads, since binary values cannot be
// separated by newlines.
func AppendFrame(dst, v []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(v)))
	return append(dst, v...)
}

// ReadFrames calls fn with each length-prefixed value of r, in order, until
// r ends. The slice passed to fn is reused for the next value. A length
// over MaxFrame or a value cut short is an error naming the frame.
func ReadFrames(r io.Reader, fn func(v []byte) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var size [4]byte
	var buf []byte
	for n := 1; ; n++ {
		if _, err := io.ReadFull(br, size[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("frame %d: the 4-byte length is cut short", n)
		}
		l := binary.BigEndian.Uint32(size[:])
		if l > MaxFrame {
			return fmt.Errorf("frame %d: length %d is over %d bytes: is this gen --format output?", n, l, MaxFrame)
		}
		if cap(buf) < int(l) {
			buf = make([]byte, l)
		}
		buf = buf[:l]
		if _, err := io.ReadFull(br, buf); err != nil {
			return fmt.Errorf("frame %d: %d-byte value cut short", n, l)
		}
		if err := fn(buf); err != nil {
			return err
		}
	}
}
