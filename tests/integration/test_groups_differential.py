"""Differential tests of the group APIs: the same raw FindCoordinator / JoinGroup / SyncGroup /
Heartbeat / LeaveGroup / OffsetCommit / OffsetFetch / ListGroups / DescribeGroups / DeleteGroups /
OffsetDelete sequences against the reference Apache Kafka 4.1.1 and against Gregor (`pair` from
test_differential.py: both brokers with group.initial.rebalance.delay.ms=0), comparing error
codes, generations, leaders, group states and what members get back.

Each scenario runs once per broker and records observations as (step, value) pairs; member ids
are random, so they are recorded as the labels of the members they belong to ("m1", "m2").
A JoinGroup that the coordinator parks is sent from its own connection on a thread."""

from __future__ import annotations

import struct
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers import unique_name, wait_until
from kafka_proto import KafkaClient
from test_differential import Diffs, pair  # noqa: F401 - the pair fixture

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
OFFSET_METADATA_TOO_LARGE = 12
COORDINATOR_NOT_AVAILABLE = 15
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
INVALID_GROUP_ID = 24
UNKNOWN_MEMBER_ID = 25
INVALID_SESSION_TIMEOUT = 26
REBALANCE_IN_PROGRESS = 27
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69
MEMBER_ID_REQUIRED = 79
FENCED_INSTANCE_ID = 82
GROUP_SUBSCRIBED_TO_TOPIC = 86


def subscription(topics: list[str]) -> bytes:
    """ConsumerProtocolSubscription v0: topics, null user data."""
    b = struct.pack(">hi", 0, len(topics))
    for t in topics:
        b += struct.pack(">h", len(t)) + t.encode()
    return b + struct.pack(">i", -1)


def assignment(topic: str, parts: list[int]) -> bytes:
    """ConsumerProtocolAssignment v0."""
    b = struct.pack(">hi", 0, 1) + struct.pack(">h", len(topic)) + topic.encode()
    b += struct.pack(">i", len(parts)) + b"".join(struct.pack(">i", p) for p in parts)
    return b + struct.pack(">i", -1)


class Member:
    """One group member with its own connection (parked requests block only their socket)."""

    def __init__(self, side, group: str, label: str, topics: list[str], *, instance: str | None = None,
                 ptype: str = "consumer", protocols: tuple[str, ...] = ("range",), session: int = 10000):
        self.side, self.group, self.label = side, group, label
        self.client_id = f"cid-{label}"
        self.conn = KafkaClient(side.host, side.port, timeout=30, client_id=self.client_id)
        self.instance, self.ptype, self.protocols, self.session = instance, ptype, protocols, session
        self.meta = subscription(topics)
        self.member_id = ""
        self.generation = -1

    def join(self, version: int = 5) -> dict:
        body = {"GroupId": self.group, "SessionTimeoutMs": self.session, "RebalanceTimeoutMs": 10000,
                "MemberId": self.member_id, "GroupInstanceId": self.instance, "ProtocolType": self.ptype,
                "Protocols": [{"Name": p, "Metadata": self.meta} for p in self.protocols]}
        r = self.conn.send("JoinGroup", version, body)
        if r["ErrorCode"] in (NONE, MEMBER_ID_REQUIRED):
            self.member_id = r["MemberId"]
        if r["ErrorCode"] == NONE:
            self.generation = r["GenerationId"]
        return r

    def sync(self, assignments: dict | None = None, *, generation: int | None = None, version: int = 5,
             protocol: str | None = "range") -> dict:
        body = {"GroupId": self.group, "GenerationId": self.generation if generation is None else generation,
                "MemberId": self.member_id, "GroupInstanceId": self.instance, "ProtocolType": self.ptype,
                "ProtocolName": protocol,
                "Assignments": [{"MemberId": m, "Assignment": a} for m, a in (assignments or {}).items()]}
        return self.conn.send("SyncGroup", version, body)

    def heartbeat(self, generation: int | None = None, member_id: str | None = None, version: int = 4) -> int:
        return self.conn.send("Heartbeat", version, {
            "GroupId": self.group, "GenerationId": self.generation if generation is None else generation,
            "MemberId": self.member_id if member_id is None else member_id,
            "GroupInstanceId": self.instance})["ErrorCode"]

    def leave(self, version: int = 4) -> dict:
        return self.conn.send("LeaveGroup", version, {"GroupId": self.group, "MemberId": self.member_id,
                                                      "Members": [{"MemberId": self.member_id,
                                                                   "GroupInstanceId": self.instance}]})

    def close(self):
        self.conn.close()


class Obs:
    """Observations of one broker, with member ids replaced by member labels."""

    def __init__(self, members: list[Member] | None = None):
        self.items: list[tuple[str, object]] = []
        self.members = members or []

    def ids(self, value):
        for m in self.members:
            if m.member_id and value == m.member_id:
                return m.label
        return value

    def add(self, step: str, value) -> None:
        if isinstance(value, str):
            value = self.ids(value)
        self.items.append((step, value))


def compare(name: str, k: Obs, g: Obs) -> None:
    d = Diffs(name)
    kd, gd = dict(k.items), dict(g.items)
    if [s for s, _ in k.items] != [s for s, _ in g.items]:
        d.add(f"steps differ: kafka={[s for s, _ in k.items]} gregor={[s for s, _ in g.items]}")
    for step in kd:
        if step in gd:
            d.eq(step, kd[step], gd[step])
    d.check()


def describe(side_conn, group: str, version: int = 5) -> dict:
    return side_conn.send("DescribeGroups", version, {"Groups": [group], "IncludeAuthorizedOperations": False})[
        "Groups"][0]


def find_coordinator(side, group: str) -> dict:
    with KafkaClient(side.host, side.port) as c:
        def ready():
            r = c.send("FindCoordinator", 3, {"Key": group, "KeyType": 0})
            return r if r["ErrorCode"] == NONE else None
        # Kafka answers COORDINATOR_NOT_AVAILABLE while it creates __consumer_offsets, then
        # NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS until the group's partition is loaded
        found = wait_until(ready, timeout=60, message=f"{side.name}: a coordinator for {group}")
        wait_until(lambda: describe(c, group)["ErrorCode"] == NONE, timeout=60,
                   message=f"{side.name}: the coordinator of {group} loaded")
        return found


# --------------------------------------------------------------------------- FindCoordinator


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4, 5, 6])
def test_find_coordinator(pair, version):
    group = unique_name("fc")
    d = Diffs(f"FindCoordinator v{version}")
    out = {}
    for s in pair.sides:
        find_coordinator(s, group)
        body = ({"Key": group, "KeyType": 0} if version < 4
                else {"KeyType": 0, "CoordinatorKeys": [group, group + "-2", ""]})
        r = s.send("FindCoordinator", version, body)
        entries = [r] if version < 4 else r["Coordinators"]
        for e in entries:
            assert e["NodeId"] == s.node_id and e["Host"] == s.host and e["Port"] == s.port, (s.name, e)
        out[s.name] = [{k: v for k, v in e.items() if k not in ("NodeId", "Host", "Port", "ThrottleTimeMs")}
                       for e in entries]
    d.eq("coordinators", out["kafka"], out["gregor"])
    # transactional ids and unknown key types
    for s in pair.sides:
        if version < 4:
            r = s.send("FindCoordinator", version, {"Key": "txn-" + group, "KeyType": 1})
            out[s.name] = None  # the transaction coordinator is not compared before v4
        else:
            r = s.send("FindCoordinator", version, {"KeyType": 9, "CoordinatorKeys": ["x"]})
            out[s.name] = (r["Coordinators"][0]["ErrorCode"], r["Coordinators"][0]["NodeId"])
    d.eq("key type 9", out["kafka"], out["gregor"])
    d.check()


