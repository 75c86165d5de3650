"""KIP-848 consumer groups (group.protocol=consumer): ConsumerGroupHeartbeat and
ConsumerGroupDescribe with server-side assignment.

- Kafka's Java consumer with group.protocol=consumer (tests/java/client `group-member`): two
  members split a 6-partition topic and read everything once, a third member takes partitions
  only after their owners revoked them, a leaving member's partitions move at once.
- Raw protocol (kafka_proto): the same join / reconcile / revoke / leave heartbeat sequence
  against the reference Apache Kafka 4.1.1 and Gregor gives the same errors, epochs, states
  and assignment shapes; on Gregor alone: static members, session and rebalance timeouts,
  the range assignor, OffsetCommit/OffsetFetch member epochs, group.consumer.migration.policy
  disabled.
- @platformatic/kafka with groupProtocol: 'consumer' (tests/node/group_platformatic848.js).
- Online migration (classic and consumer-protocol members in one group) with real clients: Java
  classic and consumer-protocol members sharing a topic, a rolling upgrade and a rolling downgrade,
  confluent-kafka classic members with a Java consumer-protocol member; a mixed group survives a
  restart. (Raw-protocol comparisons with Kafka are in test_groups_differential.py.)

- __consumer_offsets: the group's KIP-848 records survive a restart (SIGTERM and kill -9) with
  the raw protocol and with the Java consumer, kafka-dump-log decodes them, and the records Gregor
  writes for a heartbeat sequence are the ones Apache Kafka 4.1.1 writes."""

from __future__ import annotations

import subprocess
import time
import uuid

import pytest

from group_helpers import LineReader, group_name, produce_spread
from helpers import die_with_parent, unique_name, wait_until
from kafka_proto import KafkaClient
from test_broker_confluent import create_topic
from test_differential import Diffs, pair  # noqa: F401 - the pair fixture

NONE = 0
NOT_COORDINATOR = 16
INCONSISTENT_GROUP_PROTOCOL = 23
UNKNOWN_MEMBER_ID = 25
UNSUPPORTED_VERSION = 35
INVALID_REQUEST = 42
GROUP_ID_NOT_FOUND = 69
MEMBER_ID_REQUIRED = 79
FENCED_MEMBER_EPOCH = 110
UNRELEASED_INSTANCE_ID = 111
UNSUPPORTED_ASSIGNOR = 112
STALE_MEMBER_EPOCH = 113
INVALID_REGULAR_EXPRESSION = 128

KIP848_CONFIG = {
    "group.initial.rebalance.delay.ms": 0,
    "group.consumer.min.session.timeout.ms": 3000,
    "group.consumer.session.timeout.ms": 3000,
    "group.consumer.min.heartbeat.interval.ms": 500,
    "group.consumer.heartbeat.interval.ms": 500,
}


# --------------------------------------------------------------------------- raw protocol


class Side:
    """One broker for the raw scenarios: a connection, topic creation, coordinator wait."""

    def __init__(self, host: str, port: int):
        self.conn = KafkaClient(host, port, timeout=30, client_id="kip848")

    def send(self, api: str, version: int, body: dict) -> dict:
        return self.conn.send(api, version, body)

    def create_topic(self, name: str, partitions: int) -> None:
        r = self.send("CreateTopics", 5, {"Topics": [{"Name": name, "NumPartitions": partitions,
                                                       "ReplicationFactor": 1, "Assignments": [], "Configs": []}],
                                           "TimeoutMs": 10000})
        assert r["Topics"][0]["ErrorCode"] == NONE, r
        wait_until(lambda: self.send("Metadata", 12, {"Topics": [{"TopicId": uuid.UUID(int=0), "Name": name}],
                                                      "AllowAutoTopicCreation": False,
                                                      "IncludeTopicAuthorizedOperations": False}
                                     )["Topics"][0]["ErrorCode"] == NONE, timeout=20, message=f"topic {name}")

    def wait_coordinator(self, group: str, topics: list[str] = ()) -> None:
        """Until the group has a coordinator that sees `topics`: Kafka's group coordinator learns
        of a new topic a little after Metadata does, so a probe group joins until it gets them."""
        wait_until(lambda: self.send("FindCoordinator", 4, {"KeyType": 0, "CoordinatorKeys": [group]}
                                     )["Coordinators"][0]["ErrorCode"] == NONE, timeout=30, message="a coordinator")
        probe = group + "-probe"
        for topic in topics:
            def sees():
                r = self.join(probe, [topic])
                assert r["ErrorCode"] == NONE, r
                self.hb(probe, MemberEpoch=-1, MemberId=r["MemberId"])
                return parts(r)
            wait_until(sees, timeout=30, interval=0.2, message=f"the coordinator seeing {topic}")

    def hb(self, group: str, version: int = 0, **kw) -> dict:
        body = {"GroupId": group, "MemberId": "", "MemberEpoch": 0, "InstanceId": None, "RackId": None,
                "RebalanceTimeoutMs": -1, "SubscribedTopicNames": None, "SubscribedTopicRegex": None,
                "ServerAssignor": None, "TopicPartitions": None}
        body.update(kw)
        return self.send("ConsumerGroupHeartbeat", version, body)

    def join(self, group: str, topics: list[str], **kw) -> dict:
        return self.hb(group, MemberEpoch=0, RebalanceTimeoutMs=kw.pop("RebalanceTimeoutMs", 30000),
                       SubscribedTopicNames=topics, TopicPartitions=[], **kw)

    def describe(self, group: str, version: int = 0) -> dict:
        return self.send("ConsumerGroupDescribe", version, {"GroupIds": [group], "IncludeAuthorizedOperations": False}
                         )["Groups"][0]

    def close(self) -> None:
        self.conn.close()


def parts(resp: dict) -> list[int] | None:
    a = resp.get("Assignment")
    if a is None:
        return None
    return sorted(p for t in a["TopicPartitions"] for p in t["Partitions"])


def owned(resp_assignment: dict | None) -> list[dict]:
    return [] if resp_assignment is None else [
        {"TopicId": t["TopicId"], "Partitions": t["Partitions"]} for t in resp_assignment["TopicPartitions"]]


