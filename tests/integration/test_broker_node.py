"""Gregor with the Node.js clients in tests/node: kafkajs 2.2.4 (producer and admin; its
consumer needs consumer groups, so records are read back with confluent-kafka's assign-only
consumer) and @platformatic/kafka 1.35.0, which speaks the newest protocol versions
(Produce >= 9, Fetch >= 15, Metadata >= 12) and can Fetch without a group (Consumer.fetch)."""

from __future__ import annotations

from collections import defaultdict

import pytest
from confluent_kafka import Producer

from helpers import wait_until
from test_broker_confluent import admin_client, all_partitions, consume, create_topic
from test_broker_java import kafka_partition

COMPRESSION_ATTR = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def events(lines, name):
    return [x for x in lines if x.get("event") == name]


def hdrs(h) -> list:
    return [[k, v.decode() if isinstance(v, bytes) else v] for k, v in (h or [])]


# --------------------------------------------------------------------------- kafkajs


def test_kafkajs_produce_admin_and_read_back(broker, topic_name, node):
    """kafkajs: createTopics (and again: false), fetchTopicMetadata, producer.send with keys and
    headers for acks -1/1/0 x none/gzip plus an idempotent producer, fetchTopicOffsets,
    describeConfigs, listTopics; confluent-kafka then reads exactly those records."""
    partitions, n = 3, 12
    res = node("roundtrip_kafkajs", bootstrap=broker.bootstrap, topic=topic_name, partitions=partitions,
               count=n, acks="all,1,0", compression="none,gzip", idempotent=True, timeout=60)
    assert events(res, "create-topic")[0]["created"] is True
    assert events(res, "create-topic-again")[0]["created"] is False

    md = events(res, "metadata")
    assert len(md) == 1 and md[0]["topic"] == topic_name
    assert [p["partition"] for p in md[0]["partitions"]] == list(range(partitions))
    for p in md[0]["partitions"]:
        assert p["leader"] == broker.node_id and p["replicas"] == [broker.node_id] and p["isr"] == [broker.node_id]
        assert p["error_code"] == 0

    produced = events(res, "produced")
    tags = [p["tag"] for p in produced]
    assert tags == ["acksall-none", "acksall-gzip", "acks1-none", "acks1-gzip", "acks0-none", "acks0-gzip",
                    "idem-none", "idem-gzip"]
    for p in produced:
        if p["acks"] == 0:
            continue  # kafkajs returns no metadata for acks=0
        assert sorted(r["partition"] for r in p["results"]) == list(range(partitions)), p
        assert all(r["error_code"] == 0 and r["base_offset"] >= 0 for r in p["results"]), p

    total = n * len(tags)
    offsets = {o["partition"]: (o["low"], o["high"]) for o in events(res, "offsets")}
    expected_per_part: dict[int, list] = defaultdict(list)
    for tag in tags:
        for i in range(n):
            key = f"kk-{i % 5}"
            expected_per_part[kafka_partition(key, partitions)].append(
                (key.encode(), f"{tag}-{i}".encode(), [["index", str(i)], ["tag", tag]]))
    assert offsets == {p: (0, len(expected_per_part[p])) for p in range(partitions)}
    assert sum(h for _, h in offsets.values()) == total

    cfg = events(res, "configs")[0]["entries"]
    assert cfg["cleanup.policy"] == "delete" and int(cfg["retention.ms"]) > 0
    assert topic_name in events(res, "list-topics")[0]["topics"]

    recs = consume(broker.bootstrap, all_partitions(topic_name, partitions), total)
    assert len(recs) == total
    for p in range(partitions):
        got = [(r.key, r.value, hdrs(r.headers)) for r in recs if r.partition == p]
        offs = [r.offset for r in recs if r.partition == p]
        assert offs == list(range(len(offs)))
        # kafkajs' default partitioner is Java-compatible murmur2; order per partition is send order
        assert got == expected_per_part[p], f"partition {p}"


def test_kafkajs_delete_topic(broker, topic_name, node):
    """kafkajs deleteTopics: the topic is gone from listTopics and from other clients' metadata."""
    res = node("roundtrip_kafkajs", bootstrap=broker.bootstrap, topic=topic_name, partitions=2, count=4,
               acks="all", compression="none", delete=True, timeout=60)
    assert events(res, "create-topic")[0]["created"] is True
    assert sum(o["high"] for o in events(res, "offsets")) == 4
    assert events(res, "deleted")[0]["listed_after"] is False
    admin = admin_client(broker.bootstrap)
    wait_until(lambda: topic_name not in admin.list_topics(timeout=5).topics, timeout=10,
               message=f"{topic_name} gone from confluent-kafka's metadata")


# --------------------------------------------------------------------------- @platformatic/kafka