# --------------------------------------------------------------------------- the classic protocol


def lifecycle(side, topic: str, group: str) -> Obs:
    """Two-step join, sync, heartbeats, commits and fetches, a second member, leaves, delete."""
    find_coordinator(side, group)
    pool = ThreadPoolExecutor(4)
    m1 = Member(side, group, "m1", [topic])
    m2 = Member(side, group, "m2", [topic])
    o = Obs([m1, m2])
    admin = KafkaClient(side.host, side.port, timeout=30)
    try:
        r = m1.join()
        o.add("join1 first error", r["ErrorCode"])
        o.add("join1 member id prefix", r["MemberId"].startswith("cid-m1-"))
        o.add("join1 generation", r["GenerationId"])
        r = m1.join()
        o.add("join1 error", r["ErrorCode"])
        o.add("join1 generation", r["GenerationId"])
        o.add("join1 leader", r["Leader"])
        o.add("join1 protocol", r["ProtocolName"])
        o.add("join1 members", [o.ids(x["MemberId"]) for x in r["Members"]])
        o.add("join1 metadata", [x["Metadata"] for x in r["Members"]])
        # (DescribeGroups is not compared before the first SyncGroup: Kafka 4.1 shows a new group
        # only once a record of its __consumer_offsets partition is committed after it was made,
        # which depends on other groups' writes; Gregor shows it once the group has a record.)
        o.add("heartbeat while completing", m1.heartbeat())
        o.add("sync wrong generation", m1.sync(generation=7)["ErrorCode"])
        o.add("sync wrong protocol", m1.sync(protocol="roundrobin")["ErrorCode"])
        o.add("sync unknown member", Member(side, group, "x", [topic]).sync(generation=1)["ErrorCode"])
        r = m1.sync({m1.member_id: assignment(topic, [0, 1, 2])})
        o.add("sync", (r["ErrorCode"], r["ProtocolType"], r["ProtocolName"], r["Assignment"]))
        dg = describe(admin, group)
        o.add("describe stable", (dg["ErrorCode"], dg["GroupState"], dg["ProtocolType"], dg["ProtocolData"]))
        o.add("describe members", [(o.ids(x["MemberId"]), x["ClientId"], x["ClientHost"], x["MemberMetadata"],
                                    x["MemberAssignment"]) for x in dg["Members"]])
        o.add("heartbeat", m1.heartbeat())
        o.add("heartbeat wrong generation", m1.heartbeat(generation=9))
        o.add("heartbeat unknown member", m1.heartbeat(member_id="nobody"))

        def commit(version, gen, member, parts, metadata="m"):
            body = {"GroupId": group, "GenerationIdOrMemberEpoch": gen, "MemberId": member,
                    "Topics": [{"Name": topic, "Partitions": [
                        {"PartitionIndex": p, "CommittedOffset": 10 + p, "CommittedLeaderEpoch": -1,
                         "CommittedMetadata": metadata} for p in parts]}]}
            r = admin.send("OffsetCommit", version, body)
            return sorted((p["PartitionIndex"], p["ErrorCode"]) for t in r["Topics"] for p in t["Partitions"])

        o.add("commit", commit(8, m1.generation, m1.member_id, [0, 1]))
        o.add("commit v2", commit(2, m1.generation, m1.member_id, [2]))
        o.add("commit unknown partition", commit(8, m1.generation, m1.member_id, [0, 7]))
        o.add("commit wrong generation v8", commit(8, 5, m1.member_id, [0]))
        o.add("commit wrong generation v9", commit(9, 5, m1.member_id, [0]))
        o.add("commit unknown member", commit(8, m1.generation, "nobody", [0]))
        o.add("commit without member", commit(8, -1, "", [0]))
        o.add("commit metadata too large", commit(8, m1.generation, m1.member_id, [1], "x" * 4097))
        for v in (1, 3, 5, 7):
            r = admin.send("OffsetFetch", v, {"GroupId": group, "Topics": [{"Name": topic,
                                                                          "PartitionIndexes": [0, 1, 2, 5]}]})
            r.pop("ThrottleTimeMs", None)
            o.add(f"fetch v{v}", r)
        r = admin.send("OffsetFetch", 8, {"Groups": [{"GroupId": group, "Topics": None},
                                                     {"GroupId": group + "-none", "Topics": None}],
                                          "RequireStable": True})
        r.pop("ThrottleTimeMs", None)
        for g in r["Groups"]:  # "every offset" comes in no particular order
            for t in g["Topics"]:
                t["Partitions"].sort(key=lambda p: p["PartitionIndex"])
        o.add("fetch v8 all", r)

        # a second member: the group rebalances
        r = m2.join()
        o.add("join2 first error", r["ErrorCode"])
        f2 = pool.submit(m2.join)
        wait_until(lambda: describe(admin, group)["GroupState"] == "PreparingRebalance", timeout=10,
                   message=f"{side.name}: PreparingRebalance")
        dg = describe(admin, group)
        o.add("describe during rebalance", (dg["ProtocolData"], sorted((o.ids(x["MemberId"]), x["MemberMetadata"],
                                                                         x["MemberAssignment"])
                                                                        for x in dg["Members"])))
        o.add("heartbeat during rebalance", m1.heartbeat())
        o.add("sync during rebalance", m1.sync()["ErrorCode"])
        o.add("commit during rebalance", commit(8, m1.generation, m1.member_id, [0]))
        f1 = pool.submit(m1.join)
        r1, r2 = f1.result(timeout=30), f2.result(timeout=30)
        o.add("rejoin", (r1["ErrorCode"], r1["GenerationId"], o.ids(r1["Leader"]), len(r1["Members"])))
        o.add("join2", (r2["ErrorCode"], r2["GenerationId"], o.ids(r2["Leader"]), len(r2["Members"])))
        o.add("commit while completing", commit(8, m1.generation, m1.member_id, [0]))
        dg = describe(admin, group)
        o.add("describe while completing", (dg["GroupState"], dg["ProtocolData"],
                                            sorted((o.ids(x["MemberId"]), x["MemberMetadata"], x["MemberAssignment"])
                                                   for x in dg["Members"])))
        fs = pool.submit(m2.sync)
        r = m1.sync({m1.member_id: assignment(topic, [0, 1]), m2.member_id: assignment(topic, [2])})
        rs = fs.result(timeout=30)
        o.add("sync leader", (r["ErrorCode"], r["Assignment"]))
        o.add("sync follower", (rs["ErrorCode"], rs["Assignment"]))
        o.add("describe two", (describe(admin, group)["GroupState"], len(describe(admin, group)["Members"])))
        r = admin.send("OffsetDelete", 0, {"GroupId": group, "Topics": [{"Name": topic, "Partitions": [
            {"PartitionIndex": 0}]}]})
        o.add("offset delete subscribed", (r["ErrorCode"], [(p["PartitionIndex"], p["ErrorCode"])
                                                            for t in r["Topics"] for p in t["Partitions"]]))
        r = admin.send("DeleteGroups", 2, {"GroupsNames": [group]})
        o.add("delete non-empty", r["Results"][0]["ErrorCode"])

        # leaves
        r = m2.leave()
        o.add("leave m2", (r["ErrorCode"], [(o.ids(x["MemberId"]), x["ErrorCode"]) for x in r["Members"]]))
        o.add("describe after leave", describe(admin, group)["GroupState"])
        o.add("heartbeat after leave", m1.heartbeat())
        r = m1.join()
        o.add("rejoin alone", (r["ErrorCode"], r["GenerationId"], len(r["Members"])))
        o.add("sync alone", m1.sync({m1.member_id: b""})["ErrorCode"])
        r = admin.send("LeaveGroup", 1, {"GroupId": group, "MemberId": "nobody"})
        o.add("leave v1 unknown", r["ErrorCode"])
        r = m1.leave(version=3)
        o.add("leave m1", (r["ErrorCode"], [x["ErrorCode"] for x in r["Members"]]))
        dg = describe(admin, group)
        o.add("describe empty", (dg["GroupState"], dg["ProtocolType"], dg["ProtocolData"], dg["Members"]))
        lg = admin.send("ListGroups", 5, {"StatesFilter": ["empty"], "TypesFilter": ["classic"]})
        o.add("list empty", [(g["ProtocolType"], g["GroupState"], g["GroupType"]) for g in lg["Groups"]
                             if g["GroupId"] == group])
        lg = admin.send("ListGroups", 4, {"StatesFilter": ["Stable"]})
        o.add("list stable", [g for g in lg["Groups"] if g["GroupId"] == group])
        r = admin.send("OffsetDelete", 0, {"GroupId": group, "Topics": [{"Name": topic, "Partitions": [
            {"PartitionIndex": 0}, {"PartitionIndex": 9}]}]})
        o.add("offset delete", (r["ErrorCode"], sorted((p["PartitionIndex"], p["ErrorCode"])
                                                       for t in r["Topics"] for p in t["Partitions"])))
        r = admin.send("OffsetFetch", 7, {"GroupId": group, "Topics": None})
        o.add("fetch after delete", sorted((p["PartitionIndex"], p["CommittedOffset"])
                                           for t in r["Topics"] for p in t["Partitions"]))
        r = admin.send("DeleteGroups", 2, {"GroupsNames": [group, group + "-none"]})
        o.add("delete", sorted((x["GroupId"] == group, x["ErrorCode"]) for x in r["Results"]))
        o.add("describe deleted", describe(admin, group)["GroupState"])
        r = admin.send("OffsetFetch", 7, {"GroupId": group, "Topics": None})
        o.add("fetch deleted", r["Topics"])
        return o
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        for m in (m1, m2):
            m.close()
        admin.close()


