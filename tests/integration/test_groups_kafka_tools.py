"""Consumer groups through Apache Kafka's own tools (4.1.1 jars, kafka_tools.py):
kafka-consumer-groups --list / --describe (offsets, members, state) / --reset-offsets /
--delete-offsets / --delete, and kafka-dump-log --offsets-decoder reading Gregor's
__consumer_offsets segments, which are in Kafka's record format."""

from __future__ import annotations

import re

import pytest
from confluent_kafka import TopicPartition

from group_helpers import GROUP_BROKER_CONFIG, Members, group_name, produce_spread, rk_consumer
from helpers import wait_until
from kafka_tools import run_tool
from test_broker_confluent import create_topic

pytestmark = pytest.mark.skipif(not __import__("kafka_ref").kafka_available(),
                                reason="Apache Kafka jars missing (run `bash scripts/setup.sh`)")


def rows(text: str) -> list[dict]:
    """kafka-consumer-groups' whitespace-aligned table -> one dict per row (header keys)."""
    out, header = [], None
    for line in text.splitlines():
        cells = line.split()
        if not cells:
            continue
        if cells[0] == "GROUP":
            header = cells
            continue
        if header and len(cells) == len(header):
            out.append(dict(zip(header, cells)))
    return out


def groups_tool(bootstrap: str, *args, check: bool = True):
    return run_tool("consumer-groups", "--bootstrap-server", bootstrap, *args, check=check)


def test_kafka_consumer_groups_tool(broker_factory, topic_name):
    broker = broker_factory(config=GROUP_BROKER_CONFIG)
    b = broker.bootstrap
    create_topic(b, topic_name, partitions=3)
    produce_spread(b, topic_name, 3, 10)
    group = group_name("tool")
    m = Members(rk_consumer(b, group, **{"client.id": "tool-member"}))
    try:
        m.consumers[0].subscribe([topic_name])
        m.poll_until(lambda: m.total() >= 30, message="30 records")
        m.consumers[0].commit(offsets=[TopicPartition(topic_name, p, 8) for p in range(3)], asynchronous=False)

        assert group in groups_tool(b, "--list").stdout.split()
        # one JVM for the three views of an active group
        described = groups_tool(b, "--describe", "--group", group).stdout
        offsets = {int(r["PARTITION"]): r for r in rows(described) if r.get("TOPIC") == topic_name}
        assert set(offsets) == {0, 1, 2}, described
        for r in offsets.values():
            assert r["CURRENT-OFFSET"] == "8" and r["LOG-END-OFFSET"] == "10" and r["LAG"] == "2", described
            assert r["CLIENT-ID"] == "tool-member" and r["HOST"].endswith("127.0.0.1"), described
        members = rows(groups_tool(b, "--describe", "--group", group, "--members").stdout)
        assert len(members) == 1 and members[0]["CLIENT-ID"] == "tool-member" and members[0]["#PARTITIONS"] == "3"
        state = rows(groups_tool(b, "--describe", "--group", group, "--state").stdout)
        assert state[0]["STATE"] == "Stable" and state[0]["ASSIGNMENT-STRATEGY"] == "range", state
        assert state[0]["#MEMBERS"] == "1"

        refused = groups_tool(b, "--delete", "--group", group, check=False)
        assert "not empty" in (refused.stdout + refused.stderr).lower() or refused.returncode != 0, refused
        m.close(0)
        wait_until(lambda: rows(groups_tool(b, "--describe", "--group", group, "--state").stdout)[0]["STATE"]
                   == "Empty", timeout=20, message="the group empty")

        reset = groups_tool(b, "--reset-offsets", "--group", group, "--topic", topic_name, "--to-earliest",
                            "--execute").stdout
        assert {r["PARTITION"]: r["NEW-OFFSET"] for r in rows(reset)} == {"0": "0", "1": "0", "2": "0"}, reset
        groups_tool(b, "--delete-offsets", "--group", group, "--topic", f"{topic_name}:2")
        described = groups_tool(b, "--describe", "--group", group).stdout
        current = {int(r["PARTITION"]): r["CURRENT-OFFSET"] for r in rows(described) if r.get("TOPIC") == topic_name}
        assert current == {0: "0", 1: "0"}, described

        deleted = groups_tool(b, "--delete", "--group", group).stdout
        assert re.search(r"Deletion of requested consumer groups .* was successful", deleted), deleted
        assert group not in groups_tool(b, "--list").stdout.split()
    finally:
        m.close_all()


def test_dump_log_decodes_consumer_offsets(broker_factory, topic_name):
    broker = broker_factory(config=GROUP_BROKER_CONFIG)
    b = broker.bootstrap
    create_topic(b, topic_name, partitions=1)
    group = group_name("dump")
    m = Members(rk_consumer(b, group))
    try:
        m.consumers[0].subscribe([topic_name])
        m.wait_assignment([1])
        # (confluent-kafka sends the metadata with a trailing NUL; Kafka keeps it too)
        m.consumers[0].commit(offsets=[TopicPartition(topic_name, 0, 42, "meta-42")], asynchronous=False)
    finally:
        m.close_all()
    broker.stop()
    # Kafka's own decoder over every non-empty __consumer_offsets segment
    segments = [p for p in broker.data_dir.glob("__consumer_offsets-*/*.log") if p.stat().st_size > 0]
    assert segments
    out = run_tool("dump-log", "--offsets-decoder", "--print-data-log",
                   "--files", ",".join(str(p) for p in segments)).stdout
    assert re.search(r'key: \{"type":"1","data":\{"group":"%s","topic":"%s","partition":0\}\} '
                     r'payload: \{"version":"3","data":\{"offset":42,"leaderEpoch":-1,"metadata":"meta-42(\\u0000)?",'
                     r'"commitTimestamp":\d+\}\}' % (re.escape(group), re.escape(topic_name)), out), out[-3000:]
    assert re.search(r'key: \{"type":"2","data":\{"group":"%s"\}\} payload: \{"version":"3","data":\{'
                     r'"protocolType":"consumer","generation":1,"protocol":"range","leader":"[^"]+"'
                     % re.escape(group), out), out[-3000:]
    assert "isvalid: true" in out and "isvalid: false" not in out
