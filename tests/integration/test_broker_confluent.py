"""Gregor driven by confluent-kafka-python (librdkafka): topics through AdminClient, produce with
every codec and acks setting, consume back with assign() (no consumer groups yet), offsets by
time, watermarks, fetch from the middle of a batch, long-poll wake-up, the idempotent producer,
delete / grow topics, topic configs, and CreateTopics errors compared with Apache Kafka."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest
from confluent_kafka import (OFFSET_BEGINNING, TIMESTAMP_CREATE_TIME, Consumer, KafkaError, KafkaException,
                             Producer, TopicPartition)
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewPartitions, NewTopic, ResourceType

from helpers import unique_name, wait_until

# Kafka error codes
TOPIC_ALREADY_EXISTS = 36
INVALID_TOPIC_EXCEPTION = 17
INVALID_PARTITIONS = 37
INVALID_REPLICATION_FACTOR = 38
INVALID_CONFIG = 40
UNKNOWN_TOPIC_OR_PARTITION = 3


# --------------------------------------------------------------------------- helpers


def admin_client(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 10000})


def wait_topic(admin: AdminClient, topic: str, partitions: int, timeout: float = 15) -> None:
    def ready():
        md = admin.list_topics(topic=topic, timeout=5)
        t = md.topics.get(topic)
        return (t is not None and t.error is None and len(t.partitions) == partitions
                and all(p.leader >= 0 for p in t.partitions.values()))
    wait_until(ready, timeout=timeout, message=f"topic {topic} with {partitions} partitions and leaders")


def create_topic(bootstrap: str, topic: str, partitions: int = 1, config: dict | None = None) -> AdminClient:
    admin = admin_client(bootstrap)
    fut = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1,
                                        config=config or {})], operation_timeout=10)
    fut[topic].result(timeout=20)
    wait_topic(admin, topic, partitions)
    return admin


def create_error_code(bootstrap: str, new_topic: NewTopic) -> int | None:
    """CreateTopics for one topic; returns the Kafka error code, or None on success."""
    admin = admin_client(bootstrap)
    fut = admin.create_topics([new_topic], operation_timeout=10)
    try:
        fut[new_topic.topic].result(timeout=20)
        return None
    except KafkaException as e:
        return e.args[0].code()


@dataclass
class Rec:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list | None
    ts_type: int
    ts: int


def consumer(bootstrap: str, **extra) -> Consumer:
    conf = {"bootstrap.servers": bootstrap, "group.id": "gregor-tests-assign-only",
            "enable.auto.commit": False, "enable.auto.offset.store": False,
            "enable.partition.eof": True, "socket.timeout.ms": 10000}
    conf.update(extra)
    return Consumer(conf)


def consume(bootstrap: str, assignment: list[TopicPartition], expected: int, timeout: float = 20,
            **extra) -> list[Rec]:
    """Assigns, then reads until at least `expected` records arrived and every assigned partition
    reported EOF after its last record (so extra records, e.g. duplicates, are seen too), or
    the deadline passes. Returns what was read."""
    c = consumer(bootstrap, **extra)
    out: list[Rec] = []
    errors: list[KafkaError] = []
    at_eof = {tp.partition: False for tp in assignment}
    try:
        c.assign(assignment)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(out) >= expected and all(at_eof.values()):
                break
            m = c.poll(0.2)
            if m is None:
                continue
            err = m.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    at_eof[m.partition()] = True
                    continue
                if err.fatal() or m.topic() is not None:
                    errors.append(err)
                continue  # e.g. group-coordinator chatter unrelated to assign()
            at_eof[m.partition()] = False
            ts_type, ts = m.timestamp()
            out.append(Rec(m.partition(), m.offset(), m.key(), m.value(), m.headers(), ts_type, ts))
    finally:
        c.close()
    assert not errors, f"consumer errors: {errors}"
    return out


def all_partitions(topic: str, n: int, offset: int = OFFSET_BEGINNING) -> list[TopicPartition]:
    return [TopicPartition(topic, p, offset) for p in range(n)]


class Deliveries:
    def __init__(self):
        self.ok: list = []
        self.errors: list = []
        self.lock = threading.Lock()

    def __call__(self, err, msg):
        with self.lock:
            if err is not None:
                self.errors.append(err)
            else:
                self.ok.append(msg)


def record_plan(n: int, base_ts: int) -> list[dict]:
    """Records mixing keys, null / empty keys and values, headers with duplicate keys and null
    values, no headers, and unique explicit timestamps (base_ts + 10*i identifies record i)."""
    recs = []
    for i in range(n):
        key = f"key-{i % 5}".encode()
        if i % 7 == 3:
            key = None
        elif i % 13 == 6:
            key = b""
        value = (f"value-{i}-" + "abcdefgh" * (i * 37 % 300)).encode()
        if i % 11 == 5:
            value = None
        elif i % 17 == 9:
            value = b""
        headers = [("idx", str(i).encode()), ("dup", b"first"), ("dup", b"second"), ("nullh", None),
                   ("empty", b"")]
        if i % 4 == 1:
            headers = [("only", b"one")]
        elif i % 9 == 8:
            headers = None
        recs.append({"key": key, "value": value, "headers": headers, "timestamp": base_ts + 10 * i})
    return recs


def norm_headers(h):
    return None if not h else [(k, v) for k, v in h]


# --------------------------------------------------------------------------- topics


def test_create_topic_and_list(broker, topic_name):
    admin = create_topic(broker.bootstrap, topic_name, partitions=3)
    md = admin.list_topics(timeout=10)
    assert topic_name in md.topics
    t = md.topics[topic_name]
    assert sorted(t.partitions) == [0, 1, 2]
    assert all(p.leader == broker.node_id for p in t.partitions.values())
    assert all(p.replicas == [broker.node_id] and p.isrs == [broker.node_id] for p in t.partitions.values())
    assert broker.node_id in md.brokers
    assert md.brokers[broker.node_id].port == broker.port


# --------------------------------------------------------------------------- produce / consume


@pytest.mark.parametrize("acks", ["0", "1", "all"])
@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_produce_consume_roundtrip(broker, topic_name, codec, acks):
    partitions, n = 3, 60
    create_topic(broker.bootstrap, topic_name, partitions)
    base_ts = int(time.time() * 1000) - 3_600_000
    plan = record_plan(n, base_ts)
    dr = Deliveries()
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": acks, "compression.type": codec,
                  "linger.ms": 20, "message.timeout.ms": 20000})
    for r in plan:
        p.produce(topic_name, on_delivery=dr, **r)
    assert p.flush(25) == 0, "producer did not flush"
    assert not dr.errors, f"delivery errors: {dr.errors}"
    assert len(dr.ok) == n

    got = consume(broker.bootstrap, all_partitions(topic_name, partitions), n)
    assert len(got) == n, f"consumed {len(got)} of {n} records"
    by_ts = {r.ts: r for r in got}
    assert len(by_ts) == n, "records consumed twice"
    for i, want in enumerate(plan):
        rec = by_ts.get(want["timestamp"])
        assert rec is not None, f"record {i} (timestamp {want['timestamp']}) missing"
        assert rec.ts_type == TIMESTAMP_CREATE_TIME
        assert rec.key == want["key"], f"record {i} key"
        assert rec.value == want["value"], f"record {i} value"
        assert norm_headers(rec.headers) == norm_headers(want["headers"]), f"record {i} headers"

    # per-partition offsets 0..n-1, no gaps
    offsets: dict[int, list[int]] = {}
    for r in got:
        offsets.setdefault(r.partition, []).append(r.offset)
    for part, offs in offsets.items():
        assert offs == list(range(len(offs))), f"partition {part} offsets {offs}"

    # one key -> one partition, in produce order
    by_key: dict[bytes, list[Rec]] = {}
    for r in sorted(got, key=lambda r: r.ts):
        if r.key:  # null and empty keys are spread at random by librdkafka
            by_key.setdefault(r.key, []).append(r)
    for key, recs in by_key.items():
        assert len({r.partition for r in recs}) == 1, f"key {key!r} in several partitions"
        assert [r.offset for r in recs] == sorted(r.offset for r in recs), f"key {key!r} out of order"

    if acks != "0":
        # what the producer was told matches what is stored
        for m in dr.ok:
            rec = by_ts[m.timestamp()[1]]
            assert (m.partition(), m.offset()) == (rec.partition, rec.offset)


def test_auto_create_topic_on_produce(broker, topic_name):
    dr = Deliveries()
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "message.timeout.ms": 15000})
    p.produce(topic_name, key=b"k", value=b"v", on_delivery=dr)
    assert p.flush(20) == 0
    assert not dr.errors, dr.errors
    assert [(m.partition(), m.offset()) for m in dr.ok] == [(0, 0)]
    admin = admin_client(broker.bootstrap)
    t = admin.list_topics(topic=topic_name, timeout=10).topics[topic_name]
    assert t.error is None and len(t.partitions) == 1  # num.partitions default
    got = consume(broker.bootstrap, all_partitions(topic_name, 1), 1)
    assert [(r.key, r.value) for r in got] == [(b"k", b"v")]


def test_no_auto_create_when_disabled(broker_factory, topic_name):
    b = broker_factory(config={"auto.create.topics.enable": "false"})
    dr = Deliveries()
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "message.timeout.ms": 3000})
    p.produce(topic_name, value=b"v", on_delivery=dr)
    p.flush(10)
    assert not dr.ok
    assert len(dr.errors) == 1 and dr.errors[0].code() in (
        KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC, KafkaError._MSG_TIMED_OUT), dr.errors
    md = admin_client(b.bootstrap).list_topics(timeout=10)
    assert topic_name not in md.topics or md.topics[topic_name].error is not None


# --------------------------------------------------------------------------- offsets


def _produce_one_batch(bootstrap: str, topic: str, values: list[bytes], timestamps: list[int] | None = None,
                       partition: int = 0) -> list:
    """Produces values with a long linger so librdkafka sends them in one batch."""
    dr = Deliveries()
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 200, "message.timeout.ms": 15000})
    p.list_topics(topic=topic, timeout=10)  # metadata first, so all records join one batch
    for i, v in enumerate(values):
        kw = {"timestamp": timestamps[i]} if timestamps else {}
        p.produce(topic, value=v, partition=partition, on_delivery=dr, **kw)
    assert p.flush(20) == 0
    assert not dr.errors, dr.errors
    return sorted(dr.ok, key=lambda m: m.offset())


def test_offsets_for_times(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, 1)
    base = int(time.time() * 1000) - 600_000
    stamps = [base + 1000 * i for i in range(10)]
    # two batches: the answer must point inside a batch, not at its first record
    _produce_one_batch(broker.bootstrap, topic_name, [f"a{i}".encode() for i in range(5)], stamps[:5])
    _produce_one_batch(broker.bootstrap, topic_name, [f"a{i}".encode() for i in range(5, 10)], stamps[5:])
    c = consumer(broker.bootstrap)
    try:
        def lookup(ts):
            res = c.offsets_for_times([TopicPartition(topic_name, 0, ts)], timeout=10)
            assert res[0].error is None, res[0].error
            return res[0].offset
        assert lookup(base - 100_000) == 0
        assert lookup(base) == 0
        assert lookup(base + 1) == 1
        assert lookup(base + 2500) == 3
        assert lookup(base + 3000) == 3
        assert lookup(base + 7000) == 7
        assert lookup(base + 9000) == 9
        assert lookup(base + 100_000) == -1  # after the last record: end (-1)
    finally:
        c.close()


def test_watermark_offsets(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, 2)
    c = consumer(broker.bootstrap)
    try:
        assert c.get_watermark_offsets(TopicPartition(topic_name, 0), timeout=10, cached=False) == (0, 0)
        _produce_one_batch(broker.bootstrap, topic_name, [b"x"] * 7, partition=0)
        _produce_one_batch(broker.bootstrap, topic_name, [b"y"] * 3, partition=0)
        assert c.get_watermark_offsets(TopicPartition(topic_name, 0), timeout=10, cached=False) == (0, 10)
        assert c.get_watermark_offsets(TopicPartition(topic_name, 1), timeout=10, cached=False) == (0, 0)
    finally:
        c.close()


def test_fetch_from_middle_of_batch(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, 1)
    acked = _produce_one_batch(broker.bootstrap, topic_name, [f"v{i}".encode() for i in range(10)])
    assert [m.offset() for m in acked] == list(range(10))
    got = consume(broker.bootstrap, [TopicPartition(topic_name, 0, 5)], 5)
    assert got, "nothing consumed from offset 5"
    assert got[0].offset == 5
    assert [(r.offset, r.value) for r in got] == [(i, f"v{i}".encode()) for i in range(5, 10)]


def test_long_poll_wakes_up_on_produce(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, 1)
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "1", "linger.ms": 0})
    p.produce(topic_name, value=b"first")
    assert p.flush(10) == 0
    c = consumer(broker.bootstrap, **{"fetch.wait.max.ms": 10000, "enable.partition.eof": False})
    try:
        c.assign([TopicPartition(topic_name, 0, 0)])
        first = None
        deadline = time.monotonic() + 15
        while first is None and time.monotonic() < deadline:
            first = c.poll(0.5)
        assert first is not None and first.error() is None and first.value() == b"first"
        # give the consumer time to send its next (long-poll) Fetch; nothing must arrive meanwhile
        assert c.poll(1.0) is None
        t0 = time.monotonic()
        p.produce(topic_name, value=b"second")
        assert p.flush(10) == 0
        msg = None
        while msg is None and time.monotonic() - t0 < 12:
            msg = c.poll(0.1)
        elapsed = time.monotonic() - t0
        assert msg is not None, "record produced during a long poll never arrived"
        assert msg.error() is None and msg.value() == b"second"
        assert elapsed < 5, f"record arrived {elapsed:.1f}s after produce: the waiting fetch was not woken up"
    finally:
        c.close()


# --------------------------------------------------------------------------- idempotence


def test_idempotent_producer_no_duplicates(broker, topic_name):
    partitions, n = 3, 1000
    create_topic(broker.bootstrap, topic_name, partitions)
    dr = Deliveries()
    p = Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": True, "linger.ms": 5,
                  "message.timeout.ms": 20000})
    for i in range(n):
        p.produce(topic_name, key=f"k{i % 10}".encode(), value=f"{i}".encode(), on_delivery=dr)
        p.poll(0)
    assert p.flush(25) == 0
    assert not dr.errors, dr.errors[:5]
    assert len(dr.ok) == n
    got = consume(broker.bootstrap, all_partitions(topic_name, partitions), n)
    values = [int(r.value) for r in got]
    assert len(values) == n and set(values) == set(range(n)), \
        f"{len(values)} records, {len(set(values))} distinct, duplicates: {len(values) - len(set(values))}"
    for part in range(partitions):
        offs = [r.offset for r in got if r.partition == part]
        assert offs == list(range(len(offs)))
        vals = [int(r.value) for r in got if r.partition == part]
        assert vals == sorted(vals), f"partition {part} out of produce order"


# --------------------------------------------------------------------------- admin


def test_delete_topic(broker, topic_name):
    admin = create_topic(broker.bootstrap, topic_name, 2)
    _produce_one_batch(broker.bootstrap, topic_name, [b"old"] * 3)
    fut = admin.delete_topics([topic_name], operation_timeout=10)
    fut[topic_name].result(timeout=20)
    wait_until(lambda: topic_name not in admin.list_topics(timeout=5).topics, timeout=15,
               message=f"{topic_name} gone from metadata")
    # deleting again: UNKNOWN_TOPIC_OR_PARTITION
    fut = admin.delete_topics([topic_name], operation_timeout=10)
    with pytest.raises(KafkaException) as ei:
        fut[topic_name].result(timeout=20)
    assert ei.value.args[0].code() == UNKNOWN_TOPIC_OR_PARTITION
    # the name can be used again, and the new topic starts empty
    create_topic(broker.bootstrap, topic_name, 1)
    acked = _produce_one_batch(broker.bootstrap, topic_name, [b"new"])
    assert [m.offset() for m in acked] == [0]
    got = consume(broker.bootstrap, all_partitions(topic_name, 1), 1)
    assert [r.value for r in got] == [b"new"]


def test_create_partitions(broker, topic_name):
    admin = create_topic(broker.bootstrap, topic_name, 1)
    fut = admin.create_partitions([NewPartitions(topic_name, 3)], operation_timeout=10)
    fut[topic_name].result(timeout=20)
    wait_topic(admin, topic_name, 3)
    acked = _produce_one_batch(broker.bootstrap, topic_name, [b"p2"], partition=2)
    assert [(m.partition(), m.offset()) for m in acked] == [(2, 0)]
    # shrinking is refused
    fut = admin.create_partitions([NewPartitions(topic_name, 2)], operation_timeout=10)
    with pytest.raises(KafkaException) as ei:
        fut[topic_name].result(timeout=20)
    assert ei.value.args[0].code() == INVALID_PARTITIONS


def _describe_topic_configs(admin: AdminClient, topic: str) -> dict:
    res = ConfigResource(ResourceType.TOPIC, topic)
    fut = admin.describe_configs([res], request_timeout=10)
    return fut[res].result(timeout=20)


def test_describe_topic_configs(broker, topic_name):
    admin = create_topic(broker.bootstrap, topic_name, 1)
    cfg = _describe_topic_configs(admin, topic_name)
    assert cfg["retention.ms"].value == "604800000"
    assert cfg["cleanup.policy"].value == "delete"
    assert cfg["retention.ms"].is_default


def test_describe_topic_configs_with_override(broker, topic_name):
    admin = create_topic(broker.bootstrap, topic_name, 1, config={"retention.ms": "3600000",
                                                                   "cleanup.policy": "compact"})
    cfg = _describe_topic_configs(admin, topic_name)
    assert cfg["retention.ms"].value == "3600000"
    assert cfg["cleanup.policy"].value == "compact"
    assert not cfg["retention.ms"].is_default
    src = cfg["retention.ms"].source
    assert ConfigSource(getattr(src, "value", src)) == ConfigSource.DYNAMIC_TOPIC_CONFIG


CREATE_ERRORS = {
    "invalid_name": (lambda t: NewTopic("bad name!" + t[-6:], 1, 1), INVALID_TOPIC_EXCEPTION),
    "dot_dot_name": (lambda t: NewTopic("..", 1, 1), INVALID_TOPIC_EXCEPTION),
    "name_250_chars": (lambda t: NewTopic("x" * 250, 1, 1), INVALID_TOPIC_EXCEPTION),
    "replication_factor_3": (lambda t: NewTopic(t, 1, 3), INVALID_REPLICATION_FACTOR),
    "bad_config_value": (lambda t: NewTopic(t, 1, 1, config={"cleanup.policy": "bogus"}), INVALID_CONFIG),
    "non_numeric_retention": (lambda t: NewTopic(t, 1, 1, config={"retention.ms": "abc"}), INVALID_CONFIG),
    "unknown_config_key": (lambda t: NewTopic(t, 1, 1, config={"no.such.config": "1"}), INVALID_CONFIG),
}


@pytest.mark.parametrize("case", sorted(CREATE_ERRORS))
def test_create_topic_errors(broker, topic_name, case):
    make, want = CREATE_ERRORS[case]
    assert create_error_code(broker.bootstrap, make(topic_name)) == want
    # nothing half-created
    if case not in ("invalid_name", "dot_dot_name", "name_250_chars"):
        assert topic_name not in admin_client(broker.bootstrap).list_topics(timeout=10).topics


def test_create_topic_already_exists(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, 1)
    assert create_error_code(broker.bootstrap, NewTopic(topic_name, 2, 1)) == TOPIC_ALREADY_EXISTS
    md = admin_client(broker.bootstrap).list_topics(topic=topic_name, timeout=10)
    assert len(md.topics[topic_name].partitions) == 1


@pytest.mark.parametrize("case", ["invalid_name", "replication_factor_3", "bad_config_value", "unknown_config_key"])
def test_create_topic_errors_match_kafka(broker, kafka_ref, case):
    make, _want = CREATE_ERRORS[case]
    codes = {}
    for name, bootstrap in (("gregor", broker.bootstrap), ("kafka", kafka_ref.bootstrap)):
        codes[name] = create_error_code(bootstrap, make(unique_name(case)))
    assert codes["gregor"] == codes["kafka"], codes


# --------------------------------------------------------------------------- edge cases users hit


def test_out_of_range_offset_resets_to_earliest(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, 1)
    _produce_one_batch(broker.bootstrap, topic_name, [f"v{i}".encode() for i in range(3)])
    got = consume(broker.bootstrap, [TopicPartition(topic_name, 0, 1000)], 3, **{"auto.offset.reset": "earliest"})
    assert [(r.offset, r.value) for r in got] == [(i, f"v{i}".encode()) for i in range(3)]


def test_out_of_range_offset_with_reset_error_is_reported(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, 1)
    _produce_one_batch(broker.bootstrap, topic_name, [b"x"])
    c = consumer(broker.bootstrap, **{"auto.offset.reset": "error", "enable.partition.eof": False})
    try:
        c.assign([TopicPartition(topic_name, 0, 1000)])
        deadline = time.monotonic() + 15
        err = None
        while err is None and time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is not None and m.error() is not None and m.topic() == topic_name:
                err = m.error()
            assert m is None or m.error() is not None, "a record was delivered from an out-of-range offset"
    finally:
        c.close()
    assert err is not None and err.code() == KafkaError._AUTO_OFFSET_RESET, err


def test_record_larger_than_fetch_limits_is_still_returned(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, 1)
    big = bytes(range(256)) * 800  # 200 KiB, incompressible enough
    _produce_one_batch(broker.bootstrap, topic_name, [b"small", big, b"after"])
    got = consume(broker.bootstrap, all_partitions(topic_name, 1), 3,
                  **{"max.partition.fetch.bytes": 1024, "fetch.max.bytes": 2048, "message.max.bytes": 1000})
    assert [r.value for r in got] == [b"small", big, b"after"]


def test_message_too_large_is_refused(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, 1)
    dr = Deliveries()
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "message.max.bytes": 5_000_000,
                  "message.timeout.ms": 10000})
    p.produce(topic_name, value=b"\x01" * 2_000_000, on_delivery=dr)  # > message.max.bytes 1048588
    p.produce(topic_name, value=b"fits", on_delivery=dr)
    p.flush(15)
    codes = sorted(e.code() for e in dr.errors)
    assert codes == [KafkaError.MSG_SIZE_TOO_LARGE], dr.errors
    assert [m.value() for m in dr.ok] == [b"fits"]
    got = consume(broker.bootstrap, all_partitions(topic_name, 1), 1)
    assert [r.value for r in got] == [b"fits"]


def test_log_append_time_topic(broker, topic_name):
    from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME
    create_topic(broker.bootstrap, topic_name, 1, config={"message.timestamp.type": "LogAppendTime"})
    before = int(time.time() * 1000)
    old = before - 86_400_000
    acked = _produce_one_batch(broker.bootstrap, topic_name, [f"v{i}".encode() for i in range(5)], [old] * 5)
    after = int(time.time() * 1000)
    for m in acked:
        ts_type, ts = m.timestamp()
        assert before - 1000 <= ts <= after + 1000, f"delivery report timestamp {ts} not the append time"
    got = consume(broker.bootstrap, all_partitions(topic_name, 1), 5)
    assert [r.value for r in got] == [f"v{i}".encode() for i in range(5)]  # CRC still valid
    for r in got:
        assert r.ts_type == TIMESTAMP_LOG_APPEND_TIME
        assert before - 1000 <= r.ts <= after + 1000, f"record timestamp {r.ts} not the broker's append time"


CODEC_IDS = {"uncompressed": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


@pytest.mark.parametrize("topic_codec", ["uncompressed", "gzip", "snappy", "lz4", "zstd", "producer"])
def test_topic_compression_type(broker, topic_name, topic_codec):
    """The topic's compression.type decides how batches are stored ('producer' keeps the
    producer's codec); consumers read the same records either way."""
    create_topic(broker.bootstrap, topic_name, 1, config={"compression.type": topic_codec})
    base_ts = int(time.time() * 1000) - 5000
    values = [(f"v{i}-" + "q" * 200).encode() for i in range(20)]
    dr = Deliveries()
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "compression.type": "snappy",
                  "linger.ms": 50})
    for i, v in enumerate(values):
        p.produce(topic_name, key=b"k", value=v, headers=[("i", str(i).encode())], timestamp=base_ts + i,
                  partition=0, on_delivery=dr)
    assert p.flush(15) == 0 and not dr.errors, dr.errors
    assert sorted(m.offset() for m in dr.ok) == list(range(20))
    got = consume(broker.bootstrap, all_partitions(topic_name, 1), 20)
    assert [(r.offset, r.value, r.headers, r.ts) for r in got] == \
        [(i, v, [("i", str(i).encode())], base_ts + i) for i, v in enumerate(values)]
    # the stored batches carry the topic's codec (attributes bits 0-2)
    want = CODEC_IDS.get(topic_codec, CODEC_IDS["snappy"])
    codecs = stored_codecs(broker, topic_name)
    assert codecs and set(codecs) == {want}, f"stored batch codecs {codecs}, want {want}"


