"""The per-event Python pipeline: what users write first. confluent-kafka
poll() of one event, orjson to decode it, ONE onnxruntime run for that
event, orjson to encode, produce; offsets are committed automatically
(librdkafka's auto commit). Runs until SIGINT or SIGTERM."""

import numpy as np
import orjson

import common


def main():
    args = common.parse_args(__doc__)
    sess, inp, out = common.session(args.model, args.threads)
    consumer, producer = common.clients(args, auto_commit=True)
    stop = common.Stop()
    while not stop.stopped:
        m = consumer.poll(args.max_wait)
        if m is None or m.error():
            continue
        try:
            e = orjson.loads(m.value())
            x = np.asarray([common.features(e)], dtype=np.float32)
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue
        s = float(sess.run([out], {inp: x})[0].reshape(-1)[0])
        common.produce(producer, args.output, common.scored(m, e, s, common.now_ms()), m.key())
        producer.poll(0)
    producer.flush()
    consumer.close()


if __name__ == "__main__":
    main()
