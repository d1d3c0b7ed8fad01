package producers

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

func TestEncodeTxnBatchCarriesProducerFields(t *testing.T) {
	for _, codec := range []kafka.Compression{0, kafka.Snappy, kafka.Zstd} {
		t.Run(codec.String(), func(t *testing.T) {
			recs := []protocol.Record{
				{Time: time.UnixMilli(1000), Key: protocol.NewBytes([]byte("k1")), Value: protocol.NewBytes([]byte("v1"))},
				{Time: time.UnixMilli(1001), Key: protocol.NewBytes([]byte("k2")), Value: protocol.NewBytes([]byte("v2")), Headers: []protocol.Header{{Key: "h", Value: []byte("x")}}},
			}
			raw, err := encodeTxnBatch(recs, codec, 4242, 7, 99)
			if err != nil {
				t.Fatal(err)
			}
			if got := binary.BigEndian.Uint32(raw[crcAt:]); got != crc32.Checksum(raw[crcFrom:], castagnoli) {
				t.Fatal("CRC-32C does not cover the patched batch")
			}
			var rs protocol.RecordSet
			if _, err := rs.ReadFrom(bytes.NewReader(raw)); err != nil {
				t.Fatalf("decoding: %v", err)
			}
			stream, ok := rs.Records.(*protocol.RecordStream)
			if !ok || len(stream.Records) != 1 {
				t.Fatalf("decoded %T, want one batch", rs.Records)
			}
			b, ok := stream.Records[0].(*protocol.RecordBatch)
			if !ok {
				t.Fatalf("decoded %T, want a record batch", stream.Records[0])
			}
			if b.ProducerID != 4242 || b.ProducerEpoch != 7 || b.BaseSequence != 99 || !b.Attributes.Transactional() || b.Attributes.Compression() != protocol.Attributes(codec).Compression() {
				t.Fatalf("producer %d epoch %d sequence %d attributes %s", b.ProducerID, b.ProducerEpoch, b.BaseSequence, b.Attributes)
			}
			var vals []string
			for {
				r, err := b.ReadRecord()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				v, _ := protocol.ReadAll(r.Value)
				vals = append(vals, string(v))
			}
			if len(vals) != 2 || vals[0] != "v1" || vals[1] != "v2" {
				t.Fatalf("records %q", vals)
			}
		})
	}
}