def scenario(side: Side, topic: str, group: str) -> list[tuple[str, object]]:
    """Joins, a second member (revocation first), a fenced epoch, a leave; records what happens
    with member ids replaced by labels."""
    obs: list[tuple[str, object]] = []
    side.create_topic(topic, 6)
    side.wait_coordinator(group, [topic])

    def rec(step, r, with_parts=True):
        obs.append((step, (r["ErrorCode"], r["MemberEpoch"], parts(r) if with_parts else None,
                           r.get("HeartbeatIntervalMs", 0) > 0)))
        return r

    rec("unknown group", side.hb(group, MemberEpoch=1, MemberId="nobody"))
    rec("no rebalance timeout", side.hb(group, MemberEpoch=0))
    rec("null owned at join", side.hb(group, MemberEpoch=0, RebalanceTimeoutMs=30000))
    rec("bad assignor", side.join(group, [topic], ServerAssignor="nope"))
    rec("no member id", side.hb(group, MemberEpoch=3))
    r1 = rec("m1 joins", side.join(group, [topic]))
    m1, a1 = r1["MemberId"], r1["Assignment"]
    obs.append(("m1 id length", len(m1)))
    d = side.describe(group)
    obs.append(("state after m1", (d["GroupState"], d["GroupEpoch"], d["AssignmentEpoch"], d["AssignorName"])))
    r2 = rec("m2 joins", side.join(group, [topic]))
    m2 = r2["MemberId"]
    d = side.describe(group)
    obs.append(("state after m2", (d["GroupState"], d["GroupEpoch"], d["AssignmentEpoch"])))
    labels = {m1: "m1", m2: "m2"}
    obs.append(("members", sorted((labels[m["MemberId"]], m["MemberEpoch"],
                                   sorted(p for t in m["Assignment"]["TopicPartitions"] for p in t["Partitions"]),
                                   sorted(p for t in m["TargetAssignment"]["TopicPartitions"]
                                          for p in t["Partitions"]))
                                  for m in d["Members"])))
    rec("m2 waits", side.hb(group, MemberEpoch=2, MemberId=m2))
    r = rec("m1 told to revoke", side.hb(group, MemberEpoch=1, MemberId=m1, TopicPartitions=owned(a1)))
    rec("m1 still owns", side.hb(group, MemberEpoch=1, MemberId=m1, TopicPartitions=owned(a1)))
    rec("m2 still waits", side.hb(group, MemberEpoch=2, MemberId=m2, TopicPartitions=[]))
    rec("m1 revoked", side.hb(group, MemberEpoch=1, MemberId=m1, TopicPartitions=owned(r["Assignment"])))
    r = rec("m2 gets its partitions", side.hb(group, MemberEpoch=2, MemberId=m2))
    rec("m2 acknowledges", side.hb(group, MemberEpoch=2, MemberId=m2, TopicPartitions=owned(r["Assignment"])))
    d = side.describe(group)
    obs.append(("state stable", (d["GroupState"], d["GroupEpoch"], d["AssignmentEpoch"])))
    rec("m1 epoch ahead", side.hb(group, MemberEpoch=7, MemberId=m1), with_parts=False)
    rec("m1 old epoch, not a subset", side.hb(group, MemberEpoch=1, MemberId=m1,
                                              TopicPartitions=owned(a1)), with_parts=False)
    rec("m1 previous epoch, subset", side.hb(group, MemberEpoch=1, MemberId=m1, TopicPartitions=[]))
    # OffsetCommit v9 / OffsetFetch v9 with member epochs.
    commit = {"GroupId": group, "MemberId": m1, "GroupInstanceId": None, "RetentionTimeMs": -1,
              "Topics": [{"Name": topic, "Partitions": [{"PartitionIndex": 0, "CommittedOffset": 0,
                                                         "CommittedLeaderEpoch": -1, "CommittedMetadata": ""}]}]}
    for label, version, epoch, member in (("commit stale", 9, 1, m1), ("commit", 9, 2, m1),
                                          ("commit v8", 8, 2, m1), ("commit unknown member", 9, 2, "x")):
        r = side.send("OffsetCommit", version, dict(commit, GenerationIdOrMemberEpoch=epoch, MemberId=member))
        obs.append((label, r["Topics"][0]["Partitions"][0]["ErrorCode"]))
    for label, epoch in (("fetch stale", 1), ("fetch", 2), ("fetch admin", -1)):
        r = side.send("OffsetFetch", 9, {"Groups": [{"GroupId": group, "MemberId": m1 if epoch >= 0 else None,
                                                     "MemberEpoch": epoch, "Topics": None}],
                                         "RequireStable": False})
        obs.append((label, r["Groups"][0]["ErrorCode"]))
    # The classic APIs see the group as Kafka shows it.
    r = side.send("DescribeGroups", 5, {"Groups": [group], "IncludeAuthorizedOperations": False})
    obs.append(("DescribeGroups", (r["Groups"][0]["ErrorCode"], r["Groups"][0]["GroupState"])))
    r = side.send("ListGroups", 5, {"StatesFilter": [], "TypesFilter": ["consumer"]})
    obs.append(("ListGroups", [(g["GroupState"], g["GroupType"], g["ProtocolType"]) for g in r["Groups"]
                               if g["GroupId"] == group]))
    rec("m2 leaves", side.hb(group, MemberEpoch=-1, MemberId=m2))
    rec("m2 leaves again", side.hb(group, MemberEpoch=-1, MemberId=m2))
    r = rec("m1 takes over: revoke nothing, wait for nothing", side.hb(group, MemberEpoch=2, MemberId=m1))
    rec("m1 acknowledges", side.hb(group, MemberEpoch=r["MemberEpoch"], MemberId=m1,
                                   TopicPartitions=owned(r["Assignment"])))
    rec("m1 leaves", side.hb(group, MemberEpoch=-1, MemberId=m1))
    d = side.describe(group)
    obs.append(("state empty", (d["GroupState"], d["GroupEpoch"], len(d["Members"]))))
    r = side.send("ListGroups", 5, {"StatesFilter": ["empty"], "TypesFilter": []})
    obs.append(("ListGroups empty", [g["GroupType"] for g in r["Groups"] if g["GroupId"] == group]))
    return obs


def test_heartbeat_sequence_matches_kafka(pair):
    """The same raw ConsumerGroupHeartbeat sequence against Apache Kafka 4.1.1 and Gregor."""
    topic = unique_name("k848")
    runs = {}
    for side in (pair.kafka, pair.gregor):
        s = Side(side.host, side.port)
        try:
            runs[side.name] = scenario(s, topic, group_name("k848"))
        finally:
            s.close()
    d = Diffs("ConsumerGroupHeartbeat sequence")
    k, g = dict(runs["kafka"]), dict(runs["gregor"])
    assert list(k) == list(g)
    for step in k:
        d.eq(step, k[step], g[step])
    d.check()


@pytest.fixture
def kbroker(broker_factory):
    return broker_factory(config=KIP848_CONFIG)


@pytest.fixture
def side(kbroker):
    s = Side(kbroker.host, kbroker.port)
    yield s
    s.close()


def test_static_members_and_instance_ids(side):
    topic, group = unique_name("k848s"), group_name("k848s")
    side.create_topic(topic, 4)
    side.wait_coordinator(group)
    a = side.join(group, [topic], InstanceId="i1")
    assert a["ErrorCode"] == NONE and parts(a) == [0, 1, 2, 3]
    r = side.join(group, [topic], InstanceId="i1")
    assert r["ErrorCode"] == UNRELEASED_INSTANCE_ID, r
    r = side.hb(group, MemberEpoch=-2, MemberId=a["MemberId"], InstanceId="i1")
    assert (r["ErrorCode"], r["MemberEpoch"]) == (NONE, -2)
    # The instance comes back under a new member id and keeps its partitions, no rebalance.
    b = side.join(group, [topic], InstanceId="i1")
    assert b["ErrorCode"] == NONE and b["MemberId"] != a["MemberId"] and parts(b) == [0, 1, 2, 3], b
    assert side.describe(group)["GroupEpoch"] == 1
    r = side.hb(group, MemberEpoch=b["MemberEpoch"], MemberId=a["MemberId"])
    assert r["ErrorCode"] == UNKNOWN_MEMBER_ID


def test_session_and_rebalance_timeouts(side):
    """A member that stops heartbeating is removed after group.consumer.session.timeout.ms; a
    member that does not revoke within its rebalance timeout is removed and its partitions go."""
    topic, group = unique_name("k848t"), group_name("k848t")
    side.create_topic(topic, 4)
    side.wait_coordinator(group)
    a = side.join(group, [topic], RebalanceTimeoutMs=1500)
    b = side.join(group, [topic])
    assert parts(a) == [0, 1, 2, 3] and parts(b) == []
    r = side.hb(group, MemberEpoch=1, MemberId=a["MemberId"], TopicPartitions=owned(a["Assignment"]))
    assert len(parts(r)) == 2 and r["MemberEpoch"] == 1  # revoke two, keep the epoch
    t0 = time.monotonic()

    def b_has_all():
        r = side.hb(group, MemberEpoch=2, MemberId=b["MemberId"], TopicPartitions=[])
        assert r["ErrorCode"] == NONE, r
        return r["Assignment"] is not None and parts(r) == [0, 1, 2, 3]
    # a never revokes: after 1.5 s it is out and b, heartbeating, gets everything.
    wait_until(b_has_all, timeout=10, interval=0.3, message="b owning every partition")
    assert 1.0 < time.monotonic() - t0 < 6
    r = side.hb(group, MemberEpoch=1, MemberId=a["MemberId"])
    assert r["ErrorCode"] == UNKNOWN_MEMBER_ID
    # b stops heartbeating: the 3 s session timeout empties the group.
    wait_until(lambda: side.describe(group)["GroupState"] == "Empty", timeout=10, interval=0.3,
               message="the group empty after the session timeout")


