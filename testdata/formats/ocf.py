"""Write JSONL events as an Avro Object Container File with fastavro, for
streamscore's Avro file tests (pipeline/replay/avro_integration_test.go).

    ocf.py SCHEMA.avsc CODEC OUT.avro < events.jsonl

CODEC is one of fastavro's codecs (null, deflate; snappy needs cramjam).
Fields the schema lacks are left out; a field the event lacks is written as
the schema's default (null for the optional features). Blocks are cut
every 16000 bytes, fastavro's default, so a file holds many blocks.
"""

import json
import sys

import fastavro


def main():
    path, codec, out = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(path) as f:
        raw = json.load(f)
    fields = {f["name"]: f for f in raw["fields"]}
    schema = fastavro.parse_schema(raw)

    def rows():
        for line in sys.stdin:
            if not line.strip():
                continue
            ev = json.loads(line)
            rec = {k: v for k, v in ev.items() if k in fields}
            for name, f in fields.items():
                if name not in rec and "default" in f:
                    rec[name] = f["default"]
            yield rec

    with open(out, "wb") as w:
        fastavro.writer(w, schema, rows(), codec=codec)


if __name__ == "__main__":
    main()
