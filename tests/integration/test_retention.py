"""Retention and DeleteRecords on a real Gregor broker.

Time and size retention by Kafka's rules (whole closed segments, the log start offset moves to
the next segment's base and is checkpointed, removed files are renamed *.deleted and unlinked
after file.delete.delay.ms); a lowered retention applies at the next check; compact-only topics
are left alone; DeleteRecords through confluent-kafka's AdminClient, Kafka's
kafka-delete-records and `gregor topic delete-records`, surviving a kill -9; reads below the
log start get OFFSET_OUT_OF_RANGE and ListOffsets earliest moves; DeleteRecords' answers
compared with the reference Apache Kafka.

Records are produced with old CreateTime timestamps where a test needs old data, so nothing
waits for wall-clock time to pass; every wait polls a condition against a deadline.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic,
                                   ResourceType)

from helpers import unique_name, wait_until
from kafka_proto import KafkaClient, build_record_batch, parse_record_batches

NONE = 0
OFFSET_OUT_OF_RANGE = 1
UNKNOWN_TOPIC_OR_PARTITION = 3
POLICY_VIOLATION = 44

MIB = 1 << 20
HOUR_MS = 3600 * 1000
# Retention checked four times a second; removed segment files unlinked at once.
FAST = {"log.retention.check.interval.ms": 250, "log.segment.delete.delay.ms": 0}


# --------------------------------------------------------------------------- helpers


def admin_for(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 10000})


def create_topic(bootstrap: str, topic: str, config: dict | None = None, partitions: int = 1) -> None:
    admin = admin_for(bootstrap)
    fut = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1,
                                        config={k: str(v) for k, v in (config or {}).items()})],
                              operation_timeout=10)
    fut[topic].result(timeout=20)

    def ready():
        t = admin.list_topics(topic=topic, timeout=5).topics.get(topic)
        return t is not None and t.error is None and all(p.leader >= 0 for p in t.partitions.values())
    wait_until(ready, timeout=15, message=f"topic {topic} ready")


def produce(bootstrap: str, topic: str, count: int, size: int = 1000, timestamp_ms: int | None = None,
            prefix: str = "v", keyed: bool = False, partition: int = 0) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.size": 256 * 1024,
                  "compression.type": "none", "enable.idempotence": False})
    pad = "x" * max(0, size - 16)
    for i in range(count):
        kw = {"timestamp": timestamp_ms} if timestamp_ms is not None else {}
        p.produce(topic, value=f"{prefix}{i:08d}{pad}".encode(), key=f"k{i}".encode() if keyed else None,
                  partition=partition, **kw)
        if i % 1000 == 999:
            p.poll(0)
    assert p.flush(30) == 0


def list_offset(bootstrap: str, topic: str, timestamp: int, partition: int = 0) -> int:
    host, port = bootstrap.split(":")
    with KafkaClient(host, int(port)) as c:
        r = c.send("ListOffsets", 7, {"ReplicaId": -1, "IsolationLevel": 0, "Topics": [
            {"Name": topic, "Partitions": [{"PartitionIndex": partition, "Timestamp": timestamp,
                                            "CurrentLeaderEpoch": -1}]}]})
    p = r["Topics"][0]["Partitions"][0]
    assert p["ErrorCode"] == NONE, p
    return p["Offset"]


def earliest(bootstrap: str, topic: str, partition: int = 0) -> int:
    return list_offset(bootstrap, topic, -2, partition)


def latest(bootstrap: str, topic: str, partition: int = 0) -> int:
    return list_offset(bootstrap, topic, -1, partition)


def fetch(bootstrap: str, topic: str, offset: int, partition: int = 0) -> dict:
    """Fetch v11 (topics by name) of one partition from offset."""
    host, port = bootstrap.split(":")
    with KafkaClient(host, int(port)) as c:
        r = c.send("Fetch", 11, {
            "ReplicaId": -1, "MaxWaitMs": 0, "MinBytes": 0, "MaxBytes": 1 << 20, "IsolationLevel": 0,
            "SessionId": 0, "SessionEpoch": -1, "ForgottenTopicsData": [], "RackId": "",
            "Topics": [{"Topic": topic, "Partitions": [
                {"Partition": partition, "FetchOffset": offset, "PartitionMaxBytes": 1 << 20,
                 "CurrentLeaderEpoch": -1, "LogStartOffset": -1}]}]})
    return r["Responses"][0]["Partitions"][0]


def segments(broker, topic: str, partition: int = 0) -> dict[int, int]:
    """{base offset: .log size} of the partition's segments on disk (not *.deleted)."""
    d = Path(broker.data_dir) / f"{topic}-{partition}"
    out = {}
    for f in d.iterdir():
        if f.name.endswith(".log") and len(f.name) == 24:
            out[int(f.name[:20])] = f.stat().st_size
    return out


