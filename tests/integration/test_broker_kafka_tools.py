"""Gregor with Apache Kafka's own command-line tools (4.1.1 jars, kafka_tools.py):
kafka-topics, kafka-console-producer / -consumer, kafka-producer-perf-test, kafka-configs and
kafka-get-offsets, checked the way a user reads their output."""

from __future__ import annotations

import re

import pytest

from helpers import wait_until
from kafka_tools import console_producer, create_topic, run_tool, topics

pytestmark = pytest.mark.skipif(not __import__("kafka_ref").kafka_available(),
                                reason="Apache Kafka jars missing (run `bash scripts/setup.sh`)")


def parse_describe(text: str) -> tuple[dict, list[dict]]:
    """kafka-topics --describe output -> (topic line fields, [partition line fields])."""
    head, parts = {}, []
    for line in text.splitlines():
        fields = dict(re.findall(r"(\w+): ?([^\t]*)", line.strip()))
        if not fields:
            continue
        if "Partition" in fields:
            parts.append(fields)
        elif "PartitionCount" in fields:
            head = fields
    return head, parts


def get_offsets(bootstrap: str, topic: str, *args: object) -> dict[int, int]:
    """kafka-get-offsets (GetOffsetShell) -> {partition: offset} from its TOPIC:PARTITION:OFFSET lines."""
    res = run_tool("get-offsets", "--bootstrap-server", bootstrap, "--topic", topic, *args)
    out = {}
    for line in res.stdout.splitlines():
        m = re.fullmatch(re.escape(topic) + r":(\d+):(-?\d+)", line.strip())
        if m:
            out[int(m.group(1))] = int(m.group(2))
    return out


def configs_describe(bootstrap: str, topic: str, *extra: str) -> dict[str, str]:
    """kafka-configs --describe --entity-type topics -> {name: value} (with sensitive/synonyms text)."""
    res = run_tool("configs", "--bootstrap-server", bootstrap, "--describe", "--entity-type", "topics",
                   "--entity-name", topic, *extra)
    out = {}
    for line in res.stdout.splitlines()[1:]:
        m = re.match(r"\s*([a-z0-9.]+)=(.*?) sensitive=(true|false) synonyms=\{(.*)\}\s*$", line)
        assert m, f"unexpected kafka-configs line: {line!r}\n{res.stdout}"
        out[m.group(1)] = (m.group(2), m.group(4))
    assert res.stdout.splitlines()[0].startswith(("All configs for topic", "Dynamic configs for topic")), res.stdout
    return out


# --------------------------------------------------------------------------- kafka-topics


def test_kafka_topics_create_list_describe_alter_delete(broker, topic_name):
    b = broker.bootstrap
    res = topics(b, "--create", "--topic", topic_name, "--partitions", 3, "--replication-factor", 1,
                 "--config", "retention.ms=3600000", "--config", "max.message.bytes=65536")
    assert f"Created topic {topic_name}." in res.stdout

    # creating it again fails with TopicExistsException; --if-not-exists makes it a no-op
    again = topics(b, "--create", "--topic", topic_name, "--partitions", 3, check=False)
    assert again.returncode != 0 and "already exists" in (again.stdout + again.stderr), again
    topics(b, "--create", "--topic", topic_name, "--partitions", 3, "--if-not-exists")

    assert topic_name in topics(b, "--list").stdout.split()

    head, parts = parse_describe(topics(b, "--describe", "--topic", topic_name).stdout)
    assert head["Topic"] == topic_name and head["PartitionCount"] == "3" and head["ReplicationFactor"] == "1"
    assert head["TopicId"] and head["TopicId"] != "AAAAAAAAAAAAAAAAAAAAAA"
    # min.insync.replicas is a cluster-wide dynamic default (as Kafka 4's
    # storage format writes it), so the tool lists it with the overrides.
    assert set(head["Configs"].split(",")) == {"retention.ms=3600000", "max.message.bytes=65536",
                                              "min.insync.replicas=1"}
    assert [p["Partition"] for p in parts] == ["0", "1", "2"]
    node = str(broker.node_id)
    assert all(p["Leader"] == node and p["Replicas"] == node and p["Isr"] == node for p in parts), parts

    # CreatePartitions
    topics(b, "--alter", "--topic", topic_name, "--partitions", 5)
    head, parts = parse_describe(topics(b, "--describe", "--topic", topic_name).stdout)
    assert head["PartitionCount"] == "5" and [p["Partition"] for p in parts] == ["0", "1", "2", "3", "4"]

    topics(b, "--delete", "--topic", topic_name)
    wait_until(lambda: topic_name not in topics(b, "--list").stdout.split(), timeout=20,
               message=f"{topic_name} gone from kafka-topics --list")
    gone = topics(b, "--describe", "--topic", topic_name, check=False)
    assert gone.returncode != 0 and "does not exist" in (gone.stdout + gone.stderr), gone


# --------------------------------------------------------------------------- console tools


