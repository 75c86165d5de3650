"""Compaction (cleanup.policy=compact): the log cleaner keeps the latest value of every key with its
offset, drops tombstones once delete.retention.ms has passed since their first cleaning, and a
kill -9 at any moment of a cleaning loses nothing.

Segments are rolled by time (segment.ms, since segment.bytes cannot go below 1 MiB) and a last
"roll" record produced after segment.ms closes the segment holding the updates, so that only that
record stays in the active segment, which the cleaner never touches."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from gregor_broker import BrokerError, gregor_bin
from helpers import wait_until
from test_broker_confluent import Deliveries, all_partitions, consume, create_topic

ROLL_KEY = b"__roll__"
FAST_CLEANER = {"log.cleaner.backoff.ms": 100}


def compacted_topic(bootstrap: str, topic: str, **extra) -> None:
    config = {"cleanup.policy": "compact", "segment.ms": "100", "min.cleanable.dirty.ratio": "0.01"}
    config.update({k.replace("_", "."): str(v) for k, v in extra.items()})
    create_topic(bootstrap, topic, 1, config)


def produce(bootstrap: str, topic: str, items: list[tuple[bytes, bytes | None]]) -> list:
    """Produces (key, value) pairs with acks=all; returns the delivered messages in offset order."""
    dr = Deliveries()
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                  "message.timeout.ms": 30000})
    for k, v in items:
        p.produce(topic, key=k, value=v, on_delivery=dr)
        p.poll(0)
    assert p.flush(30) == 0
    assert not dr.errors, dr.errors[:5]
    return sorted(dr.ok, key=lambda m: m.offset())


def roll(bootstrap: str, topic: str) -> int:
    """Closes the active segment: one record produced after segment.ms (100 ms) has passed."""
    time.sleep(0.15)  # segment.ms is a wall-clock age; nothing to poll for
    return produce(bootstrap, topic, [(ROLL_KEY, b"x")])[-1].offset()


def latest(delivered: list) -> dict[bytes, tuple[int, bytes | None]]:
    out = {}
    for m in delivered:
        out[m.key()] = (m.offset(), m.value())
    return out


def read_all(bootstrap: str, topic: str, timeout: float = 30):
    recs = consume(bootstrap, all_partitions(topic, 1), 0, timeout=timeout)
    offsets = [r.offset for r in recs]
    assert offsets == sorted(set(offsets)), "offsets must increase strictly"
    return recs


def part_dir(broker, topic: str) -> Path:
    return Path(broker.data_dir) / f"{topic}-0"


def test_compaction_keeps_latest_value_per_key(broker_factory, topic_name):
    b = broker_factory(config=FAST_CLEANER)
    compacted_topic(b.bootstrap, topic_name)
    keys, rounds = 200, 60
    items = [(f"key-{i % keys}".encode(), f"value-{i}-{'x' * 40}".encode()) for i in range(keys * rounds)]
    want = latest(produce(b.bootstrap, topic_name, items))
    roll_offset = roll(b.bootstrap, topic_name)

    def compacted():
        recs = read_all(b.bootstrap, topic_name)
        per_key = {}
        for r in recs:
            per_key.setdefault(r.key, []).append(r)
        return recs if all(len(v) == 1 for k, v in per_key.items() if k != ROLL_KEY) else None

    recs = wait_until(compacted, timeout=60, interval=0.5, message="one record per key")
    got = {r.key: (r.offset, r.value) for r in recs if r.key != ROLL_KEY}
    assert got == want, "every key keeps exactly its latest value, at its original offset"
    assert recs[-1].offset == roll_offset
    assert len(recs) == keys + 1

    # The bytes went too, and the checkpoint says how far the cleaner got.
    size = sum(f.stat().st_size for f in part_dir(b, topic_name).glob("*.log"))
    assert size < len(items) * 60 / 10
    ck = (Path(b.data_dir) / "cleaner-offset-checkpoint").read_text().split("\n")
    assert f"{topic_name} 0 {roll_offset}" in ck

    # New updates of a few keys: compacted again, old values of those keys go.
    more = [(f"key-{i}".encode(), f"new-{i}".encode()) for i in range(10)]
    want.update(latest(produce(b.bootstrap, topic_name, more)))
    roll(b.bootstrap, topic_name)

    def recompacted():
        recs = read_all(b.bootstrap, topic_name)
        got = {r.key: (r.offset, r.value) for r in recs if r.key != ROLL_KEY}
        return got == want and len(recs) <= keys + 2

    wait_until(recompacted, timeout=60, interval=0.5, message="the new values replace the old ones")


def test_tombstones_removed_after_delete_retention(broker_factory, topic_name):
    b = broker_factory(config=FAST_CLEANER)
    retention_ms = 4000
    compacted_topic(b.bootstrap, topic_name, delete_retention_ms=retention_ms)
    keys = 50
    items = [(f"k{i % keys}".encode(), f"v{i}".encode()) for i in range(keys * 20)]
    items += [(f"k{i}".encode(), None) for i in range(0, keys, 2)]  # delete the even keys
    delivered = produce(b.bootstrap, topic_name, items)
    roll(b.bootstrap, topic_name)
    t_first = None

    def first_cleaning():
        recs = read_all(b.bootstrap, topic_name)
        if len(recs) != keys + 1:
            return None
        return recs

    recs = wait_until(first_cleaning, timeout=60, interval=0.2, message="first compaction")
    t_first = time.monotonic()
    tombstones = {r.key for r in recs if r.value is None}
    assert tombstones == {f"k{i}".encode() for i in range(0, keys, 2)}, \
        "a tombstone outlives its first cleaning"

    def tombstones_gone():
        recs = read_all(b.bootstrap, topic_name)
        return recs if all(r.value is not None for r in recs) else None

    recs = wait_until(tombstones_gone, timeout=60, interval=0.5, message="tombstones removed")
    # Not before delete.retention.ms after the cleaning that first kept them (minus our
    # detection delay of that cleaning, at most a poll interval and a read).
    assert time.monotonic() - t_first > retention_ms / 1000 - 1.5
    want = {k: v for k, (o, v) in latest(delivered).items() if v is not None}
    assert {r.key: r.value for r in recs if r.key != ROLL_KEY} == want


@pytest.mark.parametrize("codec", ["gzip", "lz4", "zstd", "snappy"])
def test_compaction_of_compressed_batches(broker_factory, topic_name, codec):
    b = broker_factory(config=FAST_CLEANER)
    compacted_topic(b.bootstrap, topic_name)
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 20,
                  "compression.type": codec})
    dr = Deliveries()
    for i in range(3000):
        p.produce(topic_name, key=f"k{i % 37}".encode(), value=f"{i}".encode() * 10, on_delivery=dr)
    assert p.flush(30) == 0 and not dr.errors
    want = latest(dr.ok)
    roll(b.bootstrap, topic_name)

    def compacted():
        recs = read_all(b.bootstrap, topic_name)
        got = {r.key: (r.offset, r.value) for r in recs if r.key != ROLL_KEY}
        return got == want and len(recs) == len(want) + 1

    wait_until(compacted, timeout=60, interval=0.5, message=f"{codec} batches compacted")


def test_cleaner_settings_change_at_run_time(broker_factory, topic_name):
    # A cleaner that would sleep a minute after its first look...
    b = broker_factory(config={"log.cleaner.backoff.ms": 60000})
    compacted_topic(b.bootstrap, topic_name)
    keys = 20
    want = latest(produce(b.bootstrap, topic_name,
                          [(f"k{i % keys}".encode(), f"{i}".encode()) for i in range(2000)]))
    roll(b.bootstrap, topic_name)
    # ... is woken by a cluster-wide change of log.cleaner.backoff.ms, which restarts it.
    res = subprocess.run([str(gregor_bin()), "--brokers", b.bootstrap, "config", "set", "broker",
                          "--default", "log.cleaner.backoff.ms=100"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    wait_until(lambda: "log cleaner reconfigured" in b.stderr_text(), timeout=20,
               message="the cleaner restarted")

    def compacted():
        recs = read_all(b.bootstrap, topic_name)
        return len(recs) == keys + 1 and {r.key: (r.offset, r.value) for r in recs
                                          if r.key != ROLL_KEY} == want

    wait_until(compacted, timeout=30, interval=0.5, message="compaction with the new backoff")
    # The dynamic value is in the metadata log: a restarted broker applies it again.
    b.restart()
    assert b.stderr_text().count("log cleaner reconfigured") >= 2


def test_consumer_offsets_is_compacted(broker_factory, topic_name):
    b = broker_factory(config={**FAST_CLEANER, "offsets.topic.segment.bytes": 1048576,
                               "offsets.topic.num.partitions": 1})
    produce(b.bootstrap, topic_name, [(b"k", b"v")])
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": f"g-{topic_name}",
                  "enable.auto.commit": False})
    try:
        big = "m" * 3000  # commits of ~3 KB: __consumer_offsets rolls every few hundred
        for i in range(1200):
            c.commit(offsets=[TopicPartition(topic_name, 0, i, metadata=big)], asynchronous=False)
        c.commit(offsets=[TopicPartition(topic_name, 0, 5000)], asynchronous=False)
    finally:
        c.close()
    d = Path(b.data_dir) / "__consumer_offsets-0"

    def compacted():
        size = sum(f.stat().st_size for f in d.glob("*.log"))
        ck = (Path(b.data_dir) / "cleaner-offset-checkpoint")
        return size < 1200 * 3000 / 2 and ck.exists() and "__consumer_offsets 0 " in ck.read_text()

    wait_until(compacted, timeout=60, interval=0.5, message="__consumer_offsets compacted")
    b.restart()  # the coordinator loads the compacted log
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": f"g-{topic_name}",
                  "enable.auto.commit": False})
    try:
        assert c.committed([TopicPartition(topic_name, 0)], timeout=20)[0].offset == 5000
    finally:
        c.close()


# --------------------------------------------------------------------------- crash safety


def cleaner_files(d: Path) -> list[str]:
    return sorted(f.name for f in d.iterdir() if f.name.endswith((".cleaned", ".swap", ".deleted")))


def restart_and_check(b, topic: str, want: dict) -> None:
    """Starts the crashed broker with its cleaner off (so that no new cleaning makes files
    while we look), checks what recovery left, and restarts it with the cleaner on."""
    config = dict(b.config)
    b.config = {**config, "log.cleaner.enable": "false"}
    b.start()
    d = part_dir(b, topic)
    assert not [n for n in cleaner_files(d) if n.endswith((".cleaned", ".swap"))], \
        "recovery finishes or removes every cleaner file"
    recs = read_all(b.bootstrap, topic)
    got = {r.key: (r.offset, r.value) for r in recs}
    got.pop(ROLL_KEY, None)
    assert got == want, "every key's latest value survives the crash"
    b.config = config
    b.restart()


# The broker kills itself (SIGKILL) at each step of the swap protocol (cleaner_files.h), then
# restarts without the hook; "swap+recover" also crashes the recovery that follows.
@pytest.mark.parametrize("points", ["cleaned", "swap", "installed", "deleting", "deleted", "renamed",
                                    "swap+recover"])
def test_crash_at_each_step_of_a_cleaning(broker_factory, topic_name, points):
    first, *then = points.split("+")
    # Written with the cleaner off, so that its first cleaning takes several segments at once.
    b = broker_factory(config={**FAST_CLEANER, "log.cleaner.enable": "false"})
    compacted_topic(b.bootstrap, topic_name)
    keys = 100
    want: dict[bytes, tuple[int, bytes | None]] = {}
    for rnd in range(4):
        items = [(f"key-{i % keys}".encode(), f"r{rnd}-{i}".encode()) for i in range(keys * 5)]
        want.update(latest(produce(b.bootstrap, topic_name, items)))
        time.sleep(0.12)  # let segment.ms pass so the next round starts a segment
    roll(b.bootstrap, topic_name)
    b.stop()
    b.config = dict(FAST_CLEANER)
    b.env = {"GREGOR_TEST_CLEANER_CRASH": first}
    try:
        b.start()
    except BrokerError:
        pass  # it may die before it answers
    wait_until(lambda: not b.running(), timeout=60, message=f"the crash at '{first}'")
    assert b.proc.returncode == -9
    assert f"test crash point '{first}' reached" in b.stderr_text()
    for point in then:
        b.env = {"GREGOR_TEST_CLEANER_CRASH": point}
        with pytest.raises(BrokerError):
            b.start(timeout=10)  # dies in recovery
        assert f"test crash point '{point}' reached" in b.stderr_text()
    b.env = None
    restart_and_check(b, topic_name, want)
    if not then and first in ("swap", "installed"):
        m = re.search(r"replaces (\d+) segments", b.stderr_text())
        assert m and int(m.group(1)) >= 2, "the crashed cleaning had a group of several segments"

    def compacted():
        recs = read_all(b.bootstrap, topic_name)
        return len(recs) == keys + 1 and {r.key: (r.offset, r.value) for r in recs
                                          if r.key != ROLL_KEY} == want

    wait_until(compacted, timeout=60, interval=0.5, message="compaction after the crash")


@pytest.mark.timeout(600)
def test_kill9_during_cleaning_loses_nothing(broker_factory, topic_name):
    # A throttled cleaner, so that a cleaning lasts long enough to be killed in its middle.
    b = broker_factory(config={"log.cleaner.backoff.ms": 50,
                               "log.cleaner.io.max.bytes.per.second": 2000000})
    compacted_topic(b.bootstrap, topic_name)
    d = part_dir(b, topic_name)
    keys = 300
    want: dict[bytes, tuple[int, bytes | None]] = {}
    for rnd, delay in enumerate([0, 0.05, 0.2, 0.5, 1.0, 0.02]):
        items = [(f"key-{i % keys}".encode(), f"r{rnd}-{i}-{'y' * 60}".encode()) for i in range(keys * 25)]
        want.update(latest(produce(b.bootstrap, topic_name, items)))
        roll(b.bootstrap, topic_name)
        # Kill at a different moment each round: as soon as a cleaning has begun writing, or
        # some time into it.
        wait_until(lambda: any(n.endswith(".cleaned") for n in cleaner_files(d)), timeout=60,
                   interval=0.005, message="a cleaning in progress")
        time.sleep(delay)  # a different point of the cleaning each round
        b.kill9()
        restart_and_check(b, topic_name, want)

    # And the cleaning completes after all that.
    roll(b.bootstrap, topic_name)

    def compacted():
        recs = read_all(b.bootstrap, topic_name)
        return len([r for r in recs if r.key != ROLL_KEY]) == keys

    wait_until(compacted, timeout=120, interval=0.5, message="compaction after the crashes")