def deleted_files(broker, topic: str, partition: int = 0) -> list[str]:
    d = Path(broker.data_dir) / f"{topic}-{partition}"
    return [f.name for f in d.iterdir() if f.name.endswith(".deleted")]


def start_checkpoint(broker, topic: str, partition: int = 0) -> int | None:
    path = Path(broker.data_dir) / "log-start-offset-checkpoint"
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    for line in lines[2:]:
        t, p, off = line.rsplit(" ", 2)
        if t == topic and int(p) == partition:
            return int(off)
    return None


def consume_values(bootstrap: str, topic: str, start, count: int, partition: int = 0,
                   timeout: float = 30) -> list[tuple[int, str]]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_name("g"), "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    try:
        c.assign([TopicPartition(topic, partition, start)])
        out: list[tuple[int, str]] = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise KafkaException(m.error())
            out.append((m.offset(), m.value().decode()))
        return out
    finally:
        c.close()


def alter_topic(bootstrap: str, topic: str, **configs) -> None:
    admin = admin_for(bootstrap)
    res = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry(k.replace("_", "."), str(v), incremental_operation=AlterConfigOpType.SET)
        for k, v in configs.items()])
    admin.incremental_alter_configs([res])[res].result(timeout=20)


def old_ms(hours: float = 2) -> int:
    return int(time.time() * 1000) - int(hours * HOUR_MS)


# --------------------------------------------------------------------------- retention


def test_retention_ms_deletes_old_segments(broker_factory, topic_name):
    b = broker_factory(config=FAST)
    create_topic(b.bootstrap, topic_name, {"segment.bytes": MIB, "retention.ms": HOUR_MS})
    produce(b.bootstrap, topic_name, 3000, timestamp_ms=old_ms(2), prefix="old")
    produce(b.bootstrap, topic_name, 10, prefix="new")
    assert latest(b.bootstrap, topic_name) == 3010

    # Every segment holding only two-hour-old records goes; the one with the new records stays.
    start = wait_until(lambda: earliest(b.bootstrap, topic_name) or None, timeout=30,
                       message="log start offset to move")
    assert 0 < start <= 3000
    segs = wait_until(lambda: (s := segments(b, topic_name)) and min(s) == start and s, timeout=30,
                      message="old segment files to go")
    assert start in segs, "the log start is the base of the first remaining segment"
    wait_until(lambda: not deleted_files(b, topic_name), timeout=30, message="*.deleted files unlinked")
    assert latest(b.bootstrap, topic_name) == 3010

    # Reads below the start are out of range; from the start everything that is left is there.
    f = fetch(b.bootstrap, topic_name, 0)
    assert f["ErrorCode"] == OFFSET_OUT_OF_RANGE
    f = fetch(b.bootstrap, topic_name, start)
    assert f["ErrorCode"] == NONE and f["LogStartOffset"] == start
    assert parse_record_batches(f["Records"])[0]["baseOffset"] == start
    got = consume_values(b.bootstrap, topic_name, OFFSET_BEGINNING, 3010 - start)
    assert got[0][0] == start and len(got) == 3010 - start
    assert [v[:11] for _, v in got[-10:]] == [f"new{i:08d}" for i in range(10)]

    # Checkpointed at once; a restart keeps it.
    wait_until(lambda: start_checkpoint(b, topic_name) == start, timeout=10,
               message="log-start-offset-checkpoint to hold the new start")
    b.restart()
    assert earliest(b.bootstrap, topic_name) == start
    assert "by retention time" in b.stderr_text()