def test_range_assignor_and_subscriptions(side):
    t1, t2, group = unique_name("k848r"), unique_name("k848r"), group_name("k848r")
    side.create_topic(t1, 3)
    side.create_topic(t2, 2)
    side.wait_coordinator(group)
    a = side.join(group, [t1, t2], ServerAssignor="range", MemberId="member-a")
    assert a["MemberId"] == "member-a" and len(parts(a)) == 5
    b = side.join(group, [t1], ServerAssignor="range", MemberId="member-b")
    d = side.describe(group)
    assert d["AssignorName"] == "range"
    target = {m["MemberId"]: sorted((t["TopicName"], p) for t in m["TargetAssignment"]["TopicPartitions"]
                                    for p in t["Partitions"]) for m in d["Members"]}
    # t1 split in ranges over a and b (sorted by member id), t2 only to its subscriber a.
    assert target["member-a"] == sorted([(t1, 0), (t1, 1), (t2, 0), (t2, 1)])
    assert target["member-b"] == [(t1, 2)]
    assert b["ErrorCode"] == NONE
    # A subscription change bumps the group epoch.
    e = d["GroupEpoch"]
    r = side.hb(group, MemberEpoch=b["MemberEpoch"], MemberId="member-b", SubscribedTopicNames=[t1, t2])
    assert r["ErrorCode"] == NONE and side.describe(group)["GroupEpoch"] == e + 1


def test_migration_disabled(broker_factory):
    """group.consumer.migration.policy=disabled: a consumer-protocol member cannot join a classic
    group that has members (GROUP_ID_NOT_FOUND, Kafka's message); a classic member may still join
    a consumer group (Kafka allows that whatever the policy), and the group stays a consumer group
    when its consumer-protocol member leaves. Empty groups change protocol freely, offsets kept."""
    kbroker = broker_factory(config=dict(KIP848_CONFIG, **{"group.consumer.migration.policy": "DISABLED"}))
    side = Side(kbroker.host, kbroker.port)
    try:
        topic, group = unique_name("k848m"), group_name("k848m")
        side.create_topic(topic, 2)
        side.wait_coordinator(group)
        join = {"GroupId": group, "SessionTimeoutMs": 10000, "RebalanceTimeoutMs": 10000, "MemberId": "",
                "GroupInstanceId": None, "ProtocolType": "consumer",
                "Protocols": [{"Name": "range", "Metadata": b"\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff"}]}
        a = side.join(group, [topic])
        r = side.send("JoinGroup", 5, join)
        assert r["ErrorCode"] == MEMBER_ID_REQUIRED and len(r["MemberId"]) == 22, r
        r = side.send("JoinGroup", 5, dict(join, MemberId=r["MemberId"]))
        # It subscribes to nothing: no new group epoch (its generation is the member epoch).
        assert r["ErrorCode"] == NONE and r["GenerationId"] == 1 and r["Leader"] == "", r
        classic = r["MemberId"]
        assert side.hb(group, MemberEpoch=-1, MemberId=a["MemberId"])["ErrorCode"] == NONE
        d = side.describe(group, version=1)
        assert [(m["MemberId"], m["MemberType"]) for m in d["Members"]] == [(classic, 0)], d
        r = side.send("LeaveGroup", 3, {"GroupId": group, "Members": [{"MemberId": classic, "GroupInstanceId": None}]})
        assert r["ErrorCode"] == NONE and r["Members"][0]["ErrorCode"] == NONE
        assert side.describe(group)["GroupState"] == "Empty"
        # Empty: the group may change protocol (its offsets stay).
        r = side.send("JoinGroup", 5, join)
        assert r["ErrorCode"] == MEMBER_ID_REQUIRED
        r = side.send("JoinGroup", 5, dict(join, MemberId=r["MemberId"]))
        assert r["ErrorCode"] == NONE
        r = side.join(group, [topic])
        assert r["ErrorCode"] == GROUP_ID_NOT_FOUND, r
        assert r["ErrorMessage"] == (f"Cannot upgrade classic group {group} to consumer group because online "
                                     "upgrade is disabled.")
        d = side.describe(group)
        assert d["ErrorCode"] == GROUP_ID_NOT_FOUND
    finally:
        side.close()


# --------------------------------------------------------------------------- Java


class JavaConsumer848:
    """`group-member` (tests/java/client) with group.protocol=consumer (or classic)."""

    def __init__(self, bootstrap: str, topic: str | None, group: str, jar, java: str, extra: tuple = (),
                 protocol: str = "consumer", timeout_ms: int = 90000):
        cmd = [java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", str(jar), "group-member",
               "--bootstrap", bootstrap, "--group", group, "--timeout-ms", str(timeout_ms),
               "--config", f"group.protocol={protocol}", *(("--topic", topic) if topic else ()), *extra]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, preexec_fn=die_with_parent)
        self.out = LineReader(self.proc)

    def lines(self) -> list[dict]:
        return self.out.read()

    def assignment(self) -> set[int]:
        a = [x["assigned"] for x in self.lines() if "assigned" in x]
        return set(a[-1]) if a else set()

    def tps(self) -> set[str]:
        a = [x["assigned_tps"] for x in self.lines() if "assigned_tps" in x]
        return set(a[-1]) if a else set()

    def topic_records(self) -> list[tuple[str, int, int]]:
        return [(x["topic"], x["partition"], x["offset"]) for x in self.lines() if "offset" in x]

    def history(self) -> list[set[int]]:
        return [set(x["assigned"]) for x in self.lines() if "assigned" in x]

    def records(self) -> list[tuple[int, int]]:
        return [(x["partition"], x["offset"]) for x in self.lines() if "offset" in x]

    def stop(self) -> None:
        self.proc.stdin.write("stop\n")
        self.proc.stdin.flush()
        wait_until(lambda: any(x.get("stopped") for x in self.lines()), timeout=30, message="the member stopped")
        self.proc.wait(timeout=30)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def test_java_consumer_protocol(kbroker, topic_name, java_client):
    from kafka_ref import java_bin
    b = kbroker.bootstrap
    create_topic(b, topic_name, partitions=6)
    group = group_name("j848")
    a = JavaConsumer848(b, topic_name, group, java_client.jar, java_bin())
    c = JavaConsumer848(b, topic_name, group, java_client.jar, java_bin())
    d = None
    try:
        wait_until(lambda: len(a.assignment()) == 3 and len(c.assignment()) == 3 and
                   a.assignment() | c.assignment() == set(range(6)), timeout=60,
                   message="two Java consumer-protocol members with 3 partitions each")
        total = produce_spread(b, topic_name, 6, 20)
        wait_until(lambda: len(a.records()) + len(c.records()) >= total, timeout=30, message=f"{total} records")
        both = a.records() + c.records()
        assert len(both) == total and len(set(both)) == total
        # A third member: partitions move only after their owner gave them up, so the
        # assignments the members report never overlap at any moment.
        d = JavaConsumer848(b, topic_name, group, java_client.jar, java_bin())
        wait_until(lambda: [len(m.assignment()) for m in (a, c, d)] == [2, 2, 2] and
                   a.assignment() | c.assignment() | d.assignment() == set(range(6)), timeout=60,
                   message="three members with 2 partitions each")
        side = Side(kbroker.host, kbroker.port)
        try:
            g = side.describe(group)
            assert g["GroupState"] == "Stable" and len(g["Members"]) == 3
            assert len({m["MemberEpoch"] for m in g["Members"]}) == 1
        finally:
            side.close()
        more = produce_spread(b, topic_name, 6, 5, tag="more")
        # The new member may re-read records of its partitions that their old
        # owner had not committed yet (at-least-once), so count distinct records.
        wait_until(lambda: len(set(a.records() + c.records() + d.records())) >= total + more, timeout=30,
                   message="the new records")
        allr = a.records() + c.records() + d.records()
        assert len(set(allr)) == total + more
        t0 = time.monotonic()
        c.stop()  # commits, then leaves with epoch -1
        wait_until(lambda: len(a.assignment()) + len(d.assignment()) == 6 and
                   a.assignment() | d.assignment() == set(range(6)), timeout=20,
                   message="the leaver's partitions moved")
        assert time.monotonic() - t0 < 10
    finally:
        for m in (a, c, d):
            if m is not None:
                m.kill()