@pytest.mark.parametrize("acks", ["all", "1", "0"])
def test_platformatic_produce_and_fetch(broker, topic_name, node, acks):
    """@platformatic/kafka: createTopics, Producer.send (keys, headers, every codec it has in
    this Node.js), ListOffsets, then Consumer.fetch without a group: same records, batch
    compression as sent, offsets contiguous; confluent-kafka reads the same records."""
    partitions, n = 3, 20
    codecs = ["none", "gzip", "snappy", "lz4", "zstd"]
    res = node("roundtrip_platformatic", bootstrap=broker.bootstrap, topic=topic_name, partitions=partitions,
               count=n, acks=acks, compression=",".join(codecs), timeout=60)
    skipped = {s["compression"] for s in events(res, "skip")}
    assert skipped <= {"zstd"}  # Node.js < 22.15 has no zstd
    sent_codecs = [c for c in codecs if c not in skipped]
    total = n * len(sent_codecs)

    expected = []
    for c in sent_codecs:
        for i in range(n):
            expected.append((f"pk-{i % 7}", f"{c}-value-{i}-" + "v" * (i * 11), [["index", str(i)], ["codec", c]], c))
    recs = events(res, "record")
    assert len(recs) == total
    key_part: dict[str, set] = defaultdict(set)
    by_part: dict[int, list] = defaultdict(list)
    for r in recs:
        by_part[r["partition"]].append(r)
        key_part[r["key"]].add(r["partition"])
        assert r["batch"]["magic"] == 2
        codec = r["headers"][1][1]
        assert r["batch"]["compression"] == COMPRESSION_ATTR[codec], r
    assert all(len(v) == 1 for v in key_part.values()), f"a key in several partitions: {key_part}"
    for p, rs in by_part.items():
        assert [r["offset"] for r in rs] == list(range(len(rs)))
        # send order within the partition
        want = [(k, v, h) for k, v, h, _ in expected if key_part[k] == {p}]
        assert [(r["key"], r["value"], r["headers"]) for r in rs] == want, f"partition {p}"
    highs = {o["partition"]: o["high"] for o in events(res, "offsets")}
    assert highs == {p: len(by_part.get(p, [])) for p in range(partitions)}
    for f in events(res, "fetch"):
        assert f["error_code"] == 0 and f["high_watermark"] == f["next_offset"] and f["log_start_offset"] == 0
    if acks != "0":
        batches = events(res, "produced-batch")
        assert len(batches) == len(sent_codecs) * len(by_part)

    # another client sees the same data
    got = consume(broker.bootstrap, all_partitions(topic_name, partitions), total)
    assert sorted((r.partition, r.offset, r.key.decode(), r.value.decode(), hdrs(r.headers)) for r in got) == \
        sorted((r["partition"], r["offset"], r["key"], r["value"], r["headers"]) for r in recs)


def test_platformatic_idempotent_producer(broker, topic_name, node):
    """An idempotent @platformatic/kafka producer gets a producer id (InitProducerId) and its
    batches carry it with sequence numbers; no duplicates."""
    res = node("roundtrip_platformatic", bootstrap=broker.bootstrap, topic=topic_name, partitions=2, count=30,
               compression="none,gzip", idempotent=True, timeout=60)
    recs = events(res, "record")
    assert len(recs) == 60
    for r in recs:
        assert r["batch"]["producer_id"] >= 0 and r["batch"]["producer_epoch"] >= 0, r
        assert r["batch"]["base_sequence"] >= 0, r
    # per producer and partition, batch sequences start at 0 and follow the record count
    seqs: dict[tuple, list] = defaultdict(list)
    for r in recs:
        b = r["batch"]
        k = (b["producer_id"], r["partition"])
        if not seqs[k] or seqs[k][-1][0] != b["base_offset"]:
            seqs[k].append((b["base_offset"], b["base_sequence"]))
    for k, bs in seqs.items():
        assert bs[0][1] == 0, (k, bs)
    assert sum(o["high"] for o in events(res, "offsets")) == 60


def test_platformatic_fetches_data_from_other_clients(broker, topic_name, node):
    """Group-less Fetch v15+ of data written by another client (confluent-kafka, several
    codecs in one partition), starting at offset 0 and reading to the high watermark."""
    create_topic(broker.bootstrap, topic_name, 1)
    want = []
    # (no zstd: @platformatic/kafka cannot decompress it on Node.js < 22.15)
    for codec in ["none", "gzip", "snappy", "lz4"]:
        p = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": codec, "linger.ms": 50,
                      "acks": "all"})
        for i in range(10):
            value = f"{codec}-{i}"
            p.produce(topic_name, key=f"c-{i}", value=value, headers=[("h", codec)])
            want.append((f"c-{i}", value, [["h", codec]]))
        assert p.flush(15) == 0
    res = node("roundtrip_platformatic", bootstrap=broker.bootstrap, topic=topic_name, partitions=1,
               no_create=True, no_produce=True, expect=len(want), timeout=60)
    recs = events(res, "record")
    assert [(r["key"], r["value"], r["headers"]) for r in recs] == want
    assert [r["offset"] for r in recs] == list(range(len(want)))
    assert events(res, "offsets")[0]["high"] == len(want)