def test_retention_bytes_keeps_at_least_the_limit(broker_factory, topic_name):
    b = broker_factory(config=FAST)
    limit = 2 * MIB + MIB // 2
    create_topic(b.bootstrap, topic_name, {"segment.bytes": MIB, "retention.bytes": limit})
    produce(b.bootstrap, topic_name, 6000)

    def settled():
        segs = segments(b, topic_name)
        total = sum(segs.values())
        first = segs[min(segs)]
        # Kafka's rule: delete the oldest while what remains stays >= retention.bytes.
        return earliest(b.bootstrap, topic_name) > 0 and total >= limit and total - first < limit and segs
    segs = wait_until(settled, timeout=30, message="retention.bytes to trim the log")
    assert earliest(b.bootstrap, topic_name) == min(segs)
    assert len(segs) >= 3
    assert latest(b.bootstrap, topic_name) == 6000

    # DescribeLogDirs reports the same size as the files on disk.
    host, port = b.bootstrap.split(":")
    with KafkaClient(host, int(port)) as c:
        r = c.send("DescribeLogDirs", 4, {"Topics": [{"Topic": topic_name, "Partitions": [0]}]})
    parts = r["Results"][0]["Topics"][0]["Partitions"]
    assert parts[0]["PartitionSize"] == sum(segs.values())


def test_lowered_retention_applies_at_next_check(broker_factory, topic_name):
    b = broker_factory(config=FAST)
    other = topic_name + "-default"
    create_topic(b.bootstrap, topic_name, {"segment.bytes": MIB})
    create_topic(b.bootstrap, other, {"segment.bytes": MIB})
    produce(b.bootstrap, topic_name, 2500)
    produce(b.bootstrap, other, 2500)
    assert earliest(b.bootstrap, topic_name) == 0 and len(segments(b, topic_name)) >= 3

    # Lower the topic's retention.ms: every segment (the active one rolled first) goes.
    alter_topic(b.bootstrap, topic_name, retention_ms=1000)
    wait_until(lambda: earliest(b.bootstrap, topic_name) == 2500, timeout=30,
               message="the whole log to expire")
    assert latest(b.bootstrap, topic_name) == 2500
    assert list(segments(b, topic_name)) == [2500]
    # Appends continue at the same offsets.
    produce(b.bootstrap, topic_name, 1, prefix="after")
    assert latest(b.bootstrap, topic_name) == 2501

    # The other topic follows the cluster-wide default log.retention.ms once it is lowered.
    assert earliest(b.bootstrap, other) == 0
    host, port = b.bootstrap.split(":")
    with KafkaClient(host, int(port)) as c:
        r = c.send("IncrementalAlterConfigs", 1, {"Resources": [{"ResourceType": 4, "ResourceName": "", "Configs": [
            {"Name": "log.retention.ms", "ConfigOperation": 0, "Value": "1000"}]}], "ValidateOnly": False})
    assert r["Responses"][0]["ErrorCode"] == NONE, r
    wait_until(lambda: earliest(b.bootstrap, other) == 2500, timeout=30,
               message="the default-retention topic to expire")


def test_compact_only_topic_is_not_deleted_by_retention(broker_factory, topic_name):
    b = broker_factory(config=FAST)
    compact, control = topic_name + "-compact", topic_name + "-control"
    create_topic(b.bootstrap, compact, {"segment.bytes": MIB, "retention.ms": 1000, "cleanup.policy": "compact"})
    create_topic(b.bootstrap, control, {"segment.bytes": MIB, "retention.ms": 1000})
    produce(b.bootstrap, compact, 2500, timestamp_ms=old_ms(5), keyed=True)
    produce(b.bootstrap, control, 2500, timestamp_ms=old_ms(5))
    # Once a retention pass removed the control topic's old data, the same pass looked at the
    # compacted topic too (a pass visits every partition).
    wait_until(lambda: earliest(b.bootstrap, control) == 2500, timeout=30, message="control topic to expire")
    assert earliest(b.bootstrap, compact) == 0
    assert latest(b.bootstrap, compact) == 2500
    # compact,delete: retention applies again.
    alter_topic(b.bootstrap, compact, cleanup_policy="compact,delete")
    wait_until(lambda: earliest(b.bootstrap, compact) > 0, timeout=30,
               message="compact,delete topic to lose its expired segments")


# --------------------------------------------------------------------------- DeleteRecords


