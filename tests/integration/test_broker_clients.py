"""Gregor with other clients: kafka-python (its own protocol code, pure Python: producer with
every codec it supports, assign-only consumer, KafkaAdminClient) and kcat (librdkafka's
command-line client: -L, -P with keys and headers, -C)."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KTopicPartition
from kafka import codec as kcodec
from kafka.admin import KafkaAdminClient
from kafka.admin import NewTopic as KNewTopic
from kafka.errors import TopicAlreadyExistsError

from helpers import wait_until
from test_broker_confluent import all_partitions, consume, create_topic

# --------------------------------------------------------------------------- kafka-python

KP_CODECS = {
    None: lambda: True,
    "gzip": kcodec.has_gzip,
    "snappy": kcodec.has_snappy,   # python-snappy
    "lz4": kcodec.has_lz4,         # lz4
    "zstd": kcodec.has_zstd,       # zstandard
}


def kp_consume(bootstrap: str, topic: str, partitions: int, expected: int, timeout: float = 20) -> list:
    cons = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                         request_timeout_ms=15000, api_version_auto_timeout_ms=10000)
    out = []
    try:
        tps = [KTopicPartition(topic, p) for p in range(partitions)]
        cons.assign(tps)
        cons.seek_to_beginning()
        deadline = time.monotonic() + timeout
        while len(out) < expected and time.monotonic() < deadline:
            for _tp, msgs in cons.poll(timeout_ms=300).items():
                out.extend(msgs)
        # anything beyond `expected` (duplicates) shows in the end offsets
        end = cons.end_offsets(tps)
        assert sum(end.values()) == expected, f"end offsets {end}, expected {expected} records in total"
    finally:
        cons.close()
    return out


@pytest.mark.parametrize("compression", list(KP_CODECS), ids=lambda c: c or "none")
def test_kafka_python_produce_consume(broker, topic_name, compression):
    if not KP_CODECS[compression]():
        pytest.skip(f"kafka-python has no {compression} codec library installed")
    partitions, n = 2, 50
    create_topic(broker.bootstrap, topic_name, partitions)
    base_ts = int(time.time() * 1000) - 60_000
    prod = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", compression_type=compression,
                         linger_ms=10, max_block_ms=15000, request_timeout_ms=15000,
                         api_version_auto_timeout_ms=10000)
    sent = []
    try:
        futures = []
        for i in range(n):
            key = None if i % 10 == 7 else f"key-{i % 4}".encode()
            value = None if i % 10 == 3 else (f"value-{i}-" + "z" * (i * 13)).encode()
            # (kafka-python 2.0.2's producer refuses null header values: librdkafka tests cover them)
            headers = [("idx", str(i).encode()), ("dup", b"a"), ("dup", b"b"), ("empty", b"")]
            if i % 5 == 4:
                headers = []
            ts = base_ts + i
            futures.append(prod.send(topic_name, key=key, value=value, headers=headers, timestamp_ms=ts))
            sent.append((key, value, headers, ts))
        prod.flush(timeout=15)
        metas = [f.get(timeout=15) for f in futures]
    finally:
        prod.close(timeout=5)

    got = kp_consume(broker.bootstrap, topic_name, partitions, n)
    assert len(got) == n
    by_ts = {m.timestamp: m for m in got}
    for i, (key, value, headers, ts) in enumerate(sent):
        m = by_ts[ts]
        assert (m.key, m.value) == (key, value), f"record {i}"
        assert list(m.headers) == headers, f"record {i} headers"
        assert (m.partition, m.offset) == (metas[i].partition, metas[i].offset), f"record {i} position"
    for part in range(partitions):
        offs = sorted(m.offset for m in got if m.partition == part)
        assert offs == list(range(len(offs)))
    # one key, one partition
    parts_by_key: dict = {}
    for m in got:
        if m.key is not None:
            parts_by_key.setdefault(m.key, set()).add(m.partition)
    assert all(len(s) == 1 for s in parts_by_key.values()), parts_by_key


def test_kafka_python_readable_by_librdkafka(broker, topic_name):
    """kafka-python writes (gzip), librdkafka reads: both clients agree on the stored batches."""
    create_topic(broker.bootstrap, topic_name, 1)
    prod = KafkaProducer(bootstrap_servers=broker.bootstrap, acks=1, compression_type="gzip",
                         max_block_ms=15000, api_version_auto_timeout_ms=10000)
    try:
        for i in range(10):
            prod.send(topic_name, key=b"k", value=f"v{i}".encode(), headers=[("h", b"x")])
        prod.flush(timeout=15)
    finally:
        prod.close(timeout=5)
    got = consume(broker.bootstrap, all_partitions(topic_name, 1), 10)
    assert [(r.offset, r.value, r.headers) for r in got] == [(i, f"v{i}".encode(), [("h", b"x")]) for i in range(10)]


def test_kafka_python_admin_create_delete(broker, topic_name):
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=15000,
                             api_version_auto_timeout_ms=10000)
    try:
        admin.create_topics([KNewTopic(topic_name, 3, 1)])
        wait_until(lambda: topic_name in admin.list_topics(), timeout=15, message=f"{topic_name} listed")
        desc = [t for t in admin.describe_topics([topic_name]) if t["topic"] == topic_name]
        assert len(desc) == 1 and desc[0]["error_code"] == 0
        assert sorted(p["partition"] for p in desc[0]["partitions"]) == [0, 1, 2]
        with pytest.raises(TopicAlreadyExistsError):
            admin.create_topics([KNewTopic(topic_name, 1, 1)])
        admin.delete_topics([topic_name])
        wait_until(lambda: topic_name not in admin.list_topics(), timeout=15, message=f"{topic_name} gone")
    finally:
        admin.close()


# --------------------------------------------------------------------------- kcat

KCAT = shutil.which("kcat") or "/usr/bin/kcat"


def kcat(*args: str, input: str | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    if not shutil.which(KCAT):
        pytest.skip("kcat not installed")
    try:
        res = subprocess.run([KCAT, *args], input=input, capture_output=True, text=True, timeout=timeout,
                             stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"kcat {' '.join(args)} timed out after {timeout}s; stderr: {e.stderr}") from None
    assert res.returncode == 0, f"kcat {' '.join(args)} exit {res.returncode}\nstdout:{res.stdout}\nstderr:{res.stderr}"
    return res


def test_kcat_list_metadata(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, 3)
    out = kcat("-b", broker.bootstrap, "-L", "-m", "10").stdout
    assert f"broker {broker.node_id} at {broker.bootstrap}" in out, out
    assert f'topic "{topic_name}" with 3 partitions:' in out, out
    for p in range(3):
        assert f"partition {p}, leader {broker.node_id}, replicas: {broker.node_id}, isrs: {broker.node_id}" in out


@pytest.mark.parametrize("compression", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_kcat_produce_consume_with_keys_and_headers(broker, topic_name, compression):
    create_topic(broker.bootstrap, topic_name, 2)
    lines = [f"key{i % 3}:value {i}" for i in range(30)]
    kcat("-b", broker.bootstrap, "-P", "-t", topic_name, "-K:", "-z", compression,
         "-H", "h1=v1", "-H", "h2=v2", "-H", "h1=again", input="\n".join(lines) + "\n")
    out = kcat("-b", broker.bootstrap, "-C", "-t", topic_name, "-o", "beginning", "-e", "-m", "10",
               "-f", "%k %s %h\n").stdout
    got = [line for line in out.splitlines() if line]
    want = [f"key{i % 3} value {i} h1=v1,h2=v2,h1=again" for i in range(30)]
    assert sorted(got) == sorted(want)
    # per key in produce order (one key -> one partition)
    for k in range(3):
        mine = [g for g in got if g.startswith(f"key{k} ")]
        assert mine == [w for w in want if w.startswith(f"key{k} ")]
    # partitions and offsets
    out = kcat("-b", broker.bootstrap, "-C", "-t", topic_name, "-o", "beginning", "-e", "-m", "10",
               "-f", "%p %o\n").stdout
    by_part: dict[int, list[int]] = {}
    for line in out.splitlines():
        if line:
            p, o = map(int, line.split())
            by_part.setdefault(p, []).append(o)
    assert sum(len(v) for v in by_part.values()) == 30
    for p, offs in by_part.items():
        assert offs == list(range(len(offs))), f"partition {p}: {offs}"


def test_kcat_null_values_and_offset_query(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, 1)
    kcat("-b", broker.bootstrap, "-P", "-t", topic_name, "-K:", "-Z", input="a:1\nb:\nc:3\n")
    out = kcat("-b", broker.bootstrap, "-C", "-t", topic_name, "-o", "beginning", "-e", "-Z",
               "-f", "%o %k %s\n").stdout
    assert out.splitlines() == ["0 a 1", "1 b NULL", "2 c 3"]
    # consume starting at an offset, and from the end
    out = kcat("-b", broker.bootstrap, "-C", "-t", topic_name, "-o", "2", "-e", "-f", "%o %s\n").stdout
    assert out.splitlines() == ["2 3"]
    out = kcat("-b", broker.bootstrap, "-C", "-t", topic_name, "-o", "-2", "-e", "-Z", "-f", "%o %s\n").stdout
    assert out.splitlines() == ["1 NULL", "2 3"]