def test_group_lifecycle(pair, request):
    topic = unique_name("gd-" + request.node.name[-20:])
    pair.create_topic(topic, 3)
    group = unique_name("gdl")
    obs = {s.name: lifecycle(s, topic, group) for s in pair.sides}
    compare("group lifecycle", obs["kafka"], obs["gregor"])


def join_errors(side, topic: str, group: str) -> Obs:
    find_coordinator(side, group)
    m1 = Member(side, group, "m1", [topic])
    o = Obs([m1])
    others = []
    try:
        for v in (0, 3, 5, 7, 9):
            r = Member(side, "", "e", [topic]).join(version=v)
            o.add(f"empty group id v{v}", (r["ErrorCode"], r.get("ProtocolName"), r["MemberId"]))
            r = Member(side, group + f"-s{v}", "e", [topic], session=10).join(version=v)
            o.add(f"session too short v{v}", (r["ErrorCode"], r["GenerationId"], r.get("ProtocolName")))
            x = Member(side, group + f"-u{v}", "e", [topic])
            x.member_id = "made-up"
            r = x.join(version=v)
            o.add(f"unknown member new group v{v}", (r["ErrorCode"], r["MemberId"]))
            r = Member(side, group + f"-p{v}", "e", [topic], ptype="").join(version=v)
            o.add(f"empty protocol type v{v}", (r["ErrorCode"], r["MemberId"]))
        m1.join()
        r = m1.join(version=5)
        o.add("join", (r["ErrorCode"], r["GenerationId"]))
        m1.sync({m1.member_id: b"x"})
        for ptype, protocols in (("connect", ("range",)), ("consumer", ("roundrobin",))):
            x = Member(side, group, "x", [topic], ptype=ptype, protocols=protocols)
            others.append(x)
            r = x.join(version=3)
            o.add(f"inconsistent {ptype}/{protocols[0]}", (r["ErrorCode"], r["MemberId"]))
        x = Member(side, group, "y", [topic])
        x.member_id = "made-up"
        others.append(x)
        o.add("unknown member existing group", x.join()["ErrorCode"])
        o.add("describe", describe(side.conn, group)["GroupState"])
        return o
    finally:
        for m in [m1] + others:
            m.close()


def test_join_group_errors(pair, request):
    topic = unique_name("ge-" + request.node.name[-20:])
    pair.create_topic(topic, 1)
    group = unique_name("gde")
    obs = {s.name: join_errors(s, topic, group) for s in pair.sides}
    compare("JoinGroup errors", obs["kafka"], obs["gregor"])


def static_members(side, topic: str, group: str) -> Obs:
    find_coordinator(side, group)
    m1 = Member(side, group, "m1", [topic], instance="inst-1")
    o = Obs([m1])
    pool = ThreadPoolExecutor(2)
    try:
        r = m1.join(version=5)
        o.add("static join", (r["ErrorCode"], r["GenerationId"], r["MemberId"].startswith("inst-1-")))
        o.add("sync", m1.sync({m1.member_id: b"a1"})["ErrorCode"])
        old = m1.member_id
        old_m = Member(side, group, "old", [topic], instance="inst-1")
        old_m.member_id = old
        old_m.generation = m1.generation
        o.members.append(old_m)
        # the same instance restarts: unknown member id, same group.instance.id
        m1b = Member(side, group, "m1b", [topic], instance="inst-1")
        o.members.append(m1b)
        r = m1b.join(version=5)
        o.add("static rejoin", (r["ErrorCode"], r["GenerationId"], o.ids(r["Leader"]), len(r["Members"]),
                                r["MemberId"] != old))
        o.add("state after static rejoin", describe(side.conn, group)["GroupState"])
        r = m1b.sync()
        o.add("sync after static rejoin", (r["ErrorCode"], r["Assignment"]))
        o.add("old heartbeat fenced", old_m.heartbeat())
        o.add("old sync fenced", old_m.sync()["ErrorCode"])
        o.add("new heartbeat", m1b.heartbeat())
        r = side.conn.send("OffsetCommit", 8, {"GroupId": group, "GenerationIdOrMemberEpoch": m1b.generation,
                                               "MemberId": old, "GroupInstanceId": "inst-1", "Topics": [
                                                   {"Name": topic, "Partitions": [{"PartitionIndex": 0,
                                                                                   "CommittedOffset": 1}]}]})
        o.add("old commit fenced", r["Topics"][0]["Partitions"][0]["ErrorCode"])
        # v9: the rejoining static leader is told it leads but may skip the assignment
        m1c = Member(side, group, "m1c", [topic], instance="inst-1")
        o.members.append(m1c)
        r = m1c.join(version=9)
        o.add("static rejoin v9", (r["ErrorCode"], o.ids(r["Leader"]), r["SkipAssignment"], len(r["Members"])))
        # an admin removes the static member by instance id
        r = side.conn.send("LeaveGroup", 4, {"GroupId": group, "Members": [
            {"MemberId": "", "GroupInstanceId": "inst-1"}, {"MemberId": "", "GroupInstanceId": "inst-9"}]})
        o.add("remove by instance id", [(x["GroupInstanceId"], x["ErrorCode"]) for x in r["Members"]])
        o.add("state after removal", describe(side.conn, group)["GroupState"])
        return o
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        for m in o.members:
            m.close()


def test_static_membership(pair, request):
    topic = unique_name("gs-" + request.node.name[-20:])
    pair.create_topic(topic, 1)
    group = unique_name("gds")
    obs = {s.name: static_members(s, topic, group) for s in pair.sides}
    compare("static membership", obs["kafka"], obs["gregor"])


