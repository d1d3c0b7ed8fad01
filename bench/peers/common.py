"""Shared by the Python peers: arguments, the model session, the Kafka
clients, and the scored event, written with the same fields streamscore
writes so both sides do the same work."""

import argparse
import signal
import time

import onnxruntime as ort
import orjson
from confluent_kafka import Consumer, Producer

FEATURES = ["f%02d" % i for i in range(32)]
# f24..f31 are optional in the benchmark schema (default 0); the rest required.
DEFAULTS = {f: 0.0 for f in FEATURES[24:]}
PASSTHROUGH = ("merchant", "sent_us")


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--brokers", required=True)
    p.add_argument("--group", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--batch", type=int, default=1024, help="events per consume() call")
    p.add_argument("--max-wait", type=float, default=0.02, help="seconds consume() waits for a batch")
    p.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    return p.parse_args()


def session(path, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return s, s.get_inputs()[0].name, s.get_outputs()[0].name


def clients(args, auto_commit):
    consumer = Consumer({
        "bootstrap.servers": args.brokers,
        "group.id": args.group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": auto_commit,
    })
    producer = Producer({
        "bootstrap.servers": args.brokers,
        "acks": "all",
        "linger.ms": 2,
    })
    consumer.subscribe([args.input])
    return consumer, producer


def features(event):
    """The feature row of one decoded event; a missing required feature
    raises KeyError."""
    return [event[f] if f in event else DEFAULTS[f] for f in FEATURES]


def scored(msg, event, score, scored_at):
    return orjson.dumps({
        "event_id": event["event_id"],
        "key": event["user_id"],
        "event_time": event["ts"],
        "topic": msg.topic(),
        "partition": msg.partition(),
        "offset": msg.offset(),
        "model": "mlp_score",
        "model_version": "1",
        "schema": "payments/1",
        "scores": {"score": score},
        "input_ts": msg.timestamp()[1],
        "scored_at": scored_at,
        "passthrough": {k: event[k] for k in PASSTHROUGH if k in event},
    })


def produce(producer, topic, value, key):
    while True:
        try:
            producer.produce(topic, value, key)
            return
        except BufferError:
            producer.poll(0.05)


def now_ms():
    return time.time_ns() // 1_000_000


class Stop:
    """Set by SIGINT or SIGTERM."""

    def __init__(self):
        self.stopped = False
        signal.signal(signal.SIGTERM, self._set)
        signal.signal(signal.SIGINT, self._set)

    def _set(self, *_):
        self.stopped = True
