"""The harness against the reference Apache Kafka: proves that the jar cache, KafkaRef, the
raw ApiVersions probe, the client helpers and Kafka's own tools all work, independent of
Gregor. If these fail, fix the harness (or scripts/setup.sh) before blaming the broker."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.admin import AdminClient, NewTopic

import kafka_tools
from helpers import wait_until
from kafka_wire import KafkaConnection, api_versions, parse_api_versions_v0

PRODUCE, FETCH, METADATA, API_VERSIONS = 0, 1, 3, 18


def test_api_versions_probe(kafka_ref):
    res = api_versions("127.0.0.1", kafka_ref.port)
    assert res.error_code == 0
    for key in (PRODUCE, FETCH, METADATA, API_VERSIONS):
        assert key in res.versions, f"api {key} not advertised"
    # Kafka 4 still advertises Produce from v0 (KAFKA-18659)
    assert res.versions[PRODUCE][0] == 0
    # several requests on one connection keep their correlation ids straight
    with KafkaConnection("127.0.0.1", kafka_ref.port) as conn:
        for _ in range(3):
            assert parse_api_versions_v0(conn.request(API_VERSIONS, 0)).error_code == 0


def _create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)],
                                  operation_timeout=30)
    futures[topic].result(timeout=60)

    def has_all_leaders():
        md = admin.list_topics(topic=topic, timeout=10)
        t = md.topics.get(topic)
        return t is not None and t.error is None and len(t.partitions) == partitions and \
            all(p.leader >= 0 for p in t.partitions.values())
    wait_until(has_all_leaders, timeout=30, message=f"leaders for {topic}")


def test_confluent_kafka_create_produce_consume(kafka_ref, topic_name):
    partitions, count = 3, 30
    _create_topic(kafka_ref.bootstrap, topic_name, partitions)

    delivered = []
    errors = []

    def on_delivery(err, msg):
        (errors if err else delivered).append(err or (msg.partition(), msg.offset(), msg.key()))

    p = Producer({"bootstrap.servers": kafka_ref.bootstrap, "acks": "all", "enable.idempotence": True,
                  "compression.type": "lz4", "linger.ms": 5})
    for i in range(count):
        p.produce(topic_name, key=f"k{i}".encode(), value=f"v{i}".encode(), headers=[("i", str(i).encode())],
                  on_delivery=on_delivery)
    assert p.flush(30) == 0
    assert not errors, errors
    assert len(delivered) == count
    # one key always lands on one partition; offsets per partition are 0..n-1
    by_part: dict[int, list[int]] = {}
    for part, off, _key in delivered:
        by_part.setdefault(part, []).append(off)
    for offs in by_part.values():
        assert sorted(offs) == list(range(len(offs)))

    # no consumer group: assign every partition from the beginning
    c = Consumer({"bootstrap.servers": kafka_ref.bootstrap, "group.id": "unused-assign-only",
                  "enable.auto.commit": False, "enable.auto.offset.store": False})
    try:
        c.assign([TopicPartition(topic_name, part, OFFSET_BEGINNING) for part in range(partitions)])
        got = []
        deadline = time.monotonic() + 30
        while len(got) < count and time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            got.append((msg.key().decode(), msg.value().decode(), dict(msg.headers())))
    finally:
        c.close()
    assert sorted(got) == sorted((f"k{i}", f"v{i}", {"i": str(i).encode()}) for i in range(count))


def test_kafka_python_produce_consume(kafka_ref, topic_name):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition as KTP
    from kafka.admin import KafkaAdminClient, NewTopic as KNewTopic

    admin = KafkaAdminClient(bootstrap_servers=kafka_ref.bootstrap, request_timeout_ms=30000)
    try:
        admin.create_topics([KNewTopic(topic_name, 1, 1)])
    finally:
        admin.close()
    prod = KafkaProducer(bootstrap_servers=kafka_ref.bootstrap, acks="all", max_block_ms=30000)
    offsets = [prod.send(topic_name, key=b"k", value=f"v{i}".encode()).get(timeout=30).offset for i in range(5)]
    prod.close()
    assert offsets == [0, 1, 2, 3, 4]
    cons = KafkaConsumer(bootstrap_servers=kafka_ref.bootstrap, consumer_timeout_ms=15000,
                         enable_auto_commit=False)
    try:
        cons.assign([KTP(topic_name, 0)])
        cons.seek_to_beginning()
        values = []
        for m in cons:
            values.append(m.value)
            if len(values) == 5:
                break
    finally:
        cons.close()
    assert values == [f"v{i}".encode() for i in range(5)]


def test_java_client_roundtrip(kafka_ref, java_client, topic_name):
    b = kafka_ref.bootstrap
    created = java_client("create-topic", bootstrap=b, topic=topic_name, partitions=2)
    assert created[0]["created"] is True and created[0]["partitions"] == 2
    acked = java_client("produce", bootstrap=b, topic=topic_name, count=20, key_prefix="key-",
                        headers=True, compression="zstd")
    assert len(acked) == 20 and all(r["offset"] >= 0 for r in acked)
    recs = java_client("consume", bootstrap=b, topic=topic_name, count=20, timeout_ms=30000,
                       from_beginning=True)
    assert sorted(r["key"] for r in recs) == sorted(f"key-{i}" for i in range(20))
    assert all(["index", r["key"].split("-")[1]] in r["headers"] for r in recs)
    topics = {t["topic"]: t for t in java_client("list-topics", bootstrap=b)}
    assert len(topics[topic_name]["partitions"]) == 2
    configs = {c["name"]: c for c in java_client("describe-configs", bootstrap=b, topic=topic_name)}
    assert configs["cleanup.policy"]["value"] == "delete"


def test_node_kafkajs_smoke(kafka_ref, node, topic_name):
    out = node("smoke", bootstrap=kafka_ref.bootstrap, topic=topic_name, count=10)
    produced = [r for r in out if r["event"] == "produced"]
    assert [r["offset"] for r in produced] == list(range(10))
    offsets = [r for r in out if r["event"] == "offsets"]
    assert offsets == [{"event": "offsets", "topic": topic_name, "partition": 0, "low": 0, "high": 10}]


def test_node_platformatic_smoke(kafka_ref, node, topic_name):
    out = node("platformatic_smoke", bootstrap=kafka_ref.bootstrap, topic=topic_name, count=10)
    assert [r["offset"] for r in out if r["event"] == "produced"] == list(range(10))
    assert [r["high"] for r in out if r["event"] == "offsets"] == [10]


def test_kafka_cli_tools(kafka_ref, topic_name):
    b = kafka_ref.bootstrap
    kafka_tools.create_topic(b, topic_name, partitions=2)
    assert topic_name in kafka_tools.topics(b, "--list").stdout.split()
    desc = kafka_tools.topics(b, "--describe", "--topic", topic_name).stdout
    assert "PartitionCount: 2" in desc
    kafka_tools.console_producer(b, topic_name, [f"line-{i}" for i in range(5)])
    lines = kafka_tools.console_consumer(b, topic_name, max_messages=5)
    assert sorted(lines) == [f"line-{i}" for i in range(5)]
    api = kafka_tools.run_tool("broker-api-versions", "--bootstrap-server", b).stdout
    assert "ApiVersions(18)" in api
