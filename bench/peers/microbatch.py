"""The micro-batched Python pipeline users write instead of streamscore:
confluent-kafka consume() of up to --batch events, orjson to decode, one
numpy array and ONE onnxruntime run per batch, orjson to encode, produce,
flush (acks from all in-sync replicas), then commit: at-least-once, like
streamscore. Runs until SIGINT or SIGTERM."""

import numpy as np
import orjson

import common


def main():
    args = common.parse_args(__doc__)
    sess, inp, out = common.session(args.model, args.threads)
    consumer, producer = common.clients(args, auto_commit=False)
    stop = common.Stop()
    while not stop.stopped:
        msgs = consumer.consume(num_messages=args.batch, timeout=args.max_wait)
        if not msgs:
            continue
        good, events, rows = [], [], []
        for m in msgs:
            if m.error():
                continue
            try:
                e = orjson.loads(m.value())
                rows.append(common.features(e))
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue  # a real pipeline would dead-letter it
            good.append(m)
            events.append(e)
        if rows:
            x = np.asarray(rows, dtype=np.float32)
            scores = sess.run([out], {inp: x})[0].reshape(len(rows), -1)[:, 0].tolist()
            at = common.now_ms()
            for m, e, s in zip(good, events, scores):
                common.produce(producer, args.output, common.scored(m, e, s, at), m.key())
        producer.flush()
        consumer.commit(asynchronous=True)
    producer.flush()
    consumer.close()


if __name__ == "__main__":
    main()