# --------------------------------------------------------------------------- @platformatic/kafka


def test_platformatic_consumer_protocol(kbroker, topic_name, node):
    """@platformatic/kafka 1.35 speaks ConsumerGroupHeartbeat with groupProtocol: 'consumer'."""
    res = node("group_platformatic848", bootstrap=kbroker.bootstrap, topic=topic_name,
               group=group_name("p848"), partitions=6, count=60, timeout=90)
    ev = {x["event"]: x for x in res}
    split = ev["split"]
    assert sorted(len(a) for a in split["assignments"]) == [3, 3], split
    assert set(split["assignments"][0]) | set(split["assignments"][1]) == set(range(6))
    assert split["records"] == 60 and split["duplicates"] == 0
    assert ev["after-leave"]["assignment"] == list(range(6))


# --------------------------------------------------------------------------- __consumer_offsets


def java_hash(s: str) -> int:
    h = 0
    for ch in s.encode("utf-16-be").decode("utf-16-be"):
        for unit in ch.encode("utf-16-be")[::2]:
            pass
    h = 0
    b = s.encode("utf-16-be")
    for i in range(0, len(b), 2):
        h = (31 * h + (b[i] << 8 | b[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def offsets_partition(group: str, partitions: int = 50) -> int:
    h = java_hash(group)
    return (0 if h == -(1 << 31) else abs(h)) % partitions


def dump_group_records(log_dir, group: str) -> list[tuple[int, dict, object]]:
    """kafka-dump-log --offsets-decoder over the group's __consumer_offsets partition:
    [(key type, key data, value dict or None for a tombstone)] of the group, in log order."""
    import json
    import re
    from pathlib import Path

    from kafka_tools import run_tool
    d = Path(log_dir) / f"__consumer_offsets-{offsets_partition(group)}"
    segs = sorted(p for p in d.glob("*.log") if p.stat().st_size > 0)
    if not segs:
        return []
    out = run_tool("dump-log", "--offsets-decoder", "--print-data-log", "--files", ",".join(map(str, segs))).stdout
    recs = []
    for line in out.splitlines():
        m = re.search(r" key: (\{.*\}) payload: (.*)$", line)
        if not m:
            continue
        key = json.loads(m.group(1))
        if key["data"].get("groupId", key["data"].get("group")) != group:
            continue
        payload = m.group(2).strip()
        value = None if payload in ("", "<DELETE>", "null") else json.loads(payload)
        recs.append((int(key["type"]), key["data"], value))
    return recs


def member_view(d: dict) -> list[tuple]:
    return sorted((m["MemberId"], m["MemberEpoch"], m["ClientId"],
                   sorted((t["TopicName"], p) for t in m["Assignment"]["TopicPartitions"] for p in t["Partitions"]),
                   sorted((t["TopicName"], p) for t in m["TargetAssignment"]["TopicPartitions"]
                          for p in t["Partitions"]))
                  for m in d["Members"])


@pytest.mark.parametrize("how", ["sigterm", "kill9"])
def test_restart_keeps_consumer_group(broker_factory, how):
    """The group's epoch, members, subscriptions and assignments are written to
    __consumer_offsets (fsynced) and come back after a restart, SIGTERM or kill -9: the members
    go on heartbeating with their epochs; ConsumerGroupDescribe shows the same group. A member
    that does not come back is removed when its session expires (3 s here)."""
    kbroker = broker_factory(config=KIP848_CONFIG)
    topic, group = unique_name("k848r"), group_name("k848r")
    s = Side(kbroker.host, kbroker.port)
    try:
        s.create_topic(topic, 4)
        s.wait_coordinator(group, [topic])
        a = s.join(group, [topic], ServerAssignor="range")
        b = s.join(group, [topic], ServerAssignor="range")
        state = {a["MemberId"]: [a["MemberEpoch"], owned(a["Assignment"])],
                 b["MemberId"]: [b["MemberEpoch"], owned(b["Assignment"])]}

        def beat(mid):
            st = state[mid]
            r = s.hb(group, MemberEpoch=st[0], MemberId=mid, TopicPartitions=st[1])
            assert r["ErrorCode"] == NONE, r
            st[0] = r["MemberEpoch"]
            if r["Assignment"] is not None:
                st[1] = owned(r["Assignment"])
            return r

        def settled():
            beat(a["MemberId"])
            beat(b["MemberId"])
            d = s.describe(group)
            return d["GroupState"] == "Stable"
        wait_until(settled, timeout=10, interval=0.1, message="a and b stable")
        (a_epoch, a_owned), (b_epoch, b_owned) = state[a["MemberId"]], state[b["MemberId"]]
        assert sorted(p for t in a_owned + b_owned for p in t["Partitions"]) == [0, 1, 2, 3]
        r = s.send("OffsetCommit", 9, {"GroupId": group, "GenerationIdOrMemberEpoch": a_epoch,
                                       "MemberId": a["MemberId"], "GroupInstanceId": None, "RetentionTimeMs": -1,
                                       "Topics": [{"Name": topic, "Partitions": [
                                           {"PartitionIndex": 0, "CommittedOffset": 7, "CommittedLeaderEpoch": -1,
                                            "CommittedMetadata": "m"}]}]})
        assert r["Topics"][0]["Partitions"][0]["ErrorCode"] == NONE
        before = s.describe(group)
        assert before["GroupState"] == "Stable" and len(before["Members"]) == 2
    finally:
        s.close()
    if how == "kill9":
        kbroker.kill9()
        kbroker.start()
    else:
        kbroker.restart()
    s = Side(kbroker.host, kbroker.port)
    try:
        s.wait_coordinator(group)
        after = s.describe(group)
        assert after["ErrorCode"] == NONE, after
        for k in ("GroupState", "GroupEpoch", "AssignmentEpoch", "AssignorName"):
            assert after[k] == before[k], (k, before, after)
        assert member_view(after) == member_view(before)
        # Both carry on with the epochs they had: no rejoin, no rebalance.
        r = s.hb(group, MemberEpoch=a_epoch, MemberId=a["MemberId"])
        assert (r["ErrorCode"], r["MemberEpoch"]) == (NONE, a_epoch), r
        r = s.hb(group, MemberEpoch=b_epoch, MemberId=b["MemberId"], TopicPartitions=b_owned)
        assert (r["ErrorCode"], r["MemberEpoch"]) == (NONE, b_epoch), r
        assert s.describe(group)["GroupEpoch"] == before["GroupEpoch"]
        r = s.send("OffsetFetch", 9, {"Groups": [{"GroupId": group, "MemberId": a["MemberId"],
                                                  "MemberEpoch": a_epoch, "Topics": None}], "RequireStable": False})
        assert r["Groups"][0]["ErrorCode"] == NONE
        assert [(p["PartitionIndex"], p["CommittedOffset"]) for t in r["Groups"][0]["Topics"]
                for p in t["Partitions"]] == [(0, 7)]
        # b stops heartbeating: its session (3 s) expires, a gets everything.
        def a_has_all():
            r = s.hb(group, MemberEpoch=a_epoch_now[0], MemberId=a["MemberId"], TopicPartitions=a_owned_now[0])
            assert r["ErrorCode"] == NONE, r
            a_epoch_now[0] = r["MemberEpoch"]
            if r["Assignment"] is not None:
                a_owned_now[0] = owned(r["Assignment"])
            return sorted(p for t in a_owned_now[0] for p in t["Partitions"]) == [0, 1, 2, 3]
        a_epoch_now, a_owned_now = [a_epoch], [a_owned]
        wait_until(a_has_all, timeout=20, interval=0.5, message="b's session expired, a owns every partition")
        d = s.describe(group)
        assert [m["MemberId"] for m in d["Members"]] == [a["MemberId"]]
        assert d["GroupEpoch"] > before["GroupEpoch"]
    finally:
        s.close()


def test_java_consumer_group_survives_restart(broker_factory, topic_name, java_client):
    """Two Java consumers (group.protocol=consumer) keep their group across a kill -9 of the
    broker: kafka-consumer-groups --describe shows the group from the log before they are back,
    and then they carry on in the same group epoch with the same member ids and partitions,
    reading the records produced after the restart once."""
    from kafka_ref import java_bin
    from kafka_tools import run_tool
    kbroker = broker_factory(config=dict(KIP848_CONFIG, **{"group.consumer.session.timeout.ms": 30000}))
    b = kbroker.bootstrap
    create_topic(b, topic_name, partitions=4)
    group = group_name("j848r")
    a = JavaConsumer848(b, topic_name, group, java_client.jar, java_bin())
    c = JavaConsumer848(b, topic_name, group, java_client.jar, java_bin())
    try:
        wait_until(lambda: len(a.assignment()) == 2 and len(c.assignment()) == 2 and
                   a.assignment() | c.assignment() == set(range(4)), timeout=60, message="2 + 2 partitions")
        total = produce_spread(b, topic_name, 4, 10)
        wait_until(lambda: len(a.records()) + len(c.records()) >= total, timeout=30, message=f"{total} records")
        for m in (a, c):
            m.proc.stdin.write("commit\n")
            m.proc.stdin.flush()
        wait_until(lambda: all(any("committed" in x for x in m.lines()) for m in (a, c)), timeout=30,
                   message="commits")
        s = Side(kbroker.host, kbroker.port)
        try:
            before = s.describe(group)
        finally:
            s.close()
        assert before["GroupState"] == "Stable" and len(before["Members"]) == 2
        kbroker.kill9()
        kbroker.start()
        out = run_tool("consumer-groups", "--bootstrap-server", b, "--describe", "--members", "--group", group).stdout
        assert all(m["MemberId"] in out for m in before["Members"]), out
        n_before = len(a.records()) + len(c.records())
        more = produce_spread(b, topic_name, 4, 5, tag="after")
        wait_until(lambda: len(a.records()) + len(c.records()) >= n_before + more, timeout=60,
                   message="the records produced after the restart")
        s = Side(kbroker.host, kbroker.port)
        try:
            after = s.describe(group)
        finally:
            s.close()
        assert after["GroupEpoch"] == before["GroupEpoch"], (before, after)
        assert member_view(after) == member_view(before)
        allr = a.records() + c.records()
        assert len(allr) == len(set(allr)) == total + more
    finally:
        a.kill()
        c.kill()


def test_consumer_group_records_decoded_by_kafka_tools(broker_factory):
    """kafka-dump-log --offsets-decoder reads the KIP-848 records Gregor writes: group epoch,
    member metadata, target assignment (+ its epoch) and current assignment; a member that
    leaves gets tombstones and a new group epoch; DeleteGroups tombstones the group."""
    kbroker = broker_factory(config=KIP848_CONFIG)
    topic, group = unique_name("k848d"), group_name("k848d")
    s = Side(kbroker.host, kbroker.port)
    try:
        s.create_topic(topic, 2)
        s.wait_coordinator(group, [topic])
        a = s.join(group, [topic])
        assert a["ErrorCode"] == NONE
        r = s.hb(group, MemberEpoch=-1, MemberId=a["MemberId"])
        assert r["ErrorCode"] == NONE
        r = s.send("DeleteGroups", 2, {"GroupsNames": [group]})
        assert r["Results"][0]["ErrorCode"] == NONE, r
    finally:
        s.close()
    kbroker.stop()
    recs = dump_group_records(kbroker.data_dir, group)
    kinds = [(t, v is None) for t, _, v in recs]
    assert kinds == [
        (5, False), (3, False), (7, False), (6, False), (8, False),   # a joins
        (8, True), (7, True), (5, True), (3, False),                  # a leaves: tombstones, new epoch
        (6, True), (4, True), (3, True),                              # DeleteGroups
    ], recs
    meta = recs[0][2]
    assert meta["version"] == "0" or meta["version"] == 0
    assert meta["data"]["subscribedTopicNames"] == [topic] and meta["data"]["rebalanceTimeoutMs"] == 30000
    assert recs[1][2]["data"]["epoch"] == 1 and recs[3][2]["data"]["assignmentEpoch"] == 1
    assert sorted(recs[2][2]["data"]["topicPartitions"][0]["partitions"]) == [0, 1]
    cur = recs[4][2]["data"]
    assert (cur["memberEpoch"], cur["state"]) == (1, 0)
    assert sorted(cur["assignedPartitions"][0]["partitions"]) == [0, 1]
    assert recs[8][2]["data"]["epoch"] == 2


def normalized_records(recs: list[tuple[int, dict, object]]) -> list[tuple]:
    """KIP-848 records (types 3-8) with member ids as m1, m2... in order of appearance, topic
    ids as t1... and without the metadata hash (each broker's own), for comparing brokers."""
    import json
    labels: dict[str, str] = {}

    def label(x: str, prefix: str) -> str:
        return labels.setdefault(x, f"{prefix}{sum(v.startswith(prefix) for v in labels.values()) + 1}")

    def norm(o):
        if isinstance(o, dict):
            out = {}
            for k, v in o.items():
                if k == "metadataHash":
                    continue
                if k == "groupId":
                    v = "g"
                elif k in ("memberId",) and isinstance(v, str):
                    v = label(v, "m")
                elif k == "topicId" and isinstance(v, str):
                    v = label(v, "t")
                else:
                    v = norm(v)
                out[k] = v
            return out
        if isinstance(o, list):
            return [norm(x) for x in o]
        return o
    out = []
    for t, k, v in recs:
        if 3 <= t <= 8:
            out.append((t, json.dumps(norm(k), sort_keys=True), None if v is None else json.dumps(norm(v), sort_keys=True)))
    # Kafka writes one record per member in its members map's order (a hash map keyed by
    # random member ids): within a run of same-type records the order of different members
    # carries no meaning, so each such run is compared sorted by key (a stable sort keeps
    # one member's records in their order).
    runs, i = [], 0
    while i < len(out):
        j = i
        while j + 1 < len(out) and out[j + 1][0] == out[i][0] and out[i][0] in (5, 7, 8):
            j += 1
        runs.extend(sorted(out[i:j + 1], key=lambda r: r[1]))  # stable: one member keeps its order
        i = j + 1
    return runs


def test_records_match_kafka(pair, kafka_ref, request):
    """The heartbeat sequence of test_heartbeat_sequence_matches_kafka writes the same KIP-848
    records to __consumer_offsets on Apache Kafka 4.1.1 and on Gregor (keys, value versions and
    fields, tombstones, order), as kafka-dump-log --offsets-decoder reads them."""
    topic = unique_name("k848w")
    dirs = {"kafka": kafka_ref.data_dir, "gregor": request.node._gregor_brokers[-1].data_dir}
    runs = {}
    for side in (pair.kafka, pair.gregor):
        group = group_name("k848w")
        s = Side(side.host, side.port)
        try:
            scenario(s, topic, group)
        finally:
            s.close()
        runs[side.name] = normalized_records(dump_group_records(dirs[side.name], group))
    k, g = runs["kafka"], runs["gregor"]
    assert k, "no KIP-848 records found in Kafka's log"
    import difflib
    assert k == g, "\n".join(difflib.unified_diff([repr(x) for x in k], [repr(x) for x in g], "kafka", "gregor",
                                                  lineterm=""))


# --------------------------------------------------------------------------- v1: regular expressions


def tp_names(side: Side, resp_assignment: dict | None, names: dict) -> set[tuple[str, int]]:
    return {(names[t["TopicId"]], p) for t in (resp_assignment or {"TopicPartitions": []})["TopicPartitions"]
            for p in t["Partitions"]}


def topic_ids(side: Side, topics: list[str]) -> dict:
    r = side.send("Metadata", 12, {"Topics": [{"TopicId": uuid.UUID(int=0), "Name": t} for t in topics],
                                   "AllowAutoTopicCreation": False, "IncludeTopicAuthorizedOperations": False})
    return {t["TopicId"]: t["Name"] for t in r["Topics"]}


def test_regex_subscription(broker_factory):
    """ConsumerGroupHeartbeat v1: a member subscribed with SubscribedTopicRegex gets the partitions
    of every matching topic (whole-name match, internal topics never), a topic created later that
    matches is added (group epoch bump), a bad expression is INVALID_REGULAR_EXPRESSION, v1 needs a
    client-made member id; the expression and its resolution survive a restart
    (ConsumerGroupRegularExpression record)."""
    kbroker = broker_factory(config=KIP848_CONFIG)
    pre = unique_name("rx")
    group = group_name("k848rx")
    s = Side(kbroker.host, kbroker.port)
    try:
        s.create_topic(pre + "-a", 2)
        s.create_topic(pre + "-b", 1)
        s.create_topic("x" + pre + "-c", 1)  # no whole-name match
        s.wait_coordinator(group)
        r = s.hb(group, version=1, MemberEpoch=0, RebalanceTimeoutMs=30000, SubscribedTopicRegex=pre + "-.*",
                 TopicPartitions=[])
        assert (r["ErrorCode"], r["ErrorMessage"]) == (INVALID_REQUEST, "MemberId can't be empty."), r
        for bad in ("(", "a[", "*x"):
            r = s.hb(group, version=1, MemberId="m-bad", MemberEpoch=0, RebalanceTimeoutMs=30000,
                     SubscribedTopicRegex=bad, TopicPartitions=[])
            assert r["ErrorCode"] == INVALID_REGULAR_EXPRESSION, (bad, r)
        mid = str(uuid.uuid4())
        r = s.hb(group, version=1, MemberId=mid, MemberEpoch=0, RebalanceTimeoutMs=30000,
                 SubscribedTopicRegex=pre + r"-\w+", TopicPartitions=[])
        assert r["ErrorCode"] == NONE and r["MemberId"] == mid, r
        names = topic_ids(s, [pre + "-a", pre + "-b", "x" + pre + "-c"])
        got = tp_names(s, r["Assignment"], names)
        epoch = r["MemberEpoch"]
        assert got == {(pre + "-a", 0), (pre + "-a", 1), (pre + "-b", 0)}, got
        d = s.describe(group, version=1)
        assert d["Members"][0]["SubscribedTopicRegex"] == pre + r"-\w+"
        assert d["Members"][0]["SubscribedTopicNames"] == [] and d["Members"][0]["MemberType"] == 1
        # A topic created later that matches joins the assignment.
        s.create_topic(pre + "-new", 1)
        names = topic_ids(s, [pre + "-a", pre + "-b", pre + "-new"])
        owned_now = [{"TopicId": t, "Partitions": sorted(p for (n, p) in got if n == names[t])}
                     for t in names if any(n == names[t] for n, _ in got)]

        def has_new():
            nonlocal epoch, owned_now
            r = s.hb(group, version=1, MemberId=mid, MemberEpoch=epoch, TopicPartitions=owned_now)
            assert r["ErrorCode"] == NONE, r
            epoch = r["MemberEpoch"]
            if r["Assignment"] is not None:
                owned_now = owned(r["Assignment"])
            return (pre + "-new", 0) in tp_names(s, {"TopicPartitions": owned_now}, names)
        wait_until(has_new, timeout=15, interval=0.2, message="the new matching topic assigned")
        before = s.describe(group)
    finally:
        s.close()
    kbroker.restart()
    s = Side(kbroker.host, kbroker.port)
    try:
        s.wait_coordinator(group)
        r = s.hb(group, version=1, MemberId=mid, MemberEpoch=epoch, TopicPartitions=owned_now)
        assert (r["ErrorCode"], r["MemberEpoch"]) == (NONE, epoch), r
        after = s.describe(group)
        assert after["GroupEpoch"] == before["GroupEpoch"] and member_view(after) == member_view(before)
    finally:
        s.close()
    recs = dump_group_records(kbroker.data_dir, group)
    rx = [v for t, k, v in recs if t == 16]
    assert rx and sorted(rx[-1]["data"]["topics"]) == sorted([pre + "-a", pre + "-b", pre + "-new"]), rx


def regex_scenario(side: Side, pre: str, group: str) -> list[tuple[str, object]]:
    """v1 requests whose answers must match Kafka's: error codes, then the partitions a regular
    expression resolves to (Kafka resolves them in the background, so the test waits)."""
    obs: list[tuple[str, object]] = []
    side.create_topic(pre + "-a", 2)
    side.create_topic("z" + pre, 1)
    side.wait_coordinator(group, [pre + "-a"])

    def code(step, **kw):
        r = side.hb(group, version=1, **kw)
        obs.append((step, r["ErrorCode"]))
        return r
    code("v1 join without member id", MemberEpoch=0, RebalanceTimeoutMs=30000, SubscribedTopicNames=[pre + "-a"],
         TopicPartitions=[])
    code("neither names nor regex", MemberId="m0", MemberEpoch=0, RebalanceTimeoutMs=30000, TopicPartitions=[])
    for bad in ("(", "a[b", "*x", "a)", "x**"):
        code(f"bad regex {bad}", MemberId="m0", MemberEpoch=0, RebalanceTimeoutMs=30000, SubscribedTopicRegex=bad,
             TopicPartitions=[])
    code("bad regex, unknown member", MemberId="nobody", MemberEpoch=3, SubscribedTopicRegex="(")
    code("unknown member, good regex", MemberId="nobody", MemberEpoch=3, SubscribedTopicRegex=".*")
    mid = "m-" + uuid.uuid4().hex
    r = code("regex join", MemberId=mid, MemberEpoch=0, RebalanceTimeoutMs=30000,
             SubscribedTopicRegex=pre + "-.*", TopicPartitions=[])
    state = {"epoch": r["MemberEpoch"], "owned": owned(r["Assignment"])}
    names = topic_ids(side, [pre + "-a", "z" + pre])

    def beat():
        r = side.hb(group, version=1, MemberId=mid, MemberEpoch=state["epoch"], TopicPartitions=state["owned"])
        assert r["ErrorCode"] == NONE, r
        state["epoch"] = r["MemberEpoch"]
        if r["Assignment"] is not None:
            state["owned"] = owned(r["Assignment"])
        return tp_names(side, {"TopicPartitions": state["owned"]}, names)
    want = {(pre + "-a", 0), (pre + "-a", 1)}
    wait_until(lambda: beat() == want, timeout=30, interval=0.5, message="the regex resolved")
    obs.append(("resolved", sorted(beat())))
    d = side.describe(group, version=1)
    m = d["Members"][0]
    obs.append(("describe", (d["GroupState"], m["SubscribedTopicRegex"], m["SubscribedTopicNames"], m["MemberType"])))
    code("change to a bad regex", MemberId=mid, MemberEpoch=state["epoch"], SubscribedTopicRegex="a)")
    code("static leave without instance id", MemberId=mid, MemberEpoch=-2)
    code("leave", MemberId=mid, MemberEpoch=-1)
    return obs


def test_regex_errors_match_kafka(pair):
    """ConsumerGroupHeartbeat v1 and ConsumerGroupDescribe v1 against Apache Kafka 4.1.1: the same
    error codes (INVALID_REQUEST, INVALID_REGULAR_EXPRESSION, UNKNOWN_MEMBER_ID...), the same
    resolution of a regular expression, the same description of the member."""
    pre = unique_name("k848rx")
    runs = {}
    for side in (pair.kafka, pair.gregor):
        s = Side(side.host, side.port)
        try:
            runs[side.name] = regex_scenario(s, pre, group_name("k848rx"))
        finally:
            s.close()
    d = Diffs("ConsumerGroupHeartbeat v1")
    k, g = dict(runs["kafka"]), dict(runs["gregor"])
    assert list(k) == list(g)
    for step in k:
        d.eq(step, k[step], g[step])
    d.check()


@pytest.mark.parametrize("how", ["subscription-pattern", "pattern"])
def test_java_consumer_regex_subscription(broker_factory, java_client, how):
    """The Java consumer (group.protocol=consumer) subscribed with a pattern: SubscriptionPattern
    (an RE2/J expression the broker resolves, SubscribedTopicRegex) or java.util.regex.Pattern (the
    client resolves it and sends topic names). Two members split the matching topics; a matching
    topic created later is picked up and its records read once; a topic that does not match is
    never assigned."""
    from kafka_ref import java_bin
    kbroker = broker_factory(config=KIP848_CONFIG)
    b = kbroker.bootstrap
    pre = unique_name("jrx")
    for t, n in ((pre + "-a", 2), (pre + "-b", 2), ("other-" + pre, 1)):
        create_topic(b, t, partitions=n)
    group = group_name("jrx")
    extra = (f"--{how}", pre + "-.*", "--config", "metadata.max.age.ms=1000")
    ms = [JavaConsumer848(b, None, group, java_client.jar, java_bin(), extra) for _ in range(2)]
    try:
        want = {f"{pre}-{t}:{p}" for t in "ab" for p in range(2)}
        wait_until(lambda: [len(m.tps()) for m in ms] == [2, 2] and ms[0].tps() | ms[1].tps() == want,
                   timeout=60, message="two members with 2 of the 4 matching partitions each")
        create_topic(b, pre + "-c", partitions=2)
        want |= {f"{pre}-c:0", f"{pre}-c:1"}
        wait_until(lambda: ms[0].tps() | ms[1].tps() == want and not ms[0].tps() & ms[1].tps(), timeout=60,
                   message="the topic created later assigned")
        n = produce_spread(b, pre + "-c", 2, 10)
        produce_spread(b, "other-" + pre, 1, 5)
        wait_until(lambda: len([r for m in ms for r in m.topic_records() if r[0] == pre + "-c"]) >= n, timeout=30,
                   message="the new topic's records")
        recs = [r for m in ms for r in m.topic_records()]
        assert len(recs) == len(set(recs)) == n and all(r[0] == pre + "-c" for r in recs)
    finally:
        for m in ms:
            m.kill()


# --------------------------------------------------------------------------- online migration, real clients
#
# Kafka 4's group.consumer.migration.policy=bidirectional (the default): classic members and
# consumer-protocol members in one group. Members commit automatically (on every revocation
# too), so a partition that moves is read on from where its last owner stopped: every record is
# read exactly once. Each step produces a batch and waits until it is read, so consumption goes on
# throughout.

MIGRATION_CONFIG = dict(KIP848_CONFIG, **{"group.min.session.timeout.ms": 3000})
AUTO_COMMIT = ("--config", "enable.auto.commit=true", "--config", "auto.commit.interval.ms=500")
CLASSIC = AUTO_COMMIT + ("--config", "heartbeat.interval.ms=500", "--config", "session.timeout.ms=6000")


class Fleet:
    """The Java members of one group over time; every record any of them read."""

    def __init__(self, bootstrap: str, topic: str, group: str, jar, java: str):
        self.b, self.topic, self.group, self.jar, self.java = bootstrap, topic, group, jar, java
        self.members: list[JavaConsumer848] = []
        self.produced = 0
        self.batch = 0

    def start(self, protocol: str) -> JavaConsumer848:
        m = JavaConsumer848(self.b, self.topic, self.group, self.jar, self.java,
                            CLASSIC if protocol == "classic" else AUTO_COMMIT, protocol=protocol, timeout_ms=240000)
        self.members.append(m)
        return m

    def live(self) -> list[JavaConsumer848]:
        return [m for m in self.members if m.proc.poll() is None]

    def records(self) -> list[tuple[int, int]]:
        return [r for m in self.members for r in m.records()]

    def covered(self, n: int) -> bool:
        """n live members whose assignments split all 6 partitions."""
        a = [m.assignment() for m in self.live()]
        return len(a) == n and all(a) and sum(len(x) for x in a) == 6 and set().union(*a) == set(range(6))

    def produce_and_read(self, what: str) -> None:
        """A batch of records (some in every partition) that the live members read, none twice."""
        self.batch += 1
        self.produced += produce_spread(self.b, self.topic, 6, 5, tag=f"b{self.batch}")
        wait_until(lambda: len(set(self.records())) >= self.produced, timeout=60,
                   message=f"{self.produced} records read ({what})")
        got = self.records()
        assert len(set(got)) == self.produced, (what, len(set(got)), self.produced)
        assert len(got) == len(set(got)), f"records read twice ({what}): {len(got) - len(set(got))}"

    def kill(self) -> None:
        for m in self.members:
            m.kill()


def member_types(side: Side, group: str) -> list[int] | None:
    d = side.describe(group, version=1)
    return None if d["ErrorCode"] else sorted(m["MemberType"] for m in d["Members"])


def test_java_classic_and_consumer_members_share(broker_factory, topic_name, java_client):
    """A classic Java member (group.protocol=classic) alone in a group on a 6-partition topic; a
    consumer-protocol member joins: the group becomes a consumer group with both, they split the
    partitions, and every record is read once."""
    from kafka_ref import java_bin
    kbroker = broker_factory(config=MIGRATION_CONFIG)
    b = kbroker.bootstrap
    create_topic(b, topic_name, partitions=6)
    f = Fleet(b, topic_name, group_name("mix"), java_client.jar, java_bin())
    side = Side(kbroker.host, kbroker.port)
    try:
        a = f.start("classic")
        wait_until(lambda: f.covered(1), timeout=60, message="the classic member with all 6 partitions")
        f.produce_and_read("classic alone")
        c = f.start("consumer")
        wait_until(lambda: f.covered(2) and len(a.assignment()) == 3, timeout=60,
                   message="the classic and the consumer-protocol member with 3 partitions each")
        assert member_types(side, f.group) == [0, 1]  # one classic, one consumer-protocol member
        assert not a.assignment() & c.assignment()
        f.produce_and_read("classic and consumer members")
        d = side.describe(f.group, version=1)
        assert d["GroupState"] == "Stable" and len({m["MemberEpoch"] for m in d["Members"]}) == 1, d
    finally:
        f.kill()
        side.close()


def test_java_rolling_upgrade_and_downgrade(broker_factory, topic_name, java_client):
    """Two classic Java members; each in turn is stopped and replaced by a consumer-protocol
    member (rolling upgrade: the group becomes a consumer group when the first one joins), then
    back (rolling downgrade: the group becomes classic when the last consumer-protocol member
    leaves). Records produced at every step are read, none twice."""
    from kafka_ref import java_bin
    kbroker = broker_factory(config=MIGRATION_CONFIG)
    b = kbroker.bootstrap
    create_topic(b, topic_name, partitions=6)
    f = Fleet(b, topic_name, group_name("roll"), java_client.jar, java_bin())
    side = Side(kbroker.host, kbroker.port)
    admin = KafkaClient(kbroker.host, kbroker.port, timeout=30)
    try:
        a1, a2 = f.start("classic"), f.start("classic")
        wait_until(lambda: f.covered(2), timeout=60, message="two classic members")
        assert member_types(side, f.group) is None  # a classic group
        f.produce_and_read("two classic members")
        # Rolling upgrade.
        a1.stop()
        c1 = f.start("consumer")
        wait_until(lambda: f.covered(2) and c1.assignment(), timeout=60, message="a2 and the first consumer member")
        assert member_types(side, f.group) == [0, 1]
        f.produce_and_read("upgrade half way")
        a2.stop()
        c2 = f.start("consumer")
        wait_until(lambda: f.covered(2) and c2.assignment(), timeout=60, message="two consumer-protocol members")
        assert member_types(side, f.group) == [1, 1]
        f.produce_and_read("upgraded")
        # Rolling downgrade.
        c1.stop()
        a3 = f.start("classic")
        wait_until(lambda: f.covered(2) and a3.assignment(), timeout=60, message="c2 and a classic member")
        assert member_types(side, f.group) == [0, 1]
        f.produce_and_read("downgrade half way")
        c2.stop()
        wait_until(lambda: member_types(side, f.group) is None, timeout=30, message="the group classic again")
        a4 = f.start("classic")
        wait_until(lambda: f.covered(2) and a4.assignment(), timeout=60, message="two classic members again")
        g = admin.send("DescribeGroups", 5, {"Groups": [f.group], "IncludeAuthorizedOperations": False})["Groups"][0]
        assert (g["GroupState"], g["ProtocolType"], len(g["Members"])) == ("Stable", "consumer", 2), g
        f.produce_and_read("downgraded")
    finally:
        f.kill()
        side.close()
        admin.close()


def test_confluent_classic_members_and_java_consumer_member(broker_factory, topic_name, java_client):
    """Two confluent-kafka (librdkafka) members, classic protocol only, in a group; a Java
    consumer-protocol member joins: the group is upgraded, the librdkafka members keep speaking
    JoinGroup / SyncGroup / Heartbeat and get their partitions from the broker's assignor, the
    three split the topic, every record is read once. When the Java member leaves, the group is
    classic again and the librdkafka members share the topic between them."""
    from kafka_ref import java_bin

    from group_helpers import Members, rk_consumer
    kbroker = broker_factory(config=MIGRATION_CONFIG)
    b = kbroker.bootstrap
    create_topic(b, topic_name, partitions=6)
    group = group_name("rkmix")
    auto = {"enable.auto.commit": True, "auto.commit.interval.ms": 500}
    rk = Members(rk_consumer(b, group, **auto), rk_consumer(b, group, **auto))
    for c in rk.consumers:
        c.subscribe([topic_name])
    side = Side(kbroker.host, kbroker.port)
    admin = KafkaClient(kbroker.host, kbroker.port, timeout=30)
    java = None
    produced = 0

    def read_all(what, extra=()):
        def done():
            got = [k for i in range(len(rk.consumers)) for k in rk.keys(i)] + [r for j in extra for r in j.records()]
            return len(set(got)) >= produced and got
        got = rk.poll_until(done, timeout=60, message=f"{produced} records ({what})")
        assert len(got) == len(set(got)) == produced, (what, len(got), len(set(got)), produced)
    try:
        rk.wait_assignment([3, 3], timeout=60)
        produced += produce_spread(b, topic_name, 6, 5, tag="a")
        read_all("two librdkafka members")
        java = JavaConsumer848(b, topic_name, group, java_client.jar, java_bin(), AUTO_COMMIT, timeout_ms=180000)

        def three():
            a = rk.assignments() + [java.assignment()]
            flat = [p for s in a for p in s]
            return sorted(len(s) for s in a) == [2, 2, 2] and sorted(flat) == list(range(6))
        rk.poll_until(three, timeout=60, message="two librdkafka members and the Java member, 2 partitions each")
        assert member_types(side, group) == [0, 0, 1]
        produced += produce_spread(b, topic_name, 6, 5, tag="b")
        read_all("librdkafka and Java members", [java])
        java.stop()
        rk.poll_until(lambda: member_types(side, group) is None and sorted(len(s) for s in rk.assignments()) == [3, 3]
                      and set().union(*rk.assignments()) == set(range(6)), timeout=60,
                      message="the group classic again, the librdkafka members with 3 partitions each")
        g = admin.send("DescribeGroups", 5, {"Groups": [group], "IncludeAuthorizedOperations": False})["Groups"][0]
        assert (g["GroupState"], g["ProtocolType"], len(g["Members"])) == ("Stable", "consumer", 2), g
        produced += produce_spread(b, topic_name, 6, 5, tag="c")
        read_all("classic again", [java])
    finally:
        if java is not None:
            java.kill()
        rk.close_all()
        side.close()
        admin.close()


@pytest.mark.parametrize("how", ["sigterm", "kill9"])
def test_mixed_group_survives_restart(broker_factory, how):
    """A consumer group with a classic member (upgraded from a classic group) and a
    consumer-protocol member comes back after a restart as it was: the classic member keeps its
    member epoch (its generation), its SyncGroup assignment and its classic session (from its
    ClassicMemberMetadata record); ConsumerGroupDescribe shows both members with their types."""
    from concurrent.futures import ThreadPoolExecutor

    from test_groups_differential import classic_pair, parse_assignment
    kbroker = broker_factory(config=MIGRATION_CONFIG)
    topic, group = unique_name("mixr"), group_name("mixr")
    s = Side(kbroker.host, kbroker.port)
    admin = KafkaClient(kbroker.host, kbroker.port, timeout=30)
    pool = ThreadPoolExecutor(4)
    try:
        s.create_topic(topic, 6)
        s.wait_coordinator(group, [topic])
        import types
        gside = types.SimpleNamespace(name="gregor", host=kbroker.host, port=kbroker.port)
        m1, m2 = classic_pair(gside, group, topic, pool, admin, [0, 1, 2], [3, 4, 5])
        m2.leave()
        assert m1.join()["ErrorCode"] == NONE
        r = m1.sync({m1.member_id: b""})
        assert r["ErrorCode"] == NONE, r
        c = s.join(group, [topic])
        assert c["ErrorCode"] == NONE, c
        assert m1.join()["ErrorCode"] == NONE  # told to rejoin the consumer group
        r = m1.sync()
        assert r["ErrorCode"] == NONE and m1.generation == c["MemberEpoch"], (r, m1.generation, c)
        mine = parse_assignment(r["Assignment"])[1][topic]
        assert len(mine) == 3
        before = s.describe(group, version=1)
        assert sorted(m["MemberType"] for m in before["Members"]) == [0, 1]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        s.close()
        admin.close()
    if how == "kill9":
        kbroker.kill9()
        kbroker.start()
    else:
        kbroker.restart()
    s = Side(kbroker.host, kbroker.port)
    m1.conn.close()
    m1.conn = KafkaClient(kbroker.host, kbroker.port, timeout=30, client_id=m1.client_id)
    try:
        after = s.describe(group, version=1)
        assert after["GroupEpoch"] == before["GroupEpoch"] and member_view(after) == member_view(before), \
            (before, after)
        assert sorted((m["MemberType"], m["ClientId"]) for m in after["Members"]) == [(0, "cid-m1"), (1, "kip848")]
        assert m1.heartbeat() == NONE
        r = m1.sync()
        assert r["ErrorCode"] == NONE and parse_assignment(r["Assignment"])[1][topic] == mine, r
        # The consumer-protocol member leaves: the group becomes classic, m1 rejoins it.
        assert s.hb(group, MemberEpoch=-1, MemberId=c["MemberId"])["ErrorCode"] == NONE
        g = m1.conn.send("DescribeGroups", 5, {"Groups": [group], "IncludeAuthorizedOperations": False})["Groups"][0]
        assert (g["GroupState"], [x["MemberId"] for x in g["Members"]]) == ("PreparingRebalance", [m1.member_id]), g
        r = m1.join()
        assert r["ErrorCode"] == NONE and r["Leader"] == m1.member_id, r
    finally:
        s.close()
        m1.close()