def simple_commits(side, topic: str, group: str) -> Obs:
    """Offsets without group management (generation -1), as admin tools and assign() users commit."""
    find_coordinator(side, group)
    o = Obs()
    c = side.conn
    for v in (2, 5, 8, 9):
        r = c.send("OffsetCommit", v, {"GroupId": group, "GenerationIdOrMemberEpoch": -1, "MemberId": "",
                                       "RetentionTimeMs": -1, "Topics": [
                                           {"Name": topic, "Partitions": [
                                               {"PartitionIndex": 0, "CommittedOffset": 100 + v,
                                                "CommittedLeaderEpoch": 3, "CommittedMetadata": f"v{v}"},
                                               {"PartitionIndex": 1, "CommittedOffset": 5,
                                                "CommittedMetadata": None}]},
                                           {"Name": "no-such-topic-" + uuid.uuid4().hex[:6], "Partitions": [
                                               {"PartitionIndex": 0, "CommittedOffset": 1}]}]})
        o.add(f"commit v{v}", sorted((t["Name"] == topic, p["PartitionIndex"], p["ErrorCode"])
                                     for t in r["Topics"] for p in t["Partitions"]))
        r = c.send("OffsetFetch", 6, {"GroupId": group, "Topics": [{"Name": topic, "PartitionIndexes": [0, 1]}]})
        o.add(f"fetch after v{v}", [(p["PartitionIndex"], p["CommittedOffset"], p["CommittedLeaderEpoch"],
                                     p["Metadata"], p["ErrorCode"]) for p in r["Topics"][0]["Partitions"]])
    dg = describe(c, group)
    o.add("describe simple", (dg["GroupState"], dg["ProtocolType"], dg["Members"]))
    lg = c.send("ListGroups", 4, {})
    o.add("listed", [(g["ProtocolType"], g["GroupState"]) for g in lg["Groups"] if g["GroupId"] == group])
    r = c.send("OffsetCommit", 8, {"GroupId": "", "GenerationIdOrMemberEpoch": -1, "MemberId": "", "Topics": [
        {"Name": topic, "Partitions": [{"PartitionIndex": 0, "CommittedOffset": 1}]}]})
    o.add("empty group id", r["Topics"][0]["Partitions"][0]["ErrorCode"])
    r = c.send("DeleteGroups", 1, {"GroupsNames": [group]})
    o.add("delete simple", r["Results"][0]["ErrorCode"])
    return o


def test_simple_group_commits(pair, request):
    topic = unique_name("gc-" + request.node.name[-20:])
    pair.create_topic(topic, 2)
    group = unique_name("gdc")
    obs = {s.name: simple_commits(s, topic, group) for s in pair.sides}
    compare("simple commits", obs["kafka"], obs["gregor"])


def connect_group(side, group: str) -> Obs:
    """Kafka Connect's protocol type: opaque metadata, the assignment stays client-side."""
    find_coordinator(side, group)
    w1 = Member(side, group, "w1", [], ptype="connect", protocols=("sessioned", "compatible", "default"))
    w1.meta = b"worker-config-1"
    o = Obs([w1])
    try:
        w1.join()
        r = w1.join(version=7)
        o.add("join", (r["ErrorCode"], r["ProtocolType"], r["ProtocolName"], [x["Metadata"] for x in r["Members"]]))
        r = w1.sync({w1.member_id: b"connect-assignment"}, protocol="sessioned")
        o.add("sync", (r["ErrorCode"], r["ProtocolType"], r["ProtocolName"], r["Assignment"]))
        dg = describe(side.conn, group)
        o.add("describe", (dg["GroupState"], dg["ProtocolType"], dg["ProtocolData"],
                           [(x["MemberMetadata"], x["MemberAssignment"]) for x in dg["Members"]]))
        # OffsetDelete is refused for a non-consumer group with members
        r = side.conn.send("OffsetDelete", 0, {"GroupId": group, "Topics": []})
        o.add("offset delete", r["ErrorCode"])
        return o
    finally:
        w1.close()


def test_connect_protocol_group(pair):
    group = unique_name("gdk")
    obs = {s.name: connect_group(s, group) for s in pair.sides}
    compare("connect group", obs["kafka"], obs["gregor"])


def empty_group_ids(side, topic: str) -> Obs:
    """"" is a group id for commits, fetches, DescribeGroups and DeleteGroups, INVALID_GROUP_ID
    elsewhere; SyncGroup v5 without protocol type and name is INCONSISTENT_GROUP_PROTOCOL."""
    find_coordinator(side, "")
    o = Obs()
    c = side.conn
    r = c.send("OffsetCommit", 8, {"GroupId": "", "GenerationIdOrMemberEpoch": -1, "MemberId": "", "Topics": [
        {"Name": topic, "Partitions": [{"PartitionIndex": 0, "CommittedOffset": 5}]}]})
    o.add("commit", r["Topics"][0]["Partitions"][0]["ErrorCode"])
    r = c.send("OffsetFetch", 8, {"Groups": [{"GroupId": "", "Topics": [{"Name": topic, "PartitionIndexes": [0]}]}]})
    o.add("fetch", [(p["CommittedOffset"], p["ErrorCode"]) for t in r["Groups"][0]["Topics"] for p in t["Partitions"]])
    o.add("describe", describe(c, "")["GroupState"])
    o.add("heartbeat", c.send("Heartbeat", 4, {"GroupId": "", "GenerationId": 1, "MemberId": "m"})["ErrorCode"])
    o.add("sync v5 without protocol", c.send("SyncGroup", 5, {"GroupId": "", "GenerationId": 1,
                                                              "MemberId": "m"})["ErrorCode"])
    o.add("sync v3", c.send("SyncGroup", 3, {"GroupId": "", "GenerationId": 1, "MemberId": "m"})["ErrorCode"])
    o.add("leave v1", c.send("LeaveGroup", 1, {"GroupId": "", "MemberId": "m"})["ErrorCode"])
    r = c.send("LeaveGroup", 4, {"GroupId": "", "Members": [{"MemberId": "m"}]})
    o.add("leave v4", (r["ErrorCode"], r["Members"]))
    r = c.send("OffsetDelete", 0, {"GroupId": "", "Topics": [{"Name": topic, "Partitions": [{"PartitionIndex": 0}]}]})
    o.add("offset delete", (r["ErrorCode"], r["Topics"]))
    o.add("delete", c.send("DeleteGroups", 2, {"GroupsNames": [""]})["Results"][0]["ErrorCode"])
    o.add("describe after delete", describe(c, "")["GroupState"])
    r = c.send("DescribeGroups", 3, {"Groups": ["no-" + uuid.uuid4().hex], "IncludeAuthorizedOperations": True})
    o.add("authorized operations", r["Groups"][0]["AuthorizedOperations"])
    return o


def test_empty_group_ids(pair, request):
    topic = unique_name("gz-" + request.node.name[-20:])
    pair.create_topic(topic, 1)
    obs = {s.name: empty_group_ids(s, topic) for s in pair.sides}
    compare("empty group ids", obs["kafka"], obs["gregor"])


