"""Gregor keeps what it acknowledged: across SIGTERM and kill -9 (under continuous acks=all
load), with a torn log tail, and it refuses a second broker on the same data dir or port."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter

import pytest
from confluent_kafka import Producer

from helpers import die_with_parent, wait_until
from kafka_wire import api_versions
from test_broker_confluent import Deliveries, all_partitions, consume, create_topic


def per_partition(records) -> dict[int, list[tuple[int, bytes | None, bytes | None]]]:
    out: dict[int, list] = {}
    for r in records:
        out.setdefault(r.partition, []).append((r.offset, r.key, r.value))
    return {p: sorted(v) for p, v in out.items()}


def assert_healthy(broker) -> None:
    assert broker.running(), f"broker exited (code {broker.proc.returncode})"
    assert api_versions(broker.host, broker.port, timeout=5).error_code == 0


# --------------------------------------------------------------------------- SIGTERM


def test_sigterm_then_restart_keeps_every_record(broker, topic_name):
    partitions, n = 3, 600
    create_topic(broker.bootstrap, topic_name, partitions)
    dr = Deliveries()
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 5,
                  "message.timeout.ms": 20000})
    for i in range(n):
        p.produce(topic_name, key=f"k{i % 13}".encode(), value=f"{i}".encode(), on_delivery=dr)
        p.poll(0)
    assert p.flush(20) == 0
    assert not dr.errors, dr.errors[:5]
    expected: dict[int, list] = {}
    for m in dr.ok:
        expected.setdefault(m.partition(), []).append((m.offset(), m.key(), m.value()))
    expected = {k: sorted(v) for k, v in expected.items()}

    rc = broker.stop(signal.SIGTERM)
    assert rc == 0, f"exit code {rc} after SIGTERM"
    broker.start()

    got = consume(broker.bootstrap, all_partitions(topic_name, partitions), n)
    assert len(got) == n, f"{len(got)} of {n} records after restart"
    assert per_partition(got) == expected
    for part, recs in expected.items():
        assert [o for o, _k, _v in recs] == list(range(len(recs)))

    # still writable, offsets continue where they were
    dr2 = Deliveries()
    p2 = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})
    p2.produce(topic_name, value=b"after-restart", partition=0, on_delivery=dr2)
    assert p2.flush(15) == 0 and not dr2.errors, dr2.errors
    assert dr2.ok[0].offset() == len(expected.get(0, []))


# --------------------------------------------------------------------------- kill -9 under load


class Loader(threading.Thread):
    """Produces keyed records (value = sequence number) as fast as the broker takes them, at most
    `window` unacknowledged at a time, until stopped; then flushes."""

    def __init__(self, bootstrap: str, topic: str, conf: dict, window: int = 3000):
        super().__init__(daemon=True)
        self.topic = topic
        self.window = window
        self.p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2,
                           "message.timeout.ms": 15000, **conf})
        self.lock = threading.Lock()
        self.acked: list[tuple[int, int, int]] = []  # (partition, offset, seq)
        self.failed: list[tuple[int, str]] = []       # (seq, error)
        self.stop_evt = threading.Event()
        self.produced = 0
        self.unflushed = None
        self.exc: BaseException | None = None

    def _cb(self, err, msg):
        seq = int(msg.value())
        with self.lock:
            if err is not None:
                self.failed.append((seq, str(err)))
            else:
                self.acked.append((msg.partition(), msg.offset(), seq))

    def outstanding(self) -> int:
        with self.lock:
            return self.produced - len(self.acked) - len(self.failed)

    def run(self):
        try:
            while not self.stop_evt.is_set():
                if self.outstanding() >= self.window:
                    self.p.poll(0.01)
                    continue
                try:
                    self.p.produce(self.topic, key=f"k{self.produced % 11}".encode(),
                                   value=str(self.produced).encode(), on_delivery=self._cb)
                except BufferError:
                    self.p.poll(0.01)
                    continue
                self.produced += 1
                self.p.poll(0)
            self.unflushed = self.p.flush(25)
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.exc = e


def _kill9_under_load(broker, topic_name, producer_conf: dict):
    partitions = 3
    create_topic(broker.bootstrap, topic_name, partitions)
    loader = Loader(broker.bootstrap, topic_name, producer_conf)
    loader.start()
    try:
        wait_until(lambda: len(loader.acked) >= 2000 or loader.exc, timeout=20, message="2000 acks")
        assert loader.exc is None, loader.exc
        rc = broker.kill9()
        loader.stop_evt.set()
        assert rc == -signal.SIGKILL
        broker.start()
        loader.join(35)
        assert not loader.is_alive(), "producer did not finish flushing"
        assert loader.exc is None, loader.exc
    finally:
        loader.stop_evt.set()

    acked = list(loader.acked)
    got = consume(broker.bootstrap, all_partitions(topic_name, partitions), len(acked), timeout=20)
    at = {(r.partition, r.offset): int(r.value) for r in got}
    missing = [(p, o, s) for p, o, s in acked if at.get((p, o)) != s]
    assert not missing, (f"{len(missing)} of {len(acked)} acknowledged records not read back at their offset, "
                         f"first: {missing[:5]} (found there: {[at.get((p, o)) for p, o, _ in missing[:5]]})")
    seqs = [int(r.value) for r in got]
    dups = sorted(s for s, c in Counter(seqs).items() if c > 1)
    assert not dups, f"records stored twice: {dups[:20]}"
    for part in range(partitions):
        offs = [r.offset for r in got if r.partition == part]
        assert offs == list(range(len(offs))), f"partition {part}: offsets with gaps"
        vals = [int(r.value) for r in got if r.partition == part]
        assert vals == sorted(vals), f"partition {part}: records out of produce order"
    return loader, got


def test_kill9_under_acks_all_load_loses_no_acknowledged_record(broker, topic_name):
    # retries off: every record is sent at most once, so nothing may appear twice
    loader, got = _kill9_under_load(broker, topic_name, {"retries": 0, "enable.idempotence": False})
    assert len(loader.acked) >= 2000
    acked_seqs = {s for _p, _o, s in loader.acked}
    assert acked_seqs <= {int(r.value) for r in got}


def test_kill9_under_idempotent_load_delivers_everything_once(broker, topic_name):
    # the idempotent producer retries what the crash left unanswered; the broker must recognise
    # the retried batches (producer state rebuilt from the log), so every record lands exactly once
    loader, got = _kill9_under_load(broker, topic_name, {"enable.idempotence": True})
    assert not loader.failed, f"{len(loader.failed)} records failed, first: {loader.failed[:5]}"
    assert loader.unflushed == 0
    assert len(loader.acked) == loader.produced
    assert sorted(int(r.value) for r in got) == list(range(loader.produced))


# --------------------------------------------------------------------------- torn log tail


def _newest_log(broker, topic: str):
    pdir = broker.data_dir / f"{topic}-0"
    assert pdir.is_dir(), f"no partition directory {pdir} (contents: {sorted(os.listdir(broker.data_dir))})"
    logs = sorted(pdir.glob("*.log"))
    assert logs, f"no .log segment in {pdir}"
    assert all(re.fullmatch(r"\d{20}\.log", p.name) for p in logs), [p.name for p in logs]
    return logs[-1]


@pytest.mark.parametrize("stop,damage", [("sigterm", "cut"), ("kill9", "cut"), ("kill9", "zeros")])
def test_torn_log_tail_is_recovered(broker, topic_name, stop, damage):
    n = 20
    create_topic(broker.bootstrap, topic_name, 1)
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 0})
    offsets = []
    for i in range(n):  # one batch per record
        dr = Deliveries()
        p.produce(topic_name, key=b"k", value=f"v{i}".encode(), on_delivery=dr)
        assert p.flush(10) == 0 and not dr.errors, dr.errors
        offsets.append(dr.ok[0].offset())
    assert offsets == list(range(n))

    if stop == "sigterm":
        assert broker.stop() == 0
    else:
        broker.kill9()
    seg = _newest_log(broker, topic_name)
    size = seg.stat().st_size
    if damage == "cut":
        os.truncate(seg, size - 5)  # the last batch loses its last bytes
        survivors = n - 1
    else:
        with open(seg, "ab") as f:  # a preallocated / half-written tail of zeros
            f.write(b"\0" * 100)
        survivors = n
    broker.start()

    got = consume(broker.bootstrap, all_partitions(topic_name, 1), survivors)
    assert [(r.offset, r.value) for r in got] == [(i, f"v{i}".encode()) for i in range(survivors)]

    dr = Deliveries()
    p2 = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})
    p2.produce(topic_name, key=b"k", value=b"new", on_delivery=dr)
    assert p2.flush(15) == 0 and not dr.errors, dr.errors
    assert dr.ok[0].offset() == survivors, "offsets do not continue after the last complete batch"

    want = [(i, f"v{i}".encode()) for i in range(survivors)] + [(survivors, b"new")]
    got = consume(broker.bootstrap, all_partitions(topic_name, 1), survivors + 1)
    assert [(r.offset, r.value) for r in got] == want
    # and the repaired log survives another restart
    assert broker.stop() == 0
    broker.start()
    got = consume(broker.bootstrap, all_partitions(topic_name, 1), survivors + 1)
    assert [(r.offset, r.value) for r in got] == want


# --------------------------------------------------------------------------- exclusive resources


def _run_second(b, timeout: float = 20) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(b.command(), capture_output=True, text=True, timeout=timeout, cwd=b.workdir,
                              stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"second broker still running after {timeout}s: {' '.join(b.command())}\n"
                             f"stderr: {e.stderr}") from None


def test_second_broker_on_same_data_dir_refused(broker, broker_factory, topic_name):
    create_topic(broker.bootstrap, topic_name, 1)
    dr = Deliveries()
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})
    p.produce(topic_name, value=b"keep", on_delivery=dr)
    assert p.flush(10) == 0 and not dr.errors

    second = broker_factory(start=False, config={"log.dirs": str(broker.data_dir)})
    res = _run_second(second)
    out = res.stderr + res.stdout
    assert res.returncode > 0, f"second broker exit code {res.returncode}; output:\n{out[-3000:]}"
    assert re.search(r"lock|in use|already|another", out, re.I), f"no clear reason given:\n{out[-3000:]}"
    assert str(broker.data_dir) in out, f"message does not name the data dir:\n{out[-3000:]}"

    assert_healthy(broker)
    got = consume(broker.bootstrap, all_partitions(topic_name, 1), 1)
    assert [r.value for r in got] == [b"keep"]


def test_second_broker_on_same_port_refused(broker, broker_factory):
    second = broker_factory(start=False, port=broker.port)
    res = _run_second(second)
    out = res.stderr + res.stdout
    assert res.returncode > 0, f"second broker exit code {res.returncode}; output:\n{out[-3000:]}"
    assert re.search(r"address already in use|in use|EADDRINUSE|bind", out, re.I), \
        f"no clear reason given:\n{out[-3000:]}"
    assert str(broker.port) in out, f"message does not name the port:\n{out[-3000:]}"
    assert_healthy(broker)
    # the refused broker did not leave its (empty) data dir locked or half-made in a way that
    # stops it from starting once the port is free
    assert broker.stop() == 0
    second.start()
    assert_healthy(second)


# --------------------------------------------------------------------------- several segments


def test_multi_segment_log_survives_crash(broker, topic_name):
    """segment.bytes=1 MiB and ~6 MiB of records: reads cross segment boundaries, offsets by time
    find records in older segments, and everything is still there after kill -9."""
    from confluent_kafka import TopicPartition

    from test_broker_confluent import consumer
    create_topic(broker.bootstrap, topic_name, 1, config={"segment.bytes": "1048576"})
    n = 6000
    base_ts = int(time.time() * 1000) - 3_600_000
    dr = Deliveries()
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 5,
                  "message.timeout.ms": 20000})
    for i in range(n):
        p.produce(topic_name, value=f"{i:06d}".encode() + b"." * 994, timestamp=base_ts + i, partition=0,
                  on_delivery=dr)
        p.poll(0)
    assert p.flush(20) == 0 and not dr.errors, dr.errors[:3]
    segs = sorted((broker.data_dir / f"{topic_name}-0").glob("*.log"))
    assert len(segs) >= 5, f"only {len(segs)} segments for ~6 MiB with segment.bytes=1 MiB"

    def check():
        got = consume(broker.bootstrap, all_partitions(topic_name, 1), n, timeout=25)
        assert [r.offset for r in got] == list(range(n))
        assert all(int(r.value[:6]) == r.offset for r in got)
        c = consumer(broker.bootstrap)
        try:
            for i in (0, 1234, 2999, 5999):
                res = c.offsets_for_times([TopicPartition(topic_name, 0, base_ts + i)], timeout=10)
                assert res[0].offset == i, f"offsets_for_times(ts of record {i}) -> {res[0].offset}"
            assert c.get_watermark_offsets(TopicPartition(topic_name, 0), timeout=10, cached=False) == (0, n)
        finally:
            c.close()

    check()
    broker.kill9()
    broker.start()
    check()