def test_console_producer_then_console_consumer_with_keys(broker, topic_name):
    b = broker.bootstrap
    create_topic(b, topic_name, partitions=1)
    lines = [f"key-{i}:value {i} with spaces" for i in range(10)]
    console_producer(b, topic_name, lines[:5], "--property", "parse.key=true", "--property", "key.separator=:")
    # a second producer run with a codec appends after the first
    console_producer(b, topic_name, lines[5:], "--property", "parse.key=true", "--property", "key.separator=:",
                     "--compression-codec", "gzip")
    res = run_tool("console-consumer", "--bootstrap-server", b, "--topic", topic_name, "--partition", 0,
                   "--offset", "earliest", "--max-messages", 10, "--timeout-ms", 20000,
                   "--property", "print.key=true", "--property", "key.separator=:",
                   "--property", "print.offset=true", "--property", "print.partition=true")
    out = res.stdout.splitlines()
    assert len(out) == 10, res
    for i, line in enumerate(out):
        # key.separator also separates the printed partition and offset
        assert line == f"Partition:0:Offset:{i}:{lines[i]}", line
    assert "Processed a total of 10 messages" in res.stderr

    # from an offset in the middle, values only
    res = run_tool("console-consumer", "--bootstrap-server", b, "--topic", topic_name, "--partition", 0,
                   "--offset", 7, "--max-messages", 3, "--timeout-ms", 20000)
    assert res.stdout.splitlines() == [f"value {i} with spaces" for i in range(7, 10)]
    assert get_offsets(b, topic_name) == {0: 10}


def test_console_producer_headers_and_null_key(broker, topic_name):
    b = broker.bootstrap
    create_topic(b, topic_name, partitions=1)
    # headers<TAB>key<TAB>value
    lines = ["h1:a,h2:b\tk1\tv1", "h1:c\tk2\tv2"]
    console_producer(b, topic_name, lines, "--property", "parse.headers=true", "--property", "parse.key=true",
                     "--property", "null.marker=<null>")
    console_producer(b, topic_name, ["no key here"])
    res = run_tool("console-consumer", "--bootstrap-server", b, "--topic", topic_name, "--partition", 0,
                   "--offset", "earliest", "--max-messages", 3, "--timeout-ms", 20000,
                   "--property", "print.key=true", "--property", "print.headers=true",
                   "--property", "null.literal=NULL")
    assert res.stdout.splitlines() == ["h1:a,h2:b\tk1\tv1", "h1:c\tk2\tv2", "NO_HEADERS\tNULL\tno key here"]


# --------------------------------------------------------------------------- perf test, offsets


def test_producer_perf_test_20000_records(broker, topic_name):
    b = broker.bootstrap
    create_topic(b, topic_name, partitions=3)
    res = run_tool("producer-perf-test", "--topic", topic_name, "--num-records", 20000, "--record-size", 200,
                   "--throughput", -1, "--producer-props", f"bootstrap.servers={b}", "acks=all",
                   "linger.ms=5", "compression.type=lz4", timeout=90)
    summary = [line for line in res.stdout.splitlines() if line.startswith("20000 records sent")]
    assert summary, res.stdout
    assert "Exception" not in res.stderr and "ERROR" not in res.stderr, res.stderr[-3000:]
    offsets = get_offsets(b, topic_name)
    assert set(offsets) == {0, 1, 2} and sum(offsets.values()) == 20000, offsets
    # nothing was removed from the start of any partition
    assert get_offsets(b, topic_name, "--time", -2) == {0: 0, 1: 0, 2: 0}


def test_get_offsets_earliest_latest_and_by_time(broker, topic_name):
    b = broker.bootstrap
    create_topic(b, topic_name, partitions=2)
    console_producer(b, topic_name, [f"k{i}:v{i}" for i in range(20)], "--property", "parse.key=true",
                     "--property", "key.separator=:")
    latest = get_offsets(b, topic_name)
    assert sum(latest.values()) == 20 and set(latest) == {0, 1}
    assert get_offsets(b, topic_name, "--time", "latest") == latest
    assert get_offsets(b, topic_name, "--time", "earliest") == {0: 0, 1: 0}
    # max-timestamp: offset of the record with the largest timestamp (within [0, latest))
    mx = get_offsets(b, topic_name, "--time", "max-timestamp")
    assert all(0 <= mx[p] < latest[p] for p in latest if latest[p] > 0), (mx, latest)
    # a timestamp far in the future: no such record (-1 in GetOffsetShell's output, or omitted)
    future = get_offsets(b, topic_name, "--time", 4102444800000)
    assert all(v == -1 for v in future.values()), future
    # one partition only
    assert get_offsets(b, topic_name, "--partitions", "1") == {1: latest[1]}


# --------------------------------------------------------------------------- kafka-configs


def test_kafka_configs_describe_topic(broker, topic_name):
    b = broker.bootstrap
    create_topic(b, topic_name, partitions=1, configs={"retention.ms": 86400000, "cleanup.policy": "compact"})
    every = configs_describe(b, topic_name, "--all")
    assert every["retention.ms"][0] == "86400000"
    assert "DYNAMIC_TOPIC_CONFIG:retention.ms=86400000" in every["retention.ms"][1]
    assert every["cleanup.policy"][0] == "compact"
    for name in ("segment.bytes", "max.message.bytes", "min.insync.replicas", "compression.type",
                 "message.timestamp.type"):
        assert name in every, name
    assert every["compression.type"][0] == "producer"
    assert every["message.timestamp.type"][0] == "CreateTime"
    # without --all: only the topic's own overrides
    dynamic = configs_describe(b, topic_name)
    assert set(dynamic) == {"retention.ms", "cleanup.policy"}, dynamic


def test_kafka_configs_all_matches_kafka(broker, kafka_ref, topic_name):
    """The config names and default values `kafka-configs --describe --all` shows for a fresh
    topic are those Apache Kafka shows."""
    got, want = {}, {}
    for target, out in ((broker.bootstrap, got), (kafka_ref.bootstrap, want)):
        create_topic(target, topic_name, partitions=1, configs={"retention.ms": 7200000})
        out.update({k: v for k, (v, _syn) in configs_describe(target, topic_name, "--all").items()})
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    differ = {k: (got[k], want[k]) for k in set(got) & set(want) if got[k] != want[k]}
    assert not missing and not extra and not differ, \
        f"missing {missing}, extra {extra}, differ (gregor, kafka) {differ}"