def old_versions(side, topic: str, group: str) -> Obs:
    """The versions old clients use (kafka-python 2.0, early librdkafka): no two-step join."""
    find_coordinator(side, group)
    m1 = Member(side, group, "m1", [topic])
    o = Obs([m1])
    try:
        r = m1.join(version=0)
        o.add("join v0", (r["ErrorCode"], r["GenerationId"], o.ids(r["Leader"]), o.ids(r["MemberId"]),
                          r["ProtocolName"], len(r["Members"])))
        r = m1.sync({m1.member_id: assignment(topic, [0])}, version=0)
        o.add("sync v0", (r["ErrorCode"], r["Assignment"]))
        o.add("heartbeat v0", m1.heartbeat(version=0))
        c = side.conn
        r = c.send("OffsetCommit", 2, {"GroupId": group, "GenerationIdOrMemberEpoch": m1.generation,
                                       "MemberId": m1.member_id, "RetentionTimeMs": 60000, "Topics": [
                                           {"Name": topic, "Partitions": [{"PartitionIndex": 0, "CommittedOffset": 3,
                                                                           "CommittedMetadata": "old"}]}]})
        o.add("commit v2 with retention", r["Topics"][0]["Partitions"][0]["ErrorCode"])
        r = c.send("OffsetFetch", 1, {"GroupId": group, "Topics": [{"Name": topic, "PartitionIndexes": [0]}]})
        o.add("fetch v1", r["Topics"])
        lg = c.send("ListGroups", 0, {})
        o.add("list v0", [(g["ProtocolType"]) for g in lg["Groups"] if g["GroupId"] == group])
        dg = describe(c, group, version=0)
        o.add("describe v0", (dg["GroupState"], dg["ProtocolType"], dg["ProtocolData"], len(dg["Members"])))
        o.add("leave v0", c.send("LeaveGroup", 0, {"GroupId": group, "MemberId": m1.member_id})["ErrorCode"])
        o.add("describe after leave", describe(c, group, version=0)["GroupState"])
        r = c.send("DeleteGroups", 0, {"GroupsNames": [group]})
        o.add("delete v0", r["Results"][0]["ErrorCode"])
        return o
    finally:
        m1.close()


def test_old_versions(pair, request):
    topic = unique_name("go-" + request.node.name[-20:])
    pair.create_topic(topic, 1)
    group = unique_name("gdo")
    obs = {s.name: old_versions(s, topic, group) for s in pair.sides}
    compare("old versions", obs["kafka"], obs["gregor"])


# --------------------------------------------------------------------------- online migration (KIP-848)
#
# A consumer-protocol member (ConsumerGroupHeartbeat) joining a live classic group turns it into a
# consumer group whose classic members keep speaking JoinGroup / SyncGroup / Heartbeat; when the last
# consumer-protocol member leaves, the group becomes classic again (Kafka 4's default
# group.consumer.migration.policy=bidirectional). The assignors of the two brokers may pick other
# partitions for the same shares, so partition sets are compared by size and disjointness.

GROUP_MAX_SIZE_REACHED = 81


def parse_assignment(b: bytes) -> tuple[int, dict, bytes | None]:
    """ConsumerProtocolAssignment: (version, {topic: partitions}, user data)."""
    version, n = struct.unpack_from(">hi", b, 0)
    off, out = 6, {}
    for _ in range(n):
        (tl,) = struct.unpack_from(">h", b, off)
        t = b[off + 2:off + 2 + tl].decode()
        off += 2 + tl
        (pn,) = struct.unpack_from(">i", b, off)
        out[t] = sorted(struct.unpack_from(f">{pn}i", b, off + 4))
        off += 4 + 4 * pn
    (ul,) = struct.unpack_from(">i", b, off)
    return version, out, (None if ul < 0 else b[off + 4:off + 4 + ul])


def classic_pair(side, group: str, topic: str, pool, admin, parts1, parts2, assign_user_data: bytes | None = None,
                 **kw) -> tuple[Member, Member]:
    """Two classic members, Stable in generation 2, m1 (the leader) owning parts1, m2 parts2."""
    m1, m2 = Member(side, group, "m1", [topic], **kw), Member(side, group, "m2", [topic], **kw)

    def asg(parts):
        a = assignment(topic, list(parts))
        return a if assign_user_data is None else a[:-4] + struct.pack(">i", len(assign_user_data)) + assign_user_data
    assert m1.join()["ErrorCode"] == MEMBER_ID_REQUIRED
    assert m1.join()["ErrorCode"] == NONE
    assert m1.sync({m1.member_id: asg(list(parts1) + list(parts2))}, protocol=m1.protocols[0])["ErrorCode"] == NONE
    assert m2.join()["ErrorCode"] == MEMBER_ID_REQUIRED
    f2 = pool.submit(m2.join)
    wait_until(lambda: describe(admin, group)["GroupState"] == "PreparingRebalance", timeout=10,
               message=f"{side.name}: PreparingRebalance")
    r1, r2 = pool.submit(m1.join).result(timeout=30), f2.result(timeout=30)
    assert (r1["ErrorCode"], r2["ErrorCode"], r1["Leader"]) == (NONE, NONE, m1.member_id), (r1, r2)
    fs = pool.submit(m2.sync, protocol=m2.protocols[0])
    r = m1.sync({m1.member_id: asg(parts1), m2.member_id: asg(parts2)}, protocol=m1.protocols[0])
    assert r["ErrorCode"] == NONE and fs.result(timeout=30)["ErrorCode"] == NONE
    return m1, m2


