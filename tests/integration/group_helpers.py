"""Helpers for the consumer-group tests (tests/integration/test_groups_*.py).

Groups need a broker whose rebalances are quick to observe: GROUP_BROKER_CONFIG starts the
first rebalance of a new group at once (group.initial.rebalance.delay.ms=0) and lets members
ask for short sessions. Members use SESSION_MS sessions and heartbeat every 500 ms, so a
rebalance is noticed within a second and a dead member within SESSION_MS.

Nothing here sleeps to synchronise: every wait polls the consumers against a deadline.
"""

from __future__ import annotations

import time

from confluent_kafka import Consumer, Producer

from helpers import unique_name

SESSION_MS = 6000
GROUP_BROKER_CONFIG = {"group.initial.rebalance.delay.ms": 0, "group.min.session.timeout.ms": 1000}


def group_name(prefix: str = "grp") -> str:
    return unique_name(prefix)


def rk_consumer(bootstrap: str, group: str, **extra) -> Consumer:
    """A confluent-kafka (librdkafka) group member with short session and heartbeat times."""
    conf = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
            "session.timeout.ms": SESSION_MS, "heartbeat.interval.ms": 500,
            "enable.auto.commit": False, "socket.timeout.ms": 10000,
            "topic.metadata.refresh.interval.ms": 2000}
    conf.update(extra)
    return Consumer(conf)


def produce_spread(bootstrap: str, topic: str, partitions: int, per_partition: int, tag: str = "r") -> int:
    """per_partition records into each partition (values "<tag>-<p>-<i>"); returns the total."""
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for part in range(partitions):
        for i in range(per_partition):
            p.produce(topic, value=f"{tag}-{part}-{i}".encode(), key=f"k{i}".encode(), partition=part)
    assert p.flush(30) == 0, "records left unsent"
    return partitions * per_partition


def assigned(c: Consumer) -> set[int]:
    return {tp.partition for tp in c.assignment()}


class Members:
    """Several consumers polled round-robin from the test thread (librdkafka serves rebalance
    callbacks and delivers records only from poll()). Every record seen is kept per consumer."""

    def __init__(self, *consumers: Consumer):
        self.consumers = list(consumers)
        self.records: dict[int, list] = {i: [] for i in range(len(consumers))}

    def add(self, c: Consumer) -> int:
        self.consumers.append(c)
        self.records[len(self.consumers) - 1] = []
        return len(self.consumers) - 1

    def poll_once(self, timeout: float = 0.05) -> None:
        for i, c in enumerate(self.consumers):
            if c is None:
                continue
            m = c.poll(timeout)
            if m is not None and not m.error():
                self.records[i].append(m)

    def poll_until(self, predicate, timeout: float = 30, message: str = "condition"):
        deadline = time.monotonic() + timeout
        while True:
            self.poll_once()
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {message}; assignments: "
                                     f"{self.assignments()}")

    def assignments(self) -> list[set[int]]:
        return [assigned(c) if c is not None else set() for c in self.consumers]

    def wait_assignment(self, sizes: list[int], timeout: float = 30) -> list[set[int]]:
        """Until the live members hold disjoint assignments of exactly these sizes (any order)."""
        def ok():
            a = [s for c, s in zip(self.consumers, self.assignments()) if c is not None]
            flat = [p for s in a for p in s]
            return a if sorted(len(s) for s in a) == sorted(sizes) and len(flat) == len(set(flat)) else None
        return self.poll_until(ok, timeout, f"assignment sizes {sizes}")

    def close(self, i: int) -> None:
        c = self.consumers[i]
        if c is not None:
            c.close()
            self.consumers[i] = None

    def close_all(self) -> None:
        for i in range(len(self.consumers)):
            try:
                self.close(i)
            except Exception:  # noqa: BLE001 - teardown
                pass

    def keys(self, i: int) -> list[tuple[int, int]]:
        return [(m.partition(), m.offset()) for m in self.records[i]]

    def total(self) -> int:
        return sum(len(r) for r in self.records.values())


# A group member in its own process (for SIGKILL tests): prints {"assigned": [partitions]}
# whenever its assignment changes, and polls until killed.
MEMBER_SCRIPT = r"""
import json, sys
from confluent_kafka import Consumer
bootstrap, group, topic, session = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
              "session.timeout.ms": session, "heartbeat.interval.ms": 500, "enable.auto.commit": False})
c.subscribe([topic])
last = None
while True:
    c.poll(0.1)
    now = sorted(tp.partition for tp in c.assignment())
    if now != last:
        last = now
        print(json.dumps({"assigned": now}), flush=True)
"""


def spawn_member(bootstrap: str, group: str, topic: str, session_ms: int = SESSION_MS):
    """Starts MEMBER_SCRIPT; returns the Popen (stdout is a pipe of JSON lines)."""
    import subprocess
    import sys

    from helpers import die_with_parent
    return subprocess.Popen([sys.executable, "-c", MEMBER_SCRIPT, bootstrap, group, topic, str(session_ms)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            preexec_fn=die_with_parent)


class LineReader:
    """Non-blocking reader of a subprocess's JSON lines."""

    def __init__(self, proc):
        import json
        import os
        self.proc, self.json = proc, json
        os.set_blocking(proc.stdout.fileno(), False)
        self.buf = ""
        self.lines: list[dict] = []

    def read(self) -> list[dict]:
        try:
            chunk = self.proc.stdout.read()
        except (BlockingIOError, TypeError):
            chunk = None
        if chunk:
            self.buf += chunk
            *done, self.buf = self.buf.split("\n")
            self.lines += [self.json.loads(x) for x in done if x.strip()]
        return self.lines