def test_delete_records_admin_client(broker, topic_name):
    create_topic(broker.bootstrap, topic_name)
    produce(broker.bootstrap, topic_name, 20, size=20)  # one or a few batches: 5 is inside one
    admin = admin_for(broker.bootstrap)
    tp = TopicPartition(topic_name, 0, 5)
    res = admin.delete_records([tp], request_timeout=20)
    assert list(res.values())[0].result(timeout=20).low_watermark == 5

    assert earliest(broker.bootstrap, topic_name) == 5
    assert fetch(broker.bootstrap, topic_name, 4)["ErrorCode"] == OFFSET_OUT_OF_RANGE
    f = fetch(broker.bootstrap, topic_name, 5)
    assert f["ErrorCode"] == NONE and f["LogStartOffset"] == 5
    # The batch holding offset 5 comes back whole; clients skip what lies below the start.
    got = consume_values(broker.bootstrap, topic_name, OFFSET_BEGINNING, 15)
    assert [o for o, _ in got] == list(range(5, 20))

    # A consumer that asks for an offset below the start without a reset policy hears about it.
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique_name("g"),
                  "auto.offset.reset": "error", "enable.auto.commit": False})
    try:
        c.assign([TopicPartition(topic_name, 0, 2)])
        def out_of_range():
            m = c.poll(0.5)
            return m is not None and m.error() is not None and m.error().code() == KafkaError._AUTO_OFFSET_RESET
        wait_until(out_of_range, timeout=30, message="offset out of range reported to the consumer")
    finally:
        c.close()

    # Lower than the start: nothing changes; the high watermark is the limit.
    res = admin.delete_records([TopicPartition(topic_name, 0, 3)], request_timeout=20)
    assert list(res.values())[0].result(timeout=20).low_watermark == 5
    res = admin.delete_records([TopicPartition(topic_name, 0, 21)], request_timeout=20)
    with pytest.raises(KafkaException) as e:
        list(res.values())[0].result(timeout=20)
    assert e.value.args[0].code() == KafkaError.OFFSET_OUT_OF_RANGE

    # Answered only once checkpointed: a kill -9 right after keeps the new start.
    res = admin.delete_records([TopicPartition(topic_name, 0, 12)], request_timeout=20)
    assert list(res.values())[0].result(timeout=20).low_watermark == 12
    broker.kill9()
    broker.start()
    assert earliest(broker.bootstrap, topic_name) == 12
    assert latest(broker.bootstrap, topic_name) == 20


def test_delete_records_removes_whole_segments(broker_factory, topic_name):
    b = broker_factory(config=FAST)
    create_topic(b.bootstrap, topic_name, {"segment.bytes": MIB})
    produce(b.bootstrap, topic_name, 3500)
    before = segments(b, topic_name)
    assert len(before) >= 3
    bases = sorted(before)
    cut = bases[2] + 7  # inside the third segment
    admin = admin_for(b.bootstrap)
    res = admin.delete_records([TopicPartition(topic_name, 0, cut)], request_timeout=20)
    assert list(res.values())[0].result(timeout=20).low_watermark == cut
    # The two segments wholly below the cut go at once (their files shortly after).
    wait_until(lambda: sorted(segments(b, topic_name))[0] == bases[2] and not deleted_files(b, topic_name),
               timeout=30, message="segments below the cut to be deleted")
    assert earliest(b.bootstrap, topic_name) == cut
    # -1 means the high watermark: everything goes but the (empty-to-readers) active segment.
    host, port = b.bootstrap.split(":")
    with KafkaClient(host, int(port)) as c:
        r = c.send("DeleteRecords", 2, {"Topics": [{"Name": topic_name, "Partitions": [
            {"PartitionIndex": 0, "Offset": -1}]}], "TimeoutMs": 10000})
    p = r["Topics"][0]["Partitions"][0]
    assert (p["ErrorCode"], p["LowWatermark"]) == (NONE, 3500)
    assert earliest(b.bootstrap, topic_name) == 3500
    wait_until(lambda: len(segments(b, topic_name)) == 1, timeout=30, message="only the active segment left")


