#!/usr/bin/env python3
"""Consumer-group benchmarks, Gregor beside Apache Kafka in one run.

For each broker (default settings; both brokers run one at a time on the
same machine, with the same client, confluent-kafka):
  - consume throughput of one consumer vs a group of three (separate
    processes) reading the same 6-partition topic from the beginning;
  - rejoin time: with two members consuming a live stream, a third member
    subscribes; the time from its subscribe() to its first record, and the
    time until the whole group is consuming again (every member has
    received a record after the rebalance).

Prints Markdown for docs/benchmarks.md.
Usage: python3 bench/groups.py [--records N]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from gregor_broker import Broker  # noqa: E402
from kafka_ref import KafkaRef  # noqa: E402

PARTITIONS = 6


def fill(bootstrap: str, topic: str, records: int) -> None:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(30)
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.size": 1 << 20,
                  "queue.buffering.max.messages": 1000000})
    value = b"x" * 100
    for i in range(records):
        while True:
            try:
                p.produce(topic, key=str(i).encode(), value=value)
                break
            except BufferError:
                p.poll(0.05)
    p.flush(120)


def member(bootstrap: str, topic: str, group: str, target: int, counter, start_evt) -> None:
    from confluent_kafka import Consumer
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False, "fetch.min.bytes": 1})
    c.subscribe([topic])
    start_evt.wait()
    while counter.value < target:
        msgs = c.consume(1000, 0.5)
        n = sum(1 for m in msgs if not m.error())
        if n:
            with counter.get_lock():
                counter.value += n
    c.close()


def group_throughput(bootstrap: str, topic: str, records: int, members: int) -> float:
    group = f"bench-g{members}-{time.monotonic_ns()}"
    counter = mp.Value("q", 0)
    start = mp.Event()
    procs = [mp.Process(target=member, args=(bootstrap, topic, group, records, counter, start))
             for _ in range(members)]
    for p in procs:
        p.start()
    t0 = time.monotonic()
    start.set()
    for p in procs:
        p.join(300)
    return records / (time.monotonic() - t0)


def rejoin_time(bootstrap: str, topic: str) -> tuple[float, float]:
    """Seconds from a third member's subscribe to its first record, and to
    every member having a record after the rebalance."""
    from confluent_kafka import Consumer, Producer
    stop = threading.Event()

    def produce() -> None:
        p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 1})
        i = 0
        while not stop.is_set():
            p.produce(topic, key=str(i).encode(), value=b"live")
            p.poll(0)
            i += 1
            time.sleep(0.002)
        p.flush(10)

    group = f"bench-rejoin-{time.monotonic_ns()}"
    conf = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "latest",
            "enable.auto.commit": False}
    prod = threading.Thread(target=produce)
    prod.start()
    olds = [Consumer(conf) for _ in range(2)]
    for c in olds:
        c.subscribe([topic])
    # Wait until both old members consume.
    got = [False, False]
    deadline = time.monotonic() + 60
    while not all(got) and time.monotonic() < deadline:
        for i, c in enumerate(olds):
            m = c.poll(0.1)
            if m is not None and not m.error():
                got[i] = True
    new = Consumer(conf)
    t0 = time.monotonic()
    new.subscribe([topic])
    first_new = None
    after = [False, False, False]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not all(after):
        m = new.poll(0.05)
        if m is not None and not m.error():
            if first_new is None:
                first_new = time.monotonic() - t0
            after[2] = True
        for i, c in enumerate(olds):
            m = c.poll(0.01)
            if m is not None and not m.error() and first_new is not None:
                after[i] = True
    everyone = time.monotonic() - t0
    stop.set()
    prod.join()
    for c in olds + [new]:
        c.close()
    return (first_new if first_new is not None else float("nan")), everyone


def run(name: str, bootstrap: str, records: int) -> dict:
    topic = "bench-groups"
    fill(bootstrap, topic, records)
    one = group_throughput(bootstrap, topic, records, 1)
    three = group_throughput(bootstrap, topic, records, 3)
    live = "bench-groups-live"
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(live, PARTITIONS, 1)])[live].result(30)
    first, all_ = rejoin_time(bootstrap, live)
    r = {"one": one, "three": three, "rejoin_first": first, "rejoin_all": all_}
    print(f"{name}: {r}", file=sys.stderr)
    return r


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=500_000)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gregor-bench-groups-"))
    try:
        g = Broker(work / "gregor")
        g.start()
        try:
            gr = run("gregor", g.bootstrap, args.records)
        finally:
            g.stop()
        os.environ.setdefault("GREGOR_KAFKA_JVM_OPTS", "-XX:TieredStopAtLevel=4")
        # The harness sets a 0 ms initial rebalance delay for tests; use the
        # default (3000 ms, as Gregor runs here) so both brokers wait alike.
        k = KafkaRef(work / "kafka", heap="1g", overrides={"group.initial.rebalance.delay.ms": 3000})
        k.start()
        try:
            kr = run("kafka", k.bootstrap, args.records)
        finally:
            k.stop(check=False)
        now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        print(f"## Consumer groups, run of {now}\n")
        print(f"`python3 bench/groups.py --records {args.records}`: {args.records} records of 100 B "
              f"on {PARTITIONS} partitions, confluent-kafka consumers (one process each), both brokers "
              "with default settings (group.initial.rebalance.delay.ms=3000 on both; it delays only "
              "the first join of an empty group, which the throughput rows include).\n")
        print("| measure | Gregor | Kafka |\n|---|---:|---:|")
        print(f"| consume, 1 consumer (records/s) | {gr['one']:.0f} | {kr['one']:.0f} |")
        print(f"| consume, group of 3 (records/s) | {gr['three']:.0f} | {kr['three']:.0f} |")
        print(f"| 3rd member joins: its first record (s) | {gr['rejoin_first']:.2f} | {kr['rejoin_first']:.2f} |")
        print(f"| 3rd member joins: all 3 consuming again (s) | {gr['rejoin_all']:.2f} | {kr['rejoin_all']:.2f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