def stored_codecs(broker, topic: str, partition: int = 0) -> list[int]:
    """The codec (attributes bits 0-2) of every batch in the partition's first segment."""
    import struct
    seg = sorted((broker.data_dir / f"{topic}-{partition}").glob("*.log"))[0]
    data = seg.read_bytes()
    pos, codecs = 0, []
    while pos + 61 <= len(data):
        (length,) = struct.unpack_from(">i", data, pos + 8)
        (attrs,) = struct.unpack_from(">h", data, pos + 21)
        codecs.append(attrs & 7)
        pos += 12 + length
    return codecs


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_librdkafka_really_compresses(broker, topic_name, codec):
    """librdkafka silently sends uncompressed batches when it thinks the broker lacks a codec.
    It derives LZ4 support from the broker advertising FindCoordinator (rdkafka_feature.c), so a
    broker without FindCoordinator gets lz4 producers' data uncompressed. Against Apache Kafka every
    codec arrives as configured (compression.type=producer keeps it on disk)."""
    create_topic(broker.bootstrap, topic_name, 1)
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "compression.type": codec,
                  "linger.ms": 50})
    for i in range(20):
        p.produce(topic_name, value=b"v" + b"q" * 200, partition=0)
    assert p.flush(15) == 0
    codecs = stored_codecs(broker, topic_name)
    assert codecs and set(codecs) == {CODEC_IDS[codec]}, \
        f"stored batch codecs {codecs}: the {codec} producer did not send {codec} batches"