def test_delete_records_kafka_tool(broker, topic_name, tmp_path):
    kafka_tools = pytest.importorskip("kafka_tools")
    if not __import__("kafka_ref").kafka_available():
        pytest.skip("Apache Kafka jars missing (run `bash scripts/setup.sh`)")
    create_topic(broker.bootstrap, topic_name, partitions=2)
    produce(broker.bootstrap, topic_name, 30, size=20, partition=0)
    produce(broker.bootstrap, topic_name, 10, size=20, partition=1)
    spec = tmp_path / "offsets.json"
    spec.write_text(json.dumps({"version": 1, "partitions": [
        {"topic": topic_name, "partition": 0, "offset": 25},
        {"topic": topic_name, "partition": 1, "offset": -1}]}))
    res = kafka_tools.run_tool("delete-records", "--bootstrap-server", broker.bootstrap,
                               "--offset-json-file", spec)
    assert f"partition: {topic_name}-0\tlow_watermark: 25" in res.stdout, res.stdout
    assert f"partition: {topic_name}-1\tlow_watermark: 10" in res.stdout, res.stdout
    assert earliest(broker.bootstrap, topic_name, 0) == 25
    assert earliest(broker.bootstrap, topic_name, 1) == 10


def test_gregor_cli_delete_records_and_describe(broker, topic_name):
    from gregor_broker import gregor_bin
    import subprocess

    def cli(*args, check=True):
        r = subprocess.run([str(gregor_bin()), "--brokers", broker.bootstrap, *map(str, args)],
                           capture_output=True, text=True, timeout=60)
        assert not check or r.returncode == 0, r
        return r

    create_topic(broker.bootstrap, topic_name, partitions=2)
    produce(broker.bootstrap, topic_name, 40, size=20, partition=0)
    produce(broker.bootstrap, topic_name, 4, size=20, partition=1)

    def describe():
        fields = {}
        for line in cli("topic", "describe", topic_name).stdout.splitlines()[1:]:
            f = dict(x.split(": ", 1) for x in line.strip().split("\t"))
            fields[int(f["Partition"])] = f
        return fields
    d = describe()
    assert (d[0]["StartOffset"], d[0]["EndOffset"]) == ("0", "40")
    assert (d[1]["StartOffset"], d[1]["EndOffset"]) == ("0", "4")
    assert int(d[0]["Size"]) > int(d[1]["Size"]) > 0

    out = cli("topic", "delete-records", topic_name, "--before", "30", "--partition", "0").stdout
    assert out.strip() == f"Topic: {topic_name}\tPartition: 0\tLowWatermark: 30"
    out = cli("topic", "delete-records", topic_name, "--before", "end").stdout.splitlines()
    assert sorted(out) == [f"Topic: {topic_name}\tPartition: 0\tLowWatermark: 40",
                           f"Topic: {topic_name}\tPartition: 1\tLowWatermark: 4"]
    d = describe()
    assert (d[0]["StartOffset"], d[0]["EndOffset"]) == ("40", "40")
    r = cli("topic", "delete-records", topic_name, "--before", "99", "--partition", "1", check=False)
    assert r.returncode == 2 and "out of range" in r.stderr.lower()
    r = cli("topic", "delete-records", topic_name, check=False)
    assert r.returncode == 1 and "--before" in r.stderr


def test_delete_records_errors(broker, topic_name):
    compact = topic_name + "-compact"
    create_topic(broker.bootstrap, topic_name)
    create_topic(broker.bootstrap, compact, {"cleanup.policy": "compact"})
    host, port = broker.bootstrap.split(":")
    with KafkaClient(host, int(port)) as c:
        c.send("Produce", 9, {"TransactionalId": None, "Acks": -1, "TimeoutMs": 10000, "TopicData": [
            {"Name": compact, "PartitionData": [{"Index": 0, "Records": build_record_batch([("k", "v")])}]}]})
        for version in (0, 1, 2):
            r = c.send("DeleteRecords", version, {"Topics": [
                {"Name": topic_name, "Partitions": [{"PartitionIndex": 0, "Offset": 1},
                                                    {"PartitionIndex": 0, "Offset": -2},
                                                    {"PartitionIndex": 7, "Offset": 0}]},
                {"Name": compact, "Partitions": [{"PartitionIndex": 0, "Offset": 1}]},
                {"Name": "no-such-topic", "Partitions": [{"PartitionIndex": 0, "Offset": 0}]}],
                "TimeoutMs": 5000})
            got = {(t["Name"], p["PartitionIndex"]): (p["ErrorCode"], p["LowWatermark"])
                   for t in r["Topics"] for p in t["Partitions"]}
            # A partition named twice answers once, for the last offset asked (as Kafka).
            assert got == {(topic_name, 0): (OFFSET_OUT_OF_RANGE, -1),
                           (topic_name, 7): (UNKNOWN_TOPIC_OR_PARTITION, -1),
                           (compact, 0): (POLICY_VIOLATION, -1),
                           ("no-such-topic", 0): (UNKNOWN_TOPIC_OR_PARTITION, -1)}, (version, r)