def migration(side, topic: str, group: str) -> Obs:
    """Upgrade by a consumer-protocol join, classic members rejoining the consumer group, a new
    classic member, commits, then the consumer-protocol member leaving: downgrade and rebalance."""
    from test_groups_kip848 import Side, owned, parts
    cs = Side(side.host, side.port)
    cs.wait_coordinator(group, [topic])
    pool = ThreadPoolExecutor(4)
    admin = KafkaClient(side.host, side.port, timeout=30)
    m1 = m2 = m3 = None
    try:
        m1, m2 = classic_pair(side, group, topic, pool, admin, [0, 1, 2], [3, 4, 5])
        o = Obs([m1, m2])
        r = cs.join(group, [topic])
        c1 = r["MemberId"]
        o.add("upgrade join", (r["ErrorCode"], r["MemberEpoch"], parts(r)))
        c1_state = {"epoch": r["MemberEpoch"], "owned": owned(r["Assignment"])}

        def c1_beat():
            r = cs.hb(group, MemberEpoch=c1_state["epoch"], MemberId=c1, TopicPartitions=c1_state["owned"])
            assert r["ErrorCode"] == NONE, r
            c1_state["epoch"] = r["MemberEpoch"]
            if r["Assignment"] is not None:
                c1_state["owned"] = owned(r["Assignment"])
            return r

        def members(d):
            labels = {m1.member_id: "m1", m2.member_id: "m2", c1: "c1"}
            if m3 is not None:
                labels[m3.member_id] = "m3"
            # Which member an assignor takes a partition from may differ: target sizes are
            # compared as a multiset, current assignments (decided by reconciliation) per member.
            return (sorted((labels.get(m["MemberId"], "?"), m["MemberType"], m["MemberEpoch"], m["ClientId"],
                            m["SubscribedTopicNames"], m["SubscribedTopicRegex"],
                            len([p for t in m["Assignment"]["TopicPartitions"] for p in t["Partitions"]]))
                           for m in d["Members"]),
                    sorted(len([p for t in m["TargetAssignment"]["TopicPartitions"] for p in t["Partitions"]])
                           for m in d["Members"]))
        d = cs.describe(group, version=1)
        o.add("describe upgraded", (d["ErrorCode"], d["GroupState"], d["GroupEpoch"], d["AssignmentEpoch"],
                                    d["AssignorName"], members(d)))
        dg = describe(admin, group)
        o.add("DescribeGroups upgraded", (dg["ErrorCode"], dg["GroupState"]))
        lg = admin.send("ListGroups", 5, {"StatesFilter": [], "TypesFilter": []})
        o.add("ListGroups upgraded", [(g["GroupState"], g["GroupType"], g["ProtocolType"]) for g in lg["Groups"]
                                      if g["GroupId"] == group])
        # The classic members learn of the rebalance through their heartbeats.
        o.add("m1 heartbeat", m1.heartbeat())
        o.add("m1 heartbeat wrong generation", m1.heartbeat(generation=7))
        o.add("m1 heartbeat unknown member", m1.heartbeat(member_id="nobody"))
        o.add("m1 sync before rejoining", m1.sync()["ErrorCode"])
        o.add("c1 as a classic heartbeat", m1.heartbeat(member_id=c1, generation=c1_state["epoch"]))

        def commit(version, gen, member):
            body = {"GroupId": group, "GenerationIdOrMemberEpoch": gen, "MemberId": member,
                    "Topics": [{"Name": topic, "Partitions": [{"PartitionIndex": 0, "CommittedOffset": 5,
                                                                "CommittedLeaderEpoch": -1, "CommittedMetadata": ""}]}]}
            r = admin.send("OffsetCommit", version, body)
            return r["Topics"][0]["Partitions"][0]["ErrorCode"]
        o.add("commit m1 generation v8", commit(8, m1.generation, m1.member_id))
        o.add("commit m1 generation v9", commit(9, m1.generation, m1.member_id))
        o.add("commit m1 wrong generation", commit(8, m1.generation + 1, m1.member_id))
        o.add("commit c1 v8", commit(8, c1_state["epoch"], c1))
        # m1 rejoins the consumer group (eager: it owns nothing now).
        r = m1.join(version=9)
        o.add("m1 rejoins", (r["ErrorCode"], r["GenerationId"], r["ProtocolType"], r["ProtocolName"], r["Leader"],
                             r["Members"], r.get("SkipAssignment")))
        o.add("m1 sync wrong protocol", m1.sync(protocol="roundrobin")["ErrorCode"])
        o.add("m1 sync wrong generation", m1.sync(generation=m1.generation - 1)["ErrorCode"])
        r = m1.sync()
        v, a1, ud = parse_assignment(r["Assignment"])
        o.add("m1 sync", (r["ErrorCode"], r["ProtocolType"], r["ProtocolName"], v, list(a1), len(a1.get(topic, [])),
                          ud))
        o.add("m1 heartbeat after sync", m1.heartbeat())
        o.add("m2 heartbeat", m2.heartbeat())
        r = c1_beat()
        o.add("c1 heartbeat", (r["ErrorCode"], r["MemberEpoch"]))
        r = m2.join()
        o.add("m2 rejoins", (r["ErrorCode"], r["GenerationId"], r["Leader"]))
        r = m2.sync()
        v, a2, ud = parse_assignment(r["Assignment"])
        o.add("m2 sync", (r["ErrorCode"], len(a2.get(topic, []))))
        def c1_has_two():
            c1_beat()
            return len([p for t in c1_state["owned"] for p in t["Partitions"]]) == 2
        wait_until(c1_has_two, timeout=20, interval=0.2, message=f"{side.name}: c1 with its 2 partitions")
        mine = [p for t in c1_state["owned"] for p in t["Partitions"]]
        o.add("partitions shared", sorted(a1[topic] + a2[topic] + mine) == list(range(6)))
        d = cs.describe(group, version=1)
        o.add("describe stable", (d["GroupState"], d["GroupEpoch"], d["AssignmentEpoch"], members(d)))
        # A new classic member joins the consumer group.
        m3 = Member(side, group, "m3", [topic])
        o.members.append(m3)
        r = m3.join()
        o.add("m3 first join", (r["ErrorCode"], len(r["MemberId"])))
        r = m3.join()
        o.add("m3 joins", (r["ErrorCode"], r["GenerationId"], r["Leader"], r["ProtocolName"]))
        r = m3.sync()
        o.add("m3 sync", (r["ErrorCode"], parse_assignment(r["Assignment"])[1]))
        o.add("connect member", Member(side, group, "x", [topic], ptype="connect").join()["ErrorCode"])
        o.add("no common protocol", Member(side, group, "y", [topic], protocols=("roundrobin",)).join()["ErrorCode"])
        r = m3.leave()
        o.add("m3 leaves", (r["ErrorCode"], [(o.ids(x["MemberId"]), x["ErrorCode"]) for x in r["Members"]]))
        r = admin.send("LeaveGroup", 3, {"GroupId": group, "Members": [{"MemberId": "nobody",
                                                                         "GroupInstanceId": None}]})
        o.add("leave unknown", (r["ErrorCode"], [x["ErrorCode"] for x in r["Members"]]))
        d = cs.describe(group, version=1)
        o.add("describe after m3", (d["GroupState"], d["GroupEpoch"], members(d)))
        # The consumer-protocol member leaves: back to a classic group, which rebalances.
        r = cs.hb(group, MemberEpoch=-1, MemberId=c1)
        o.add("c1 leaves", (r["ErrorCode"], r["MemberEpoch"]))
        d = cs.describe(group)
        o.add("ConsumerGroupDescribe downgraded", (d["ErrorCode"], d["ErrorMessage"].replace(group, "G")))
        dg = describe(admin, group)
        o.add("DescribeGroups downgraded", (dg["ErrorCode"], dg["GroupState"], dg["ProtocolType"], dg["ProtocolData"],
                                            sorted((o.ids(x["MemberId"]), x["ClientId"]) for x in dg["Members"])))
        lg = admin.send("ListGroups", 5, {"StatesFilter": [], "TypesFilter": []})
        o.add("ListGroups downgraded", [(g["GroupState"], g["GroupType"]) for g in lg["Groups"]
                                        if g["GroupId"] == group])
        o.add("m1 heartbeat downgraded", m1.heartbeat())
        o.add("m2 heartbeat downgraded", m2.heartbeat())
        f1, f2 = pool.submit(m1.join), pool.submit(m2.join)
        r1, r2 = f1.result(timeout=30), f2.result(timeout=30)
        o.add("classic rejoin", sorted((r["ErrorCode"], r["GenerationId"], r["ProtocolName"], len(r["Members"]))
                                       for r in (r1, r2)))
        leader = m1 if r1["Leader"] == m1.member_id else m2
        other = m2 if leader is m1 else m1
        fs = pool.submit(other.sync)
        r = leader.sync({m1.member_id: assignment(topic, [0, 1, 2]), m2.member_id: assignment(topic, [3, 4, 5])})
        o.add("classic sync", (r["ErrorCode"], fs.result(timeout=30)["ErrorCode"]))
        dg = describe(admin, group)
        o.add("classic again", (dg["GroupState"], dg["ProtocolData"], len(dg["Members"])))
        r = cs.join(group, [topic])
        o.add("upgrade again", (r["ErrorCode"], r["MemberEpoch"]))
        r = cs.hb(group, MemberEpoch=-1, MemberId=r["MemberId"])
        o.add("leave again", r["ErrorCode"])
        return o
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        for m in (m1, m2, m3):
            if m is not None:
                m.close()
        admin.close()
        cs.close()


def test_online_migration(pair, request):
    """The whole upgrade / downgrade sequence against Apache Kafka 4.1.1 and Gregor."""
    topic = unique_name("mig")
    pair.create_topic(topic, 6)
    obs = {s.name: migration(s, topic, unique_name("mig")) for s in pair.sides}
    compare("online migration", obs["kafka"], obs["gregor"])


