"""Encode JSONL events as Avro (fastavro) or Protobuf (protobuf) values in the
Confluent wire format, for streamscore's formats integration test.

    encode.py avro SCHEMA.avsc ID < events.jsonl > frames
    encode.py protobuf SCHEMA.desc ID MESSAGE < events.jsonl > frames

Each output frame is a 4-byte big-endian length, then the value: magic byte 0,
the 4-byte schema id, for Protobuf the message-index list ([0] as the single
byte 0), then the encoded event. Fields the schema lacks are left out.
"""

import decimal
import io
import json
import struct
import sys


def avro_encoder(path):
    import fastavro

    with open(path) as f:
        raw = json.load(f)
    decimals = {f["name"] for f in raw["fields"] if isinstance(f["type"], dict) and f["type"].get("logicalType") == "decimal"}
    schema = fastavro.parse_schema(raw)
    names = {f["name"] for f in raw["fields"]}

    def encode(ev):
        rec = {k: v for k, v in ev.items() if k in names}
        for k in decimals & rec.keys():
            rec[k] = decimal.Decimal(str(rec[k]))
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, schema, rec)
        return buf.getvalue()

    return encode, b""


def protobuf_encoder(path, message):
    from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

    with open(path, "rb") as f:
        fds = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    cls = message_factory.GetMessageClass(pool.FindMessageTypeByName(message))
    ts_fields = {f.name for f in cls.DESCRIPTOR.fields if f.message_type and f.message_type.full_name == "google.protobuf.Timestamp"}

    def encode(ev):
        ev = dict(ev)
        for name in ts_fields:
            if isinstance(ev.get(name), int):
                ms = ev[name]
                m = cls()
                getattr(m, name).FromMilliseconds(ms)
                ev[name] = json_format.MessageToDict(m)[name]
        m = json_format.ParseDict(ev, cls(), ignore_unknown_fields=True)
        return m.SerializeToString()

    return encode, b"\x00"


def main():
    fmt, path, sid = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if fmt == "avro":
        encode, indexes = avro_encoder(path)
    else:
        encode, indexes = protobuf_encoder(path, sys.argv[4])
    header = b"\x00" + struct.pack(">I", sid) + indexes
    out = sys.stdout.buffer
    for line in sys.stdin:
        if not line.strip():
            continue
        value = header + encode(json.loads(line))
        out.write(struct.pack(">I", len(value)) + value)
    out.flush()


if __name__ == "__main__":
    main()