def test_big_requests_stay_cheap(broker, topic_name):
    """A request naming one partition very many times (or many partitions) is answered once per
    distinct partition, without work quadratic in its size."""
    create_topic(broker.bootstrap, topic_name)
    produce(broker.bootstrap, topic_name, 10, size=20)
    many = [{"PartitionIndex": 0, "Offset": 1}] * 50000 + [{"PartitionIndex": 0, "Offset": 3}]
    with client_for(broker) as c:
        t0 = time.monotonic()
        r = c.send("DeleteRecords", 2, {"Topics": [{"Name": topic_name, "Partitions": many},
                                                   {"Name": topic_name, "Partitions": many[:10]}], "TimeoutMs": 5000})
        assert r["Topics"] == [{"Name": topic_name, "Partitions": [
            {"PartitionIndex": 0, "LowWatermark": 1, "ErrorCode": NONE}]}]
        r = c.send("DescribeLogDirs", 4, {"Topics": [{"Topic": topic_name, "Partitions": [0] * 50000 + [1] * 50000}]})
        assert [(t["Name"], [p["PartitionIndex"] for p in t["Partitions"]]) for t in r["Results"][0]["Topics"]] == \
            [(topic_name, [0])]
        r = c.send("IncrementalAlterConfigs", 1, {"Resources": [
            {"ResourceType": 2, "ResourceName": f"{topic_name}-{i}", "Configs": []} for i in range(20000)],
            "ValidateOnly": True})
        assert len(r["Responses"]) == 20000
        assert time.monotonic() - t0 < 20


def client_for(broker) -> KafkaClient:
    host, port = broker.bootstrap.split(":")
    return KafkaClient(host, int(port))


@pytest.fixture
def ref_pair(kafka_ref, broker_factory):
    """(kafka bootstrap, gregor broker started with the reference's behaviour keys)."""
    identity = {"process.roles", "node.id", "controller.quorum.voters", "listeners", "advertised.listeners",
                "inter.broker.listener.name", "controller.listener.names", "listener.security.protocol.map",
                "log.dirs"}
    config = {k: v for k, v in kafka_ref.properties().items() if k not in identity}
    return kafka_ref.bootstrap, broker_factory(config=config)


def test_delete_records_matches_kafka(ref_pair, request):
    kafka_bootstrap, g = ref_pair
    name = unique_name("dr-" + request.node.name[-30:])
    answers = {}
    for side, bootstrap in (("kafka", kafka_bootstrap), ("gregor", g.bootstrap)):
        create_topic(bootstrap, name)
        create_topic(bootstrap, name + "-c", {"cleanup.policy": "compact"})
        host, port = bootstrap.split(":")
        with KafkaClient(host, int(port)) as c:
            for t in (name, name + "-c"):
                c.send("Produce", 9, {"TransactionalId": None, "Acks": -1, "TimeoutMs": 10000, "TopicData": [
                    {"Name": t, "PartitionData": [{"Index": 0, "Records": build_record_batch(
                        [(f"k{i}", f"v{i}") for i in range(10)])}]}]})
            seq = []
            for version, topic, part, offset in [(2, name, 0, 3), (2, name, 0, 2), (1, name, 0, 11),
                                                 (0, name, 0, -2), (2, name, 0, -1), (2, name, 4, 1),
                                                 (2, name + "-c", 0, 1), (2, name + "-missing", 0, 1),
                                                 (2, "bad name!", 0, 1), (2, name, 0, 10)]:
                r = c.send("DeleteRecords", version, {"Topics": [{"Name": topic, "Partitions": [
                    {"PartitionIndex": part, "Offset": offset}]}], "TimeoutMs": 5000})
                p = r["Topics"][0]["Partitions"][0]
                seq.append((version, offset, p["PartitionIndex"], p["ErrorCode"], p["LowWatermark"]))
            seq.append(("earliest", earliest(bootstrap, name)))
        answers[side] = seq
    assert answers["gregor"] == answers["kafka"]