def upgrade_cases(side, topic: str, prefix: str) -> Obs:
    """Classic groups a consumer-protocol member cannot upgrade (another protocol type, a custom
    assignor's user data) and ones it upgrades while they rebalance."""
    from test_groups_kip848 import Side
    cs = Side(side.host, side.port)
    cs.wait_coordinator(prefix + "-probe", [topic])
    pool = ThreadPoolExecutor(4)
    admin = KafkaClient(side.host, side.port, timeout=30)
    o = Obs()
    members: list[Member] = []

    def join_consumer(group):
        r = cs.join(group, [topic])
        msg = r["ErrorMessage"].replace(group, "G") if r["ErrorMessage"] else r["ErrorMessage"]
        return r["ErrorCode"], msg, r["MemberEpoch"]
    try:
        # (Malformed subscription metadata cannot be compared: Kafka 4.1.1 never completes the
        # JoinGroup of a consumer-type group whose metadata does not parse.)
        for case, kw in (("connect", {"ptype": "connect"}), ("user data", {"assign_user_data": b"sticky"})):
            group = f"{prefix}-{case.replace(' ', '-')}"
            find_coordinator(side, group)
            m1, m2 = classic_pair(side, group, topic, pool, admin, [0, 1, 2], [3, 4, 5], **kw)
            members += [m1, m2]
            o.add(f"{case}: consumer join", join_consumer(group))
            o.add(f"{case}: still classic", (describe(admin, group)["GroupState"], m1.heartbeat()))
        # Upgraded while preparing a rebalance: the parked JoinGroup must rejoin.
        group = prefix + "-preparing"
        find_coordinator(side, group)
        m1, m2 = classic_pair(side, group, topic, pool, admin, [0, 1, 2], [3, 4, 5])
        members += [m1, m2]
        o.members += [m1, m2]
        f1 = pool.submit(m1.join)
        wait_until(lambda: describe(admin, group)["GroupState"] == "PreparingRebalance", timeout=10,
                   message=f"{side.name}: PreparingRebalance")
        o.add("preparing: consumer join", join_consumer(group))
        o.add("preparing: parked join", f1.result(timeout=30)["ErrorCode"])
        d = cs.describe(group)
        o.add("preparing: members", (d["GroupEpoch"], sorted((o.ids(m["MemberId"]) if m["MemberId"] in
                                                               (m1.member_id, m2.member_id) else "c",
                                                               m["MemberEpoch"]) for m in d["Members"])))
        # Upgraded while completing one: the parked SyncGroup must rejoin.
        group = prefix + "-completing"
        find_coordinator(side, group)
        m1, m2 = classic_pair(side, group, topic, pool, admin, [0, 1, 2], [3, 4, 5])
        members += [m1, m2]
        o.members += [m1, m2]
        f1 = pool.submit(m1.join)
        wait_until(lambda: describe(admin, group)["GroupState"] == "PreparingRebalance", timeout=10,
                   message=f"{side.name}: PreparingRebalance")
        r2 = m2.join()
        r1 = f1.result(timeout=30)
        o.add("completing: joins", (r1["ErrorCode"], r2["ErrorCode"], r1["GenerationId"]))
        fs = pool.submit(m2.sync)
        wait_until(lambda: describe(admin, group)["GroupState"] == "CompletingRebalance", timeout=10,
                   message=f"{side.name}: CompletingRebalance")
        o.add("completing: consumer join", join_consumer(group))
        o.add("completing: parked sync", fs.result(timeout=30)["ErrorCode"])
        d = cs.describe(group)
        o.add("completing: members", (d["GroupEpoch"], sorted(m["MemberEpoch"] for m in d["Members"])))
        o.add("completing: m1 heartbeat", m1.heartbeat())
        return o
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        for m in members:
            m.close()
        admin.close()
        cs.close()


def test_upgrade_refusals_and_rebalancing_groups(pair):
    """GROUP_ID_NOT_FOUND with Kafka's messages for a `connect` group and a custom assignor's user
    data; groups in PreparingRebalance / CompletingRebalance are upgraded
    and their parked JoinGroup / SyncGroup answered REBALANCE_IN_PROGRESS."""
    topic = unique_name("migr")
    pair.create_topic(topic, 6)
    prefix = unique_name("migr")
    obs = {s.name: upgrade_cases(s, topic, prefix + s.name[0]) for s in pair.sides}
    compare("upgrade refusals", obs["kafka"], obs["gregor"])


def policy_cases(side, topic: str, prefix: str, policy: str) -> Obs:
    """With group.consumer.max.size=2: a classic group of 3 (too large) and of 2 (full once
    converted); then a group of 1 classic member upgraded (or not) and the consumer-protocol member
    leaving (downgrade or not)."""
    from test_groups_kip848 import Side, parts
    cs = Side(side.host, side.port)
    cs.wait_coordinator(prefix + "-probe", [topic])
    pool = ThreadPoolExecutor(4)
    admin = KafkaClient(side.host, side.port, timeout=30)
    o = Obs()
    members: list[Member] = []

    def join_consumer(group):
        r = cs.join(group, [topic])
        msg = r["ErrorMessage"].replace(group, "G") if r["ErrorMessage"] else r["ErrorMessage"]
        return r, (r["ErrorCode"], msg, r["MemberEpoch"], parts(r))
    try:
        group = prefix + "-three"
        find_coordinator(side, group)
        m1, m2 = classic_pair(side, group, topic, pool, admin, [0, 1], [2, 3])
        m3 = Member(side, group, "m3", [topic])
        members += [m1, m2, m3]
        assert m3.join()["ErrorCode"] == MEMBER_ID_REQUIRED
        f3 = pool.submit(m3.join)
        wait_until(lambda: describe(admin, group)["GroupState"] == "PreparingRebalance", timeout=10,
                   message=f"{side.name}: PreparingRebalance")
        f1, f2 = pool.submit(m1.join), pool.submit(m2.join)
        assert [f.result(timeout=30)["ErrorCode"] for f in (f1, f2, f3)] == [NONE] * 3
        fs = [pool.submit(m.sync) for m in (m2, m3)]
        m1.sync({m1.member_id: assignment(topic, [0, 1]), m2.member_id: assignment(topic, [2, 3]),
                 m3.member_id: assignment(topic, [4, 5])})
        assert [f.result(timeout=30)["ErrorCode"] for f in fs] == [NONE] * 2
        o.add("three classic members", join_consumer(group)[1])
        group = prefix + "-two"
        find_coordinator(side, group)
        m1, m2 = classic_pair(side, group, topic, pool, admin, [0, 1, 2], [3, 4, 5])
        members += [m1, m2]
        o.add("two classic members", join_consumer(group)[1])
        o.add("two: still classic", (describe(admin, group)["GroupState"], m1.heartbeat(), m2.heartbeat()))
        # A classic member may always join a consumer group; whether the group becomes classic
        # when the consumer-protocol member leaves is the policy's.
        group = prefix + "-mixed"
        find_coordinator(side, group)
        r, seen = join_consumer(group)
        o.add("mixed: consumer member", seen)
        c0 = r["MemberId"]
        m0 = Member(side, group, "m0", [topic])
        members.append(m0)
        o.members = [m0]
        r = m0.join()
        o.add("mixed: classic join", (r["ErrorCode"], len(r["MemberId"])))
        r = m0.join()
        o.add("mixed: classic joined", (r["ErrorCode"], r["GenerationId"]))
        r = m0.sync()
        o.add("mixed: classic sync", (r["ErrorCode"], parse_assignment(r["Assignment"])[1]))
        r = cs.hb(group, MemberEpoch=-1, MemberId=c0)
        o.add("mixed: consumer leaves", (r["ErrorCode"], r["MemberEpoch"]))
        d = cs.describe(group, version=1)
        o.add("mixed: consumer group after", (d["ErrorCode"], d["GroupState"], d["GroupEpoch"],
                                              [(o.ids(m["MemberId"]), m["MemberType"]) for m in d["Members"]]))
        dg = describe(admin, group)
        o.add("mixed: classic group after", (dg["ErrorCode"], dg["GroupState"], [o.ids(x["MemberId"])
                                                                                 for x in dg["Members"]]))
        o.add("mixed: heartbeat after", m0.heartbeat())
        group = prefix + "-one"
        find_coordinator(side, group)
        m1 = Member(side, group, "m1", [topic])
        members.append(m1)
        o.members = [m1]
        assert m1.join()["ErrorCode"] == MEMBER_ID_REQUIRED and m1.join()["ErrorCode"] == NONE
        assert m1.sync({m1.member_id: assignment(topic, [0, 1, 2, 3, 4, 5])})["ErrorCode"] == NONE
        r, seen = join_consumer(group)
        o.add("one classic member", seen)
        if r["ErrorCode"] != NONE:
            return o
        c1 = r["MemberId"]
        o.add("one: m1 heartbeat", m1.heartbeat())
        r = m1.join()
        o.add("one: m1 rejoins", (r["ErrorCode"], r["GenerationId"]))
        r = m1.sync()
        o.add("one: m1 sync", (r["ErrorCode"], len(parse_assignment(r["Assignment"])[1].get(topic, []))))
        r = cs.hb(group, MemberEpoch=-1, MemberId=c1)
        o.add("one: consumer leaves", (r["ErrorCode"], r["MemberEpoch"]))
        d = cs.describe(group, version=1)
        o.add("one: consumer group after", (d["ErrorCode"], d["GroupState"], d["GroupEpoch"],
                                            [(o.ids(m["MemberId"]), m["MemberType"], m["MemberEpoch"])
                                             for m in d["Members"]]))
        dg = describe(admin, group)
        o.add("one: classic group after", (dg["ErrorCode"], dg["GroupState"], [o.ids(x["MemberId"])
                                                                               for x in dg["Members"]]))
        o.add("one: m1 heartbeat after", m1.heartbeat())
        return o
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        for m in members:
            m.close()
        admin.close()
        cs.close()


def policy_config(side, version: int = 4) -> tuple:
    """The broker's group.consumer.migration.policy as DescribeConfigs shows it."""
    r = side.send("DescribeConfigs", version, {"Resources": [{"ResourceType": 4, "ResourceName": str(side.node_id),
                                                              "ConfigurationKeys": ["group.consumer.migration.policy"]}],
                                               "IncludeSynonyms": False, "IncludeDocumentation": False})
    c = r["Results"][0]["Configs"][0]
    return c["Value"], c["ReadOnly"], c["ConfigSource"], c["IsSensitive"], c.get("ConfigType")


def test_migration_policy_default(pair):
    """group.consumer.migration.policy: Kafka 4.1's default (bidirectional), read-only, a string."""
    d = Diffs("group.consumer.migration.policy")
    d.expect("DescribeConfigs", ("bidirectional", True, 5, False, 2), policy_config(pair.kafka),
             policy_config(pair.gregor))
    d.check()


@pytest.mark.parametrize("policy", ["Upgrade", "downgrade"])
def test_migration_policy(tmp_path, broker_factory, policy):
    """group.consumer.migration.policy (and group.consumer.max.size=2) on a reference Apache Kafka
    4.1.1 started for it and on Gregor: upgrades refused by the policy or by the size, downgrade
    done or not when the consumer-protocol member leaves."""
    import kafka_ref as kr
    from test_differential import IDENTITY_KEYS, Pair, Side
    if not kr.kafka_available():
        pytest.skip(kr.missing_reason())
    k = kr.KafkaRef(tmp_path / "kafka", overrides={"group.consumer.migration.policy": policy,
                                                    "group.consumer.max.size": 2})
    k.start()
    try:
        gregor = broker_factory(config={key: v for key, v in k.properties().items() if key not in IDENTITY_KEYS})
        p = Pair(Side("kafka", k.host, k.port, k.node_id), Side("gregor", gregor.host, gregor.port, gregor.node_id),
                 {})
        topic = unique_name("migp")
        p.create_topic(topic, 6)
        prefix = unique_name("migp")
        obs = {s.name: policy_cases(s, topic, prefix + s.name[0], policy) for s in p.sides}
        for s in p.sides:
            # Any case is accepted and the value shown as written (a static broker config).
            obs[s.name].add("DescribeConfigs", policy_config(s))
            s.close()
    finally:
        k.stop(check=False)
    compare(f"migration policy {policy}", obs["kafka"], obs["gregor"])


def migration_records(side, topic: str, group: str) -> dict:
    """Upgrade by a consumer-protocol join, then its leave (downgrade); returns the member
    labels by member id, for reading the group's records afterwards."""
    from test_groups_kip848 import Side
    cs = Side(side.host, side.port)
    cs.wait_coordinator(group, [topic])
    pool = ThreadPoolExecutor(4)
    admin = KafkaClient(side.host, side.port, timeout=30)
    try:
        m1, m2 = classic_pair(side, group, topic, pool, admin, [0, 1, 2], [3, 4, 5])
        r = cs.join(group, [topic])
        assert r["ErrorCode"] == NONE, r
        c1 = r["MemberId"]
        assert cs.hb(group, MemberEpoch=-1, MemberId=c1)["ErrorCode"] == NONE
        wait_until(lambda: describe(admin, group)["GroupState"] == "PreparingRebalance", timeout=10,
                   message=f"{side.name}: the downgraded group rebalancing")
        return {m1.member_id: "m1", m2.member_id: "m2", c1: "c1"}
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        admin.close()
        cs.close()


def normalized_migration_records(recs, labels: dict) -> list:
    """The group's records from its upgrade on: member ids as labels, topic ids as t1..., without
    the metadata hash and the state timestamp (each broker's own); runs of records of one type
    sorted (the brokers iterate members in different orders); the leader Kafka elects on a
    downgrade comes from a hash map's order, so it is left out."""
    import json
    topics: dict[str, str] = {}

    def norm(o):
        if isinstance(o, dict):
            out = {}
            for k, v in o.items():
                if k in ("metadataHash", "currentStateTimestamp", "leader"):
                    continue
                if k in ("groupId", "group"):
                    v = "g"
                elif k == "memberId":
                    v = labels.get(v, v)
                elif k == "topicId":
                    v = topics.setdefault(v, f"t{len(topics) + 1}")
                else:
                    v = norm(v)
                out[k] = v
            return out
        if isinstance(o, list):
            items = [norm(x) for x in o]
            if items and all(isinstance(x, dict) and "memberId" in x for x in items):
                items.sort(key=lambda x: x["memberId"])
            return items
        return o
    start = max(i for i, (t, _, v) in enumerate(recs) if t == 2 and v is not None and v["data"]["generation"] == 2)
    out = [(t, json.dumps(norm(k), sort_keys=True), None if v is None else json.dumps(norm(v), sort_keys=True))
           for t, k, v in recs[start + 1:]]
    runs, cur = [], []
    for r in out:
        if cur and cur[-1][0] != r[0]:
            runs.append(sorted(cur, key=repr))
            cur = []
        cur.append(r)
    if cur:
        runs.append(sorted(cur, key=repr))
    return [r for run in runs for r in run]


def test_migration_records_match_kafka(pair, kafka_ref, request):
    """The records an upgrade and a downgrade write to __consumer_offsets on Apache Kafka 4.1.1 and
    on Gregor, as kafka-dump-log --offsets-decoder reads them: the GroupMetadata tombstone and the
    converted members (ClassicMemberMetadata with session timeout and protocols), the joining
    member's records, then the consumer group's tombstones and the classic group's record with the
    members' target assignments."""
    import difflib

    from test_groups_kip848 import dump_group_records
    topic = unique_name("migw")
    pair.create_topic(topic, 6)
    dirs = {"kafka": kafka_ref.data_dir, "gregor": request.node._gregor_brokers[-1].data_dir}
    runs = {}
    for side in pair.sides:
        group = unique_name("migw")
        labels = migration_records(side, topic, group)
        runs[side.name] = normalized_migration_records(dump_group_records(dirs[side.name], group), labels)
    k, g = runs["kafka"], runs["gregor"]
    assert k, "no records found in Kafka's log"
    assert k == g, "\n".join(difflib.unified_diff([repr(x) for x in k], [repr(x) for x in g], "kafka", "gregor",
                                                  lineterm=""))
