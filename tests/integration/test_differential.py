"""Differential tests: the same raw requests to the reference Apache Kafka 4.1.1 (`kafka_ref`,
one per session) and to Gregor (a fresh broker per test, started with the same config
overrides as the reference), comparing the answers a client depends on.

Requests are dicts encoded from Kafka's own JSON schemas (kafka_proto.py). Values that
legitimately differ are never compared: throttle times, cluster ids, topic ids, ports, error
message wording (only whether a message is present), session ids, producer ids.

A failing test lists every difference it found as
    <API> v<version> <what>: <field>: kafka=<value> gregor=<value>
"""

from __future__ import annotations

import time
import uuid

import pytest

from helpers import unique_name, wait_until
from kafka_proto import (ConnectionClosed, KafkaClient, build_message_set_v1, build_record_batch,
                         encode_request, parse_record_batches)

# Error codes (org.apache.kafka.common.protocol.Errors)
NONE = 0
OFFSET_OUT_OF_RANGE = 1
CORRUPT_MESSAGE = 2
UNKNOWN_TOPIC_OR_PARTITION = 3
NOT_LEADER_OR_FOLLOWER = 6
MESSAGE_TOO_LARGE = 10
COORDINATOR_LOAD_IN_PROGRESS = 14
INVALID_TOPIC_EXCEPTION = 17
INVALID_REQUIRED_ACKS = 21
UNSUPPORTED_VERSION = 35
TOPIC_ALREADY_EXISTS = 36
INVALID_PARTITIONS = 37
INVALID_REPLICATION_FACTOR = 38
INVALID_CONFIG = 40
INVALID_REQUEST = 42
FETCH_SESSION_ID_NOT_FOUND = 70
INVALID_FETCH_SESSION_EPOCH = 71
UNKNOWN_LEADER_EPOCH = 75
INVALID_RECORD = 87
UNKNOWN_TOPIC_ID = 100

# DescribeConfigs ConfigSource
DYNAMIC_TOPIC_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG = 1, 3, 4, 5

# Reference-Kafka properties that name this particular process (ports, dirs, roles) rather
# than behaviour; every other key of kafka_ref.properties() is given to Gregor as well, so
# that e.g. group.initial.rebalance.delay.ms=0 is STATIC_BROKER_CONFIG on both sides.
IDENTITY_KEYS = {"process.roles", "node.id", "controller.quorum.voters", "listeners", "advertised.listeners",
                 "inter.broker.listener.name", "controller.listener.names", "listener.security.protocol.map",
                 "log.dirs"}


# --------------------------------------------------------------------------- harness


class Diffs:
    """Collects differences; check() fails with all of them (one line each)."""

    def __init__(self, what: str):
        self.what = what
        self.items: list[str] = []

    def add(self, line: str) -> None:
        self.items.append(f"{self.what}: {line}")

    def eq(self, field: str, kafka, gregor, note: str = "") -> bool:
        if kafka != gregor:
            self.add(f"{field}: kafka={kafka!r} gregor={gregor!r}" + (f"  [{note}]" if note else ""))
            return False
        return True

    def expect(self, field: str, expected, kafka, gregor) -> None:
        """Both must equal `expected` (a differential test should not pass on two equal bugs)."""
        if kafka != expected or gregor != expected:
            self.add(f"{field}: expected {expected!r}, kafka={kafka!r} gregor={gregor!r}")

    def presence(self, field: str, kafka, gregor) -> None:
        """Null vs non-null must agree (wording may differ)."""
        if (kafka is None) != (gregor is None):
            self.add(f"{field} presence: kafka={kafka!r} gregor={gregor!r}")

    def check(self) -> None:
        if self.items:
            pytest.fail(f"{len(self.items)} difference(s) between Apache Kafka and Gregor:\n  "
                        + "\n  ".join(self.items), pytrace=False)


class Side:
    """One broker as seen by the test: a connection plus what we know about the broker."""

    def __init__(self, name: str, host: str, port: int, node_id: int):
        self.name, self.host, self.port, self.node_id = name, host, port, node_id
        self.conn = KafkaClient(host, port)

    def send(self, api, version, body=None, **kw):
        return self.conn.send(api, version, body, **kw)

    def fresh(self) -> KafkaClient:
        return KafkaClient(self.host, self.port)

    def close(self):
        self.conn.close()


class Pair:
    def __init__(self, kafka: Side, gregor: Side, kafka_versions: dict):
        self.kafka, self.gregor = kafka, gregor
        self.kafka_versions = kafka_versions

    @property
    def sides(self):
        return (self.kafka, self.gregor)

    def both(self, api, version, body=None, **kw):
        return self.kafka.send(api, version, body, **kw), self.gregor.send(api, version, body, **kw)

    def require_kafka_serves(self, api_key: int, api_name: str, version: int) -> None:
        lo, hi = self.kafka_versions.get(api_key, (1, 0))
        if not lo <= version <= hi:
            pytest.skip(f"Apache Kafka 4.1.1 does not serve {api_name} v{version} (it serves {lo}-{hi}); "
                        f"nothing to compare against")

    # -- topics
    def create_topic(self, name: str, partitions: int = 1, configs: dict | None = None) -> dict:
        """Creates the topic on both brokers and waits until each reports a leader for every
        partition; returns {side name: topic id}."""
        body = {"Topics": [{"Name": name, "NumPartitions": partitions, "ReplicationFactor": 1,
                            "Configs": [{"Name": k, "Value": str(v)} for k, v in (configs or {}).items()]}],
                "TimeoutMs": 30000}
        for s in self.sides:
            r = s.send("CreateTopics", 7, body)["Topics"][0]
            assert r["ErrorCode"] == NONE, f"{s.name}: CreateTopics {name}: {r}"
        return {s.name: wait_for_leaders(s, name, partitions) for s in self.sides}

    def produce(self, topic: str, records: bytes, partition: int = 0, version: int = 9, acks: int = -1) -> None:
        for s in self.sides:
            # Apache Kafka may name a leader in Metadata a moment before that leader accepts
            # writes (NOT_LEADER_OR_FOLLOWER): retry that, as clients do.
            def attempt():
                p = produce(s, version, topic, partition, records, acks)
                if p["ErrorCode"] == NOT_LEADER_OR_FOLLOWER:
                    return None
                assert p["ErrorCode"] == NONE, f"{s.name}: Produce to {topic}: {p}"
                return p
            wait_until(attempt, timeout=30, message=f"{s.name}: a leader accepting writes to {topic}")


def wait_for_leaders(side: Side, topic: str, partitions: int, timeout: float = 30):
    def ready():
        t = side.send("Metadata", 12, {"Topics": [{"Name": topic}], "AllowAutoTopicCreation": False})["Topics"][0]
        ok = (t["ErrorCode"] == NONE and len(t["Partitions"]) == partitions
              and all(p["ErrorCode"] == NONE and p["LeaderId"] >= 0 for p in t["Partitions"]))
        return t["TopicId"] if ok else None
    return wait_until(ready, timeout=timeout, message=f"{side.name}: leaders for all {partitions} partitions of {topic}")


def produce(side: Side, version: int, topic: str, partition: int, records: bytes, acks: int = -1) -> dict:
    r = side.send("Produce", version, {"TransactionalId": None, "Acks": acks, "TimeoutMs": 10000,
                                       "TopicData": [{"Name": topic, "PartitionData": [
                                           {"Index": partition, "Records": records}]}]})
    return r["Responses"][0]["PartitionResponses"][0]


_kafka_versions_cache: dict | None = None


@pytest.fixture
def pair(kafka_ref, broker_factory):
    global _kafka_versions_cache
    config = {k: v for k, v in kafka_ref.properties().items() if k not in IDENTITY_KEYS}
    gregor = broker_factory(config=config)
    kafka = Side("kafka", kafka_ref.host, kafka_ref.port, kafka_ref.node_id)
    greg = Side("gregor", gregor.host, gregor.port, gregor.node_id)
    if _kafka_versions_cache is None:
        r = kafka.send("ApiVersions", 3, {"ClientSoftwareName": "gregor-diff", "ClientSoftwareVersion": "1"})
        _kafka_versions_cache = {a["ApiKey"]: (a["MinVersion"], a["MaxVersion"]) for a in r["ApiKeys"]}
    p = Pair(kafka, greg, _kafka_versions_cache)
    yield p
    kafka.close()
    greg.close()


def topic_of(request) -> str:
    return unique_name("d-" + request.node.name[-40:])


# --------------------------------------------------------------------------- 1. ApiVersions


@pytest.mark.parametrize("version", [0, 4])
def test_api_versions_ranges_within_kafka(pair, version, record_property):
    body = {"ClientSoftwareName": "gregor-diff", "ClientSoftwareVersion": "1.0"}
    k, g = pair.both("ApiVersions", version, body)
    d = Diffs(f"ApiVersions v{version}")
    d.expect("ErrorCode", NONE, k["ErrorCode"], g["ErrorCode"])
    kv = {a["ApiKey"]: (a["MinVersion"], a["MaxVersion"]) for a in k["ApiKeys"]}
    gv = {a["ApiKey"]: (a["MinVersion"], a["MaxVersion"]) for a in g["ApiKeys"]}
    for key, (glo, ghi) in sorted(gv.items()):
        if key not in kv:
            d.add(f"api {key}: advertised by Gregor ({glo}-{ghi}) but not by Kafka")
            continue
        klo, khi = kv[key]
        if ghi > khi:
            d.add(f"api {key} MaxVersion: kafka={khi} gregor={ghi} (Gregor advertises more than Kafka)")
        # Gregor serves every version Apache Kafka 3.9 accepted (the project's
        # contract), so its minimum may be below 4.x's after KIP-896; it must
        # still be a version the schemas define (>= 0), which the codec checks.
        if glo < 0:
            d.add(f"api {key} MinVersion: gregor={glo} is not a version")
    missing = sorted(set(kv) - set(gv))
    record_property("apis_kafka_has_gregor_lacks", missing)  # information, not a failure
    print(f"APIs Apache Kafka 4.1.1 serves and Gregor does not: {missing}")
    d.check()


def test_api_versions_unsupported_version_answers_v0_body(pair):
    d = Diffs("ApiVersions v99")
    out = {}
    for s in pair.sides:
        with s.fresh() as c:
            # the answer is a v0 body behind a v0 response header
            out[s.name] = c.send("ApiVersions", 99, None, decode_as=0)
    k, g = out["kafka"], out["gregor"]
    d.expect("ErrorCode", UNSUPPORTED_VERSION, k["ErrorCode"], g["ErrorCode"])
    kk = {a["ApiKey"]: (a["MinVersion"], a["MaxVersion"]) for a in k["ApiKeys"]}
    gg = {a["ApiKey"]: (a["MinVersion"], a["MaxVersion"]) for a in g["ApiKeys"]}
    # Kafka lists only ApiVersions' own range here (ApiVersionsRequest.getErrorResponse); a
    # client only looks at that entry to pick its retry version. Extra entries are harmless.
    d.eq("ApiKeys[ApiVersions=18]", kk.get(18), gg.get(18))
    d.check()


@pytest.mark.parametrize("api,version", [("Fetch", 99), ("Metadata", 99), ("Produce", 99)])
def test_unsupported_version_of_other_api_closes_connection(pair, api, version):
    """Kafka closes the connection on a request at a version it does not serve; the client then
    knows to renegotiate. (Kafka 4 also closes it on Fetch 0-3, which it removed; Gregor serves
    them as Kafka 3.9 did: test_fetch_downconvert.py.)"""
    d = Diffs(f"{api} v{version}")
    result = {}
    for s in pair.sides:
        with s.fresh() as c:
            try:
                frame = c.send_payload(encode_request(api, version, None, 1))
                result[s.name] = f"answered ({len(frame)} bytes)"
            except (ConnectionClosed, OSError):
                result[s.name] = "closed"
    d.eq("connection", result["kafka"], result["gregor"])
    d.check()


# --------------------------------------------------------------------------- 2. Metadata


def _md(side, version, names, allow_auto=False):
    body = {"Topics": None if names is None else [{"Name": n} for n in names],
            "AllowAutoTopicCreation": allow_auto}
    return side.send("Metadata", version, body)


@pytest.mark.parametrize("version", [0, 1, 4, 9, 12])
def test_metadata(pair, version, request):
    name = topic_of(request)
    pair.create_topic(name, 3)
    d = Diffs(f"Metadata v{version}")

    # a just-created topic: partition count, leader == broker id, replicas / isr
    k, g = (_md(s, version, [name]) for s in pair.sides)
    for s, r in (("kafka", k), ("gregor", g)):
        node = pair.kafka.node_id if s == "kafka" else pair.gregor.node_id
        if [b["NodeId"] for b in r["Brokers"]] != [node]:
            d.add(f"{s}: Brokers {r['Brokers']} (expected one broker, node {node})")
        if version >= 1 and r["ControllerId"] != node:
            d.add(f"{s}: ControllerId {r['ControllerId']} != broker id {node}")
        if version >= 2 and not r["ClusterId"]:
            d.add(f"{s}: empty ClusterId")
    kt, gt = k["Topics"][0], g["Topics"][0]
    d.expect("topic ErrorCode", NONE, kt["ErrorCode"], gt["ErrorCode"])
    if version >= 1:
        d.eq("IsInternal", kt["IsInternal"], gt["IsInternal"])
    d.eq("partition count", len(kt["Partitions"]), len(gt["Partitions"]))
    kp = {p["PartitionIndex"]: p for p in kt["Partitions"]}
    gp = {p["PartitionIndex"]: p for p in gt["Partitions"]}
    for i in sorted(set(kp) | set(gp)):
        a, b = kp.get(i, {}), gp.get(i, {})
        for f in ("ErrorCode", "LeaderEpoch", "OfflineReplicas"):
            if f in a or f in b:
                d.eq(f"partition {i} {f}", a.get(f), b.get(f))
        d.eq(f"partition {i} LeaderId == broker id", a.get("LeaderId") == pair.kafka.node_id,
             b.get("LeaderId") == pair.gregor.node_id)
        d.eq(f"partition {i} ReplicaNodes", a.get("ReplicaNodes") == [pair.kafka.node_id],
             b.get("ReplicaNodes") == [pair.gregor.node_id])
        d.eq(f"partition {i} IsrNodes", a.get("IsrNodes") == [pair.kafka.node_id],
             b.get("IsrNodes") == [pair.gregor.node_id])

    # all topics: null (v1+) / empty array (v0)
    all_names = None if version >= 1 else []
    k, g = (_md(s, version, all_names) for s in pair.sides)
    d.eq("all-topics request lists the new topic", name in [t["Name"] for t in k["Topics"]],
         name in [t["Name"] for t in g["Topics"]])
    if version >= 1:
        k, g = (_md(s, version, []) for s in pair.sides)
        d.eq("empty topic array (v1+: no topics)", len(k["Topics"]), len(g["Topics"]))

    # invalid name, auto-creation allowed
    k, g = (_md(s, version, ["bad name!"], allow_auto=True) for s in pair.sides)
    d.expect("'bad name!' ErrorCode", INVALID_TOPIC_EXCEPTION, k["Topics"][0]["ErrorCode"], g["Topics"][0]["ErrorCode"])

    # unknown topic without auto-creation (v4+ has the flag) stays unknown
    if version >= 4:
        unknown = name + "-unknown"
        for _ in range(2):
            k, g = (_md(s, version, [unknown], allow_auto=False) for s in pair.sides)
            d.expect("unknown topic (AllowAutoTopicCreation=false) ErrorCode", UNKNOWN_TOPIC_OR_PARTITION,
                     k["Topics"][0]["ErrorCode"], g["Topics"][0]["ErrorCode"])
    d.check()


@pytest.mark.parametrize("version", [0, 4, 12])
def test_metadata_auto_create(pair, version, request, record_property):
    """Auto-creation through Metadata (before v4 always requested; v4+ AllowAutoTopicCreation).

    Apache Kafka 4.1.1 answers the FIRST request with UNKNOWN_TOPIC_OR_PARTITION (3) and no
    partitions while it forwards the creation to the controller (older releases answered
    LEADER_NOT_AVAILABLE); the topic shows up on a later request. Gregor creates the topic
    synchronously and may already return it, with its partitions, in the first answer; both
    are fine for clients, which retry until the topic has leaders. What must agree: the
    first answer is one of those two, and the topic then exists with num.partitions (1)
    partitions led by the broker."""
    name = topic_of(request)
    d = Diffs(f"Metadata v{version} auto-create")
    firsts = {}
    for s in pair.sides:
        t = _md(s, version, [name], allow_auto=True)["Topics"][0]
        firsts[s.name] = (t["ErrorCode"], len(t["Partitions"]))
    record_property("first_auto_create_answer", firsts)
    if firsts["kafka"] not in ((UNKNOWN_TOPIC_OR_PARTITION, 0), (5, 0)):
        d.add(f"kafka's first answer changed: {firsts['kafka']} (update this test's docstring)")
    if firsts["gregor"] not in ((NONE, 1), firsts["kafka"]):
        d.add(f"gregor's first answer {firsts['gregor']} is neither the created topic nor Kafka's {firsts['kafka']}")
    for s in pair.sides:
        wait_for_leaders(s, name, 1)
    d.check()


# --------------------------------------------------------------------------- 3. CreateTopics


def _ct(name, n=1, rf=1, configs=None, assignments=None):
    return {"Name": name, "NumPartitions": n, "ReplicationFactor": rf, "Assignments": assignments or [],
            "Configs": [{"Name": k, "Value": v} for k, v in (configs or {}).items()]}


def _create(side, version, topics, validate_only=False):
    return side.send("CreateTopics", version, {"Topics": topics, "TimeoutMs": 30000, "ValidateOnly": validate_only})


def _compare_created_configs(d: Diffs, kt: dict, gt: dict) -> None:
    kc = {c["Name"]: c for c in kt.get("Configs") or []}
    gc = {c["Name"]: c for c in gt.get("Configs") or []}
    for n in sorted(set(kc) - set(gc)):
        d.add(f"Configs: {n} returned by kafka ({kc[n]['Value']!r}) but not by gregor")
    for n in sorted(set(gc) - set(kc)):
        d.add(f"Configs: {n} returned by gregor ({gc[n]['Value']!r}) but not by kafka")
    for n in sorted(set(kc) & set(gc)):
        for f in ("Value", "ConfigSource", "ReadOnly", "IsSensitive"):
            d.eq(f"Configs[{n}].{f}", kc[n][f], gc[n][f])


@pytest.mark.parametrize("version", range(0, 8))
def test_create_topics_success(pair, version, request):
    pair.require_kafka_serves(19, "CreateTopics", version)
    name = topic_of(request)
    d = Diffs(f"CreateTopics v{version}")
    k, g = (_create(s, version, [_ct(name, 3, configs={"retention.ms": "3600000"})])["Topics"][0] for s in pair.sides)
    d.expect("ErrorCode", NONE, k["ErrorCode"], g["ErrorCode"])
    if version >= 1:
        d.eq("ErrorMessage", k["ErrorMessage"], g["ErrorMessage"])
    if version >= 5:
        d.eq("NumPartitions", k["NumPartitions"], g["NumPartitions"])
        d.eq("ReplicationFactor", k["ReplicationFactor"], g["ReplicationFactor"])
        _compare_created_configs(d, k, g)
    if version >= 7:
        d.eq("TopicId is set", k["TopicId"].int != 0, g["TopicId"].int != 0)
    for s in pair.sides:
        wait_for_leaders(s, name, 3)
    d.check()


@pytest.mark.parametrize("version", range(0, 8))
def test_create_topics_errors(pair, version, request):
    pair.require_kafka_serves(19, "CreateTopics", version)
    name = topic_of(request)
    pair.create_topic(name)
    d = Diffs(f"CreateTopics v{version}")
    cases = [
        ("already exists", _ct(name), TOPIC_ALREADY_EXISTS),
        ("0 partitions", _ct(name + "-p0", 0), INVALID_PARTITIONS),
        ("-2 partitions", _ct(name + "-pm2", -2), INVALID_PARTITIONS),
        ("replication factor 3 on one broker", _ct(name + "-rf3", 1, 3), INVALID_REPLICATION_FACTOR),
        ("replication factor 0", _ct(name + "-rf0", 1, 0), INVALID_REPLICATION_FACTOR),
        ("unknown config key", _ct(name + "-ck", configs={"no.such.config": "1"}), INVALID_CONFIG),
        ("invalid config value", _ct(name + "-cv", configs={"retention.ms": "abc"}), INVALID_CONFIG),
        ("null config value", _ct(name + "-cn", configs={"retention.ms": None}), INVALID_CONFIG),
        ("invalid topic name", _ct("bad name!"), INVALID_TOPIC_EXCEPTION),
    ]
    for label, topic, code in cases:
        k, g = (_create(s, version, [topic])["Topics"][0] for s in pair.sides)
        d.expect(f"{label}: ErrorCode", code, k["ErrorCode"], g["ErrorCode"])
        if version >= 1:
            if k["ErrorMessage"] is None or g["ErrorMessage"] is None:
                d.add(f"{label}: ErrorMessage must be set: kafka={k['ErrorMessage']!r} gregor={g['ErrorMessage']!r}")
        if version >= 5:
            d.eq(f"{label}: NumPartitions", k["NumPartitions"], g["NumPartitions"])
            d.eq(f"{label}: ReplicationFactor", k["ReplicationFactor"], g["ReplicationFactor"])
            # Kafka sends an empty array; null would crash a client that iterates it
            d.eq(f"{label}: Configs", k["Configs"], g["Configs"])
    # none of the failed topics exists afterwards
    for s in pair.sides:
        r = _md(s, 12, [name + "-p0", name + "-rf3", name + "-ck", name + "-cv"])
        codes = [t["ErrorCode"] for t in r["Topics"]]
        if codes != [UNKNOWN_TOPIC_OR_PARTITION] * 4:
            d.add(f"{s.name}: failed creations left topics behind: {codes}")
    d.check()


@pytest.mark.parametrize("version", range(1, 8))
def test_create_topics_validate_only(pair, version, request):
    pair.require_kafka_serves(19, "CreateTopics", version)
    name = topic_of(request)
    d = Diffs(f"CreateTopics v{version} ValidateOnly")
    k, g = (_create(s, version, [_ct(name, 2)], validate_only=True)["Topics"][0] for s in pair.sides)
    d.expect("ErrorCode", NONE, k["ErrorCode"], g["ErrorCode"])
    if version >= 5:
        d.eq("NumPartitions", k["NumPartitions"], g["NumPartitions"])
        d.eq("ReplicationFactor", k["ReplicationFactor"], g["ReplicationFactor"])
        _compare_created_configs(d, k, g)
    k, g = (_create(s, version, [_ct(name + "-bad", 0)], validate_only=True)["Topics"][0] for s in pair.sides)
    d.expect("invalid partitions ErrorCode", INVALID_PARTITIONS, k["ErrorCode"], g["ErrorCode"])
    k, g = (_md(s, 12, [name])["Topics"][0]["ErrorCode"] for s in pair.sides)
    d.expect("topic after ValidateOnly (Metadata ErrorCode)", UNKNOWN_TOPIC_OR_PARTITION, k, g)
    d.check()


@pytest.mark.parametrize("version", range(0, 8))
def test_create_topics_duplicate_in_one_request(pair, version, request):
    pair.require_kafka_serves(19, "CreateTopics", version)
    name = topic_of(request)
    d = Diffs(f"CreateTopics v{version} duplicate name in one request")
    k, g = (_create(s, version, [_ct(name), _ct(name)])["Topics"] for s in pair.sides)
    d.eq("result count", len(k), len(g))
    d.eq("ErrorCodes", [t["ErrorCode"] for t in k], [t["ErrorCode"] for t in g])
    if k and k[0]["ErrorCode"] != INVALID_REQUEST:
        d.add(f"kafka answered {k[0]['ErrorCode']} (expected INVALID_REQUEST 42; update the test)")
    k, g = (_md(s, 12, [name])["Topics"][0]["ErrorCode"] for s in pair.sides)
    d.eq("topic exists afterwards (Metadata ErrorCode)", k, g)
    d.check()


# --------------------------------------------------------------------------- 4. DeleteTopics


def _delete(side, version, names=(), ids=()):
    if version >= 6:
        topics = [{"Name": n} for n in names] + [{"Name": None, "TopicId": i} for i in ids]
        return side.send("DeleteTopics", version, {"Topics": topics, "TimeoutMs": 30000})["Responses"]
    return side.send("DeleteTopics", version, {"TopicNames": list(names), "TimeoutMs": 30000})["Responses"]


@pytest.mark.parametrize("version", range(0, 7))
def test_delete_topics(pair, version, request):
    pair.require_kafka_serves(20, "DeleteTopics", version)
    name = topic_of(request)
    pair.create_topic(name)
    d = Diffs(f"DeleteTopics v{version}")
    k, g = (_delete(s, version, [name + "-unknown"]) for s in pair.sides)
    d.expect("unknown topic ErrorCode", UNKNOWN_TOPIC_OR_PARTITION, k[0]["ErrorCode"], g[0]["ErrorCode"])
    if version >= 6:
        bogus = uuid.uuid4()
        k, g = (_delete(s, version, ids=[bogus]) for s in pair.sides)
        d.expect("unknown topic id ErrorCode", UNKNOWN_TOPIC_ID, k[0]["ErrorCode"], g[0]["ErrorCode"])
        d.eq("unknown topic id: TopicId echoed", k[0]["TopicId"], g[0]["TopicId"])
        d.eq("unknown topic id: Name", k[0]["Name"], g[0]["Name"])
    k, g = (_delete(s, version, [name]) for s in pair.sides)
    d.expect("existing topic ErrorCode", NONE, k[0]["ErrorCode"], g[0]["ErrorCode"])
    d.eq("existing topic Name", k[0]["Name"], g[0]["Name"])
    for s in pair.sides:
        wait_until(lambda: _md(s, 12, [name])["Topics"][0]["ErrorCode"] == UNKNOWN_TOPIC_OR_PARTITION,
                   timeout=30, message=f"{s.name}: {name} gone from Metadata")
    d.check()


def test_delete_topics_by_id(pair, request):
    name = topic_of(request)
    ids = pair.create_topic(name)
    d = Diffs("DeleteTopics v6 by id")
    k, g = (_delete(s, 6, ids=[ids[s.name]])[0] for s in pair.sides)
    d.expect("ErrorCode", NONE, k["ErrorCode"], g["ErrorCode"])
    d.eq("Name resolved from the id", k["Name"], g["Name"])
    d.eq("TopicId echoed", k["TopicId"] == ids["kafka"], g["TopicId"] == ids["gregor"])
    d.check()


# --------------------------------------------------------------------------- 5. CreatePartitions


@pytest.mark.parametrize("version", range(0, 4))
def test_create_partitions(pair, version, request):
    pair.require_kafka_serves(37, "CreatePartitions", version)
    name = topic_of(request)
    pair.create_topic(name, 2)
    d = Diffs(f"CreatePartitions v{version}")

    def cp(side, topic, count, validate_only=False):
        return side.send("CreatePartitions", version, {"Topics": [{"Name": topic, "Count": count, "Assignments": None}],
                                                       "TimeoutMs": 30000, "ValidateOnly": validate_only})["Results"][0]
    k, g = (cp(s, name, 4, validate_only=True) for s in pair.sides)
    d.expect("validate-only increase ErrorCode", NONE, k["ErrorCode"], g["ErrorCode"])
    k, g = (len(_md(s, 12, [name])["Topics"][0]["Partitions"]) for s in pair.sides)
    d.expect("partitions after validate-only", 2, k, g)
    k, g = (cp(s, name, 4) for s in pair.sides)
    d.expect("increase 2 -> 4 ErrorCode", NONE, k["ErrorCode"], g["ErrorCode"])
    for s in pair.sides:
        wait_for_leaders(s, name, 4)
    for label, count in (("same count (4)", 4), ("decrease to 1", 1)):
        k, g = (cp(s, name, count) for s in pair.sides)
        d.expect(f"{label} ErrorCode", INVALID_PARTITIONS, k["ErrorCode"], g["ErrorCode"])
        d.presence(f"{label} ErrorMessage", k["ErrorMessage"], g["ErrorMessage"])
    k, g = (cp(s, name + "-unknown", 3) for s in pair.sides)
    d.expect("unknown topic ErrorCode", UNKNOWN_TOPIC_OR_PARTITION, k["ErrorCode"], g["ErrorCode"])
    d.check()


# --------------------------------------------------------------------------- error messages


def test_error_message_presence(pair, request):
    """Where Kafka sends an ErrorMessage (or none), Gregor should too: admin tools print it."""
    name = topic_of(request)
    d = Diffs("ErrorMessage")
    for v in (5, 6):
        k, g = (_delete(s, v, [name + "-unknown"])[0] for s in pair.sides)
        d.presence(f"DeleteTopics v{v} unknown topic", k["ErrorMessage"], g["ErrorMessage"])
    k, g = (_delete(s, 6, ids=[uuid.uuid4()])[0] for s in pair.sides)
    d.presence("DeleteTopics v6 unknown topic id", k["ErrorMessage"], g["ErrorMessage"])
    for v in (0, 3):
        k, g = (s.send("CreatePartitions", v, {"Topics": [{"Name": name + "-unknown", "Count": 3, "Assignments": None}],
                                               "TimeoutMs": 30000})["Results"][0] for s in pair.sides)
        d.presence(f"CreatePartitions v{v} unknown topic", k["ErrorMessage"], g["ErrorMessage"])
    d.check()


# --------------------------------------------------------------------------- 6. Produce

PRODUCE_VERSIONS = [3, 7, 9, 11]


def _compare_produce(d: Diffs, label: str, version: int, k: dict, g: dict, code: int | None = None) -> None:
    if code is not None:
        d.expect(f"{label}: ErrorCode", code, k["ErrorCode"], g["ErrorCode"])
    else:
        d.eq(f"{label}: ErrorCode", k["ErrorCode"], g["ErrorCode"])
    d.eq(f"{label}: BaseOffset", k["BaseOffset"], g["BaseOffset"])
    if version >= 2:
        d.eq(f"{label}: LogAppendTimeMs", k["LogAppendTimeMs"], g["LogAppendTimeMs"])
    if version >= 5:
        d.eq(f"{label}: LogStartOffset", k["LogStartOffset"], g["LogStartOffset"])
    if version >= 8:
        d.eq(f"{label}: RecordErrors batch indexes", [e["BatchIndex"] for e in k["RecordErrors"]],
             [e["BatchIndex"] for e in g["RecordErrors"]])
        d.presence(f"{label}: ErrorMessage", k["ErrorMessage"], g["ErrorMessage"])


def _produce_both(pair, version, topic, records, partition=0, acks=1):
    return tuple(produce(s, version, topic, partition, records, acks) for s in pair.sides)


@pytest.mark.parametrize("version", PRODUCE_VERSIONS)
def test_produce_offsets(pair, version, request):
    name = topic_of(request)
    pair.create_topic(name)
    d = Diffs(f"Produce v{version}")
    expected_base = 0
    for label, acks, n in (("acks=1 first", 1, 1), ("acks=1 second", 1, 3), ("acks=-1", -1, 2)):
        batch = build_record_batch([(f"k{i}", f"v{i}") for i in range(n)])
        k, g = _produce_both(pair, version, name, batch, acks=acks)
        _compare_produce(d, label, version, k, g, NONE)
        d.expect(f"{label}: BaseOffset", expected_base, k["BaseOffset"], g["BaseOffset"])
        expected_base += n
    d.check()


@pytest.mark.parametrize("version", PRODUCE_VERSIONS)
def test_produce_errors(pair, version, request):
    name = topic_of(request)
    pair.create_topic(name)
    d = Diffs(f"Produce v{version}")
    one = build_record_batch([("k", "v")])
    cases = [
        ("acks=2", name, 0, one, 2, INVALID_REQUIRED_ACKS),
        ("unknown topic", name + "-unknown", 0, one, 1, UNKNOWN_TOPIC_OR_PARTITION),
        ("unknown partition 5", name, 5, one, 1, UNKNOWN_TOPIC_OR_PARTITION),
        ("corrupted CRC", name, 0, build_record_batch([("k", "v")], corrupt_crc=True), 1, CORRUPT_MESSAGE),
        ("magic 1 message set", name, 0, build_message_set_v1([("k", "v")]), 1, None),
        ("two batches in one partition", name, 0,
         build_record_batch([("a", "1"), ("b", "2")]) + build_record_batch([("c", "3")]), 1, None),
    ]
    for label, topic, part, records, acks, code in cases:
        k, g = _produce_both(pair, version, topic, records, part, acks)
        _compare_produce(d, label, version, k, g, code)
    # nothing of the above was appended
    k, g = _produce_both(pair, version, name, one)
    _compare_produce(d, "valid batch after the errors", version, k, g, NONE)
    d.expect("valid batch after the errors: BaseOffset", 0, k["BaseOffset"], g["BaseOffset"])
    d.check()


@pytest.mark.parametrize("version", PRODUCE_VERSIONS)
def test_produce_batch_larger_than_max_message_bytes(pair, version, request):
    name = topic_of(request)
    pair.create_topic(name, configs={"max.message.bytes": 1000})
    d = Diffs(f"Produce v{version} max.message.bytes=1000")
    k, g = _produce_both(pair, version, name, build_record_batch([("k", "x" * 1200)]))
    _compare_produce(d, "1200-byte value", version, k, g, MESSAGE_TOO_LARGE)
    k, g = _produce_both(pair, version, name, build_record_batch([("k", "x" * 900)]))
    _compare_produce(d, "900-byte value", version, k, g, NONE)
    d.check()


@pytest.mark.parametrize("version", PRODUCE_VERSIONS)
def test_produce_compacted_topic_record_without_key(pair, version, request):
    name = topic_of(request)
    pair.create_topic(name, configs={"cleanup.policy": "compact"})
    d = Diffs(f"Produce v{version} cleanup.policy=compact")
    k, g = _produce_both(pair, version, name, build_record_batch([("k", "1"), (None, "2"), ("k", "3")]))
    _compare_produce(d, "record 1 of 3 has no key", version, k, g, INVALID_RECORD)
    k, g = _produce_both(pair, version, name, build_record_batch([("k", "1")]))
    _compare_produce(d, "keyed record", version, k, g, NONE)
    d.check()


# --------------------------------------------------------------------------- 7. Fetch

FETCH_VERSIONS = [4, 11, 12, 13, 17]


def _fetch_body(topic, topic_id, offset, partition=0, session_id=0, epoch=-1, partitions=True):
    return {"ReplicaId": -1, "MaxWaitMs": 0, "MinBytes": 0, "MaxBytes": 1 << 20, "IsolationLevel": 0,
            "SessionId": session_id, "SessionEpoch": epoch, "ForgottenTopicsData": [], "RackId": "",
            "Topics": [{"Topic": topic, "TopicId": topic_id,
                        "Partitions": [{"Partition": partition, "FetchOffset": offset, "PartitionMaxBytes": 1 << 20,
                                        "CurrentLeaderEpoch": -1, "LogStartOffset": -1}]}] if partitions else []}


def _fetch_partition(resp):
    assert len(resp["Responses"]) == 1 and len(resp["Responses"][0]["Partitions"]) == 1, resp
    return resp["Responses"][0]["Partitions"][0]


def _compare_fetch_partition(d: Diffs, label, version, k, g, code=None, records=True):
    if code is None:
        d.eq(f"{label}: ErrorCode", k["ErrorCode"], g["ErrorCode"])
    else:
        d.expect(f"{label}: ErrorCode", code, k["ErrorCode"], g["ErrorCode"])
    d.eq(f"{label}: HighWatermark", k["HighWatermark"], g["HighWatermark"])
    d.eq(f"{label}: LastStableOffset", k["LastStableOffset"], g["LastStableOffset"])
    if version >= 5:
        d.eq(f"{label}: LogStartOffset", k["LogStartOffset"], g["LogStartOffset"])
    if version >= 11:
        d.eq(f"{label}: PreferredReadReplica", k["PreferredReadReplica"], g["PreferredReadReplica"])
    d.eq(f"{label}: AbortedTransactions", k["AbortedTransactions"], g["AbortedTransactions"])
    if records:
        kb, gb = parse_record_batches(k["Records"]), parse_record_batches(g["Records"])
        summary = lambda bs: [(b["baseOffset"], b["lastOffsetDelta"], b["crcOk"],
                               [(r["offset"], r["key"], r["value"]) for r in b["records"]]) for b in bs]
        d.eq(f"{label}: record batches (base, last delta, crc ok, records)", summary(kb), summary(gb))


@pytest.mark.parametrize("version", FETCH_VERSIONS)
def test_fetch(pair, version, request):
    name = topic_of(request)
    ids = pair.create_topic(name)
    pair.produce(name, build_record_batch([("a", "1"), ("b", "2"), ("c", "3")]))
    d = Diffs(f"Fetch v{version}")

    def fetch(side, offset, topic=name, topic_id=None):
        return side.send("Fetch", version, _fetch_body(topic, topic_id or ids[side.name], offset))

    # from the middle of the batch: the whole batch comes back, starting at base offset 0
    k, g = (_fetch_partition(fetch(s, 1)) for s in pair.sides)
    _compare_fetch_partition(d, "offset 1 of a 3-record batch", version, k, g, NONE)
    d.expect("offset 1: HighWatermark", 3, k["HighWatermark"], g["HighWatermark"])
    d.expect("offset 1: LastStableOffset", 3, k["LastStableOffset"], g["LastStableOffset"])
    if version >= 5:
        d.expect("offset 1: LogStartOffset", 0, k["LogStartOffset"], g["LogStartOffset"])
    d.expect("offset 1: first batch base offset", [0],
             [b["baseOffset"] for b in parse_record_batches(k["Records"])][:1],
             [b["baseOffset"] for b in parse_record_batches(g["Records"])][:1])
    # at the end: nothing, no error
    k, g = (_fetch_partition(fetch(s, 3)) for s in pair.sides)
    _compare_fetch_partition(d, "offset 3 (log end)", version, k, g, NONE)
    d.check()


@pytest.mark.parametrize("version", [4, 9, 10])
def test_fetch_zstd_topic_below_v10(pair, version, request):
    """Kafka 3.9 answered UNSUPPORTED_COMPRESSION_TYPE for a topic with compression.type=zstd
    below Fetch v10; Kafka 4 serves it (the rule left with Fetch v0-3, which Gregor keeps it
    for: test_fetch_downconvert.py)."""
    name = topic_of(request)
    ids = pair.create_topic(name, configs={"compression.type": "zstd"})
    pair.produce(name, build_record_batch([("a", "1"), ("b", "2")]))
    d = Diffs(f"Fetch v{version} zstd topic")
    k, g = (_fetch_partition(s.send("Fetch", version, _fetch_body(name, ids[s.name], 0))) for s in pair.sides)
    _compare_fetch_partition(d, "offset 0", version, k, g, NONE, records=False)
    kb, gb = parse_record_batches(k["Records"]), parse_record_batches(g["Records"])
    d.expect("batch codecs", [4], [b["attributes"] & 7 for b in kb], [b["attributes"] & 7 for b in gb])
    d.check()


@pytest.mark.parametrize("version", FETCH_VERSIONS)
def test_fetch_offset_out_of_range(pair, version, request):
    name = topic_of(request)
    ids = pair.create_topic(name)
    pair.produce(name, build_record_batch([("a", "1"), ("b", "2"), ("c", "3")]))
    d = Diffs(f"Fetch v{version} offset 1000 of 3")
    k, g = (_fetch_partition(s.send("Fetch", version, _fetch_body(name, ids[s.name], 1000))) for s in pair.sides)
    _compare_fetch_partition(d, "offset 1000", version, k, g, OFFSET_OUT_OF_RANGE)
    d.check()


@pytest.mark.parametrize("version", FETCH_VERSIONS)
def test_fetch_unknown_topic(pair, version, request):
    name = topic_of(request) + "-unknown"
    d = Diffs(f"Fetch v{version} unknown topic")
    bogus = uuid.uuid4()
    k, g = (s.send("Fetch", version, _fetch_body(name, bogus, 0)) for s in pair.sides)
    expected = UNKNOWN_TOPIC_ID if version >= 13 else UNKNOWN_TOPIC_OR_PARTITION
    d.expect("top-level ErrorCode", NONE, k.get("ErrorCode", 0), g.get("ErrorCode", 0))
    if version >= 13:
        d.eq("TopicId echoed", k["Responses"][0]["TopicId"], g["Responses"][0]["TopicId"])
    _compare_fetch_partition(d, "partition", version, _fetch_partition(k), _fetch_partition(g), expected)
    d.check()


@pytest.mark.parametrize("version", [7, 11, 12, 13, 17])
def test_fetch_sessions(pair, version, request):
    name = topic_of(request)
    ids = pair.create_topic(name)
    pair.produce(name, build_record_batch([("a", "1"), ("b", "2"), ("c", "3")]))
    d = Diffs(f"Fetch v{version} sessions")
    steps = {}
    for s in pair.sides:
        tid = ids[s.name]
        out = steps[s.name] = {}
        with s.fresh() as c:
            def f(sid, epoch, offset=0, partitions=True):
                r = c.send("Fetch", version, _fetch_body(name, tid, offset, session_id=sid, epoch=epoch,
                                                         partitions=partitions))
                parts = [(p["PartitionIndex"], p["ErrorCode"], len(parse_record_batches(p["Records"])))
                         for t in r["Responses"] for p in t["Partitions"]]
                return r["ErrorCode"], r["SessionId"], parts
            code, sid, parts = f(0, 0)
            out["new session (id 0, epoch 0)"] = (code, sid != 0, parts)
            # the session remembers fetch offset 0, so the partition (with data) is returned again
            code, sid1, parts = f(sid, 1, partitions=False)
            out["epoch 1, no partitions"] = (code, sid1 == sid, parts)
            code, sid2, parts = f(sid, 2, offset=3)
            out["epoch 2, offset moved to 3 (no new data)"] = (code, sid2 == sid, parts)
            code, sid3, parts = f(sid, 7, partitions=False)
            out["wrong epoch 7"] = (code, sid3, parts)
            code, sid4, parts = f(sid, 3, partitions=False)
            out["epoch 3 after the wrong one"] = (code, sid4 == sid, parts)
            code, sid5, parts = f(sid ^ 0x5A5A5A5 or 1, 1, partitions=False)
            out["unknown session id"] = (code, sid5, parts)
            code, sid6, parts = f(sid, 0)
            out["known session id with epoch 0 (closes it, opens a new one)"] = (code, sid6 not in (0, sid), parts)
            code, sid7, parts = f(sid, 4, partitions=False)
            out["old session after it was replaced"] = (code, sid7, parts)
            code, sid8, parts = f(0, -1)
            out["sessionless (epoch -1)"] = (code, sid8, parts)
    for step in steps["kafka"]:
        d.eq(step + " (ErrorCode, SessionId check, partitions)", steps["kafka"][step], steps["gregor"][step])
    d.expect("wrong epoch ErrorCode", INVALID_FETCH_SESSION_EPOCH, steps["kafka"]["wrong epoch 7"][0],
             steps["gregor"]["wrong epoch 7"][0])
    d.expect("unknown session ErrorCode", FETCH_SESSION_ID_NOT_FOUND, steps["kafka"]["unknown session id"][0],
             steps["gregor"]["unknown session id"][0])
    d.check()


# --------------------------------------------------------------------------- 8. ListOffsets

LIST_OFFSETS_VERSIONS = [1, 4, 7, 9]


def _list_offsets(side, version, topic, timestamp, partition=0, current_leader_epoch=-1):
    r = side.send("ListOffsets", version, {"ReplicaId": -1, "IsolationLevel": 0, "TimeoutMs": 10000, "Topics": [
        {"Name": topic, "Partitions": [{"PartitionIndex": partition, "CurrentLeaderEpoch": current_leader_epoch,
                                        "Timestamp": timestamp}]}]})
    return r["Topics"][0]["Partitions"][0]


def _lo_setup(pair, request):
    name = topic_of(request)
    pair.create_topic(name)
    for ts in (1000, 5000, 3000):  # three batches; the max timestamp is in the middle one
        pair.produce(name, build_record_batch([("k", f"t{ts}")], base_timestamp=ts))
    return name


def _compare_lo(d, label, version, k, g, code=None):
    if code is None:
        d.eq(f"{label}: ErrorCode", k["ErrorCode"], g["ErrorCode"])
    else:
        d.expect(f"{label}: ErrorCode", code, k["ErrorCode"], g["ErrorCode"])
    d.eq(f"{label}: Offset", k["Offset"], g["Offset"])
    d.eq(f"{label}: Timestamp", k["Timestamp"], g["Timestamp"])
    if version >= 4:
        d.eq(f"{label}: LeaderEpoch", k["LeaderEpoch"], g["LeaderEpoch"])


@pytest.mark.parametrize("version", LIST_OFFSETS_VERSIONS)
def test_list_offsets(pair, version, request):
    name = _lo_setup(pair, request)
    d = Diffs(f"ListOffsets v{version}")

    def both(ts, topic=name, partition=0, cle=-1):
        return tuple(_list_offsets(s, version, topic, ts, partition, cle) for s in pair.sides)
    k, g = both(-2)
    _compare_lo(d, "earliest (-2)", version, k, g, NONE)
    d.expect("earliest (-2): Offset", 0, k["Offset"], g["Offset"])
    k, g = both(-1)
    _compare_lo(d, "latest (-1)", version, k, g, NONE)
    d.expect("latest (-1): Offset", 3, k["Offset"], g["Offset"])
    for ts in (0, 1000, 2000, 4000, 5000):
        k, g = both(ts)
        _compare_lo(d, f"timestamp {ts}", version, k, g, NONE)
    k, g = both(6000)  # after every record: no offset
    _compare_lo(d, "timestamp 6000 (after every record)", version, k, g, NONE)
    k, g = both(-1, partition=5)
    _compare_lo(d, "unknown partition 5", version, k, g, UNKNOWN_TOPIC_OR_PARTITION)
    k, g = both(-1, topic=name + "-unknown")
    _compare_lo(d, "unknown topic", version, k, g, UNKNOWN_TOPIC_OR_PARTITION)
    if version >= 4:
        # The leader epoch of a new single-node topic is 0, so a lower (fenced, 74) epoch cannot
        # be sent; a higher one is UNKNOWN_LEADER_EPOCH.
        k, g = both(-1, cle=5)
        _compare_lo(d, "CurrentLeaderEpoch 5 > leader epoch 0", version, k, g, UNKNOWN_LEADER_EPOCH)
        k, g = both(-1, cle=0)
        _compare_lo(d, "CurrentLeaderEpoch 0 (current)", version, k, g, NONE)
    d.check()


@pytest.mark.parametrize("version", LIST_OFFSETS_VERSIONS)
def test_list_offsets_special_timestamps(pair, version, request):
    """-3 MAX_TIMESTAMP (v7+), -4 EARLIEST_LOCAL_TIMESTAMP (v8+), -5 LATEST_TIERED_TIMESTAMP
    (v9+); Kafka answers UNSUPPORTED_VERSION (35) below those versions."""
    name = _lo_setup(pair, request)
    d = Diffs(f"ListOffsets v{version}")
    for ts, label in ((-3, "max timestamp (-3)"), (-4, "earliest local (-4)"), (-5, "latest tiered (-5)")):
        k, g = (_list_offsets(s, version, name, ts) for s in pair.sides)
        _compare_lo(d, label, version, k, g)
    d.check()


def _delete_records(side, topic, offset, partition=0):
    r = side.send("DeleteRecords", 2, {"Topics": [{"Name": topic, "Partitions": [
        {"PartitionIndex": partition, "Offset": offset}]}], "TimeoutMs": 10000})
    return r["Topics"][0]["Partitions"][0]


# Batches of (timestamp - T, records, value size), every record of a batch at its timestamp;
# topic configs; the log start offsets DeleteRecords moves to, one after the other; the
# timestamps looked up (- T).
LO_LAYOUTS = {
    # one segment: 0-4 @T+100, 5-9 @T+10, 10-14 @T+50; the start moves into the middle of the
    # second batch, of the third, then to the end
    "one-segment": ([(100, 5, 10), (10, 5, 10), (50, 5, 10)], {}, (7, 12, 15), (0, 10, 50, 100, 101)),
    # segment.bytes 1 MiB and ~390 KB batches: segments [0-5] [6-11] [12-14] with
    # 0-2 @T+1, 3-5 @T+200 | 6-8 @T+100, 9-11 @T+30 | 12-14 @T+50; the start moves inside
    # the first segment only (see the docstring)
    "segments": ([(1, 3, 130_000), (200, 3, 130_000), (100, 3, 130_000), (30, 3, 130_000), (50, 3, 130_000)],
                 {"segment.bytes": 1048576}, (1, 4), (0, 1, 30, 100, 150, 200, 201)),
}


@pytest.mark.parametrize("layout", list(LO_LAYOUTS))
def test_list_offsets_after_delete_records_mid_segment(pair, layout, request):
    """DeleteRecords moves the log start offset into the middle of a segment (and of a batch);
    then ListOffsets -1, -2 (EARLIEST), -3 (MAX_TIMESTAMP), -4 (EARLIEST_LOCAL_TIMESTAMP), -5
    (LATEST_TIERED_TIMESTAMP) and plain timestamps, at v7-v9. Kafka's MAX_TIMESTAMP takes the
    segment with the largest timestamp and, in it, the first record carrying the largest
    timestamp of its batch, whatever the log start offset: it may name a deleted record.
    Segments wholly below a new log start offset are deleted by Kafka only at its next
    retention check (log.retention.check.interval.ms, 5 minutes), by Gregor at once; until then
    Kafka's MAX_TIMESTAMP and timestamp lookups still see them, so no step here leaves a
    segment wholly below the start."""
    batches, configs, starts, lookups = LO_LAYOUTS[layout]
    name = topic_of(request)
    pair.create_topic(name, configs=configs)
    t0 = int(time.time() * 1000) - 3_600_000
    d = Diffs(f"ListOffsets after DeleteRecords ({layout})")

    def check(label):
        for version in (7, 8, 9):
            for ts in (-1, -2, -3, -4, -5, *(t0 + dt for dt in lookups)):
                if (ts == -4 and version < 8) or (ts == -5 and version < 9):
                    continue
                k, g = (_list_offsets(s, version, name, ts) for s in pair.sides)
                what = {-1: "latest", -2: "earliest", -3: "max timestamp", -4: "earliest local",
                        -5: "latest tiered"}.get(ts, f"T+{ts - t0}")
                _compare_lo(d, f"{label} v{version} {what}", version, k, g)

    check("empty")
    for dt, n, size in batches:
        pair.produce(name, build_record_batch([(f"k{i}", "v" * size) for i in range(n)], base_timestamp=t0 + dt))
    check("before")
    for start in starts:
        k, g = (_delete_records(s, name, start) for s in pair.sides)
        d.expect(f"DeleteRecords to {start}: (ErrorCode, LowWatermark)", (NONE, start),
                 (k["ErrorCode"], k["LowWatermark"]), (g["ErrorCode"], g["LowWatermark"]))
        check(f"start {start}")
    d.check()


# --------------------------------------------------------------------------- 9. DescribeConfigs

BROKER_KEYS = ["num.partitions", "log.retention.hours", "log.segment.bytes", "message.max.bytes",
               "auto.create.topics.enable", "socket.request.max.bytes", "offsets.topic.num.partitions",
               "group.initial.rebalance.delay.ms", "min.insync.replicas", "default.replication.factor",
               "offsets.topic.replication.factor", "transaction.state.log.replication.factor",
               "connections.max.idle.ms", "log.retention.check.interval.ms", "log.cleanup.policy",
               "compression.type", "delete.topic.enable"]


def _describe_configs(side, version, rtype, rname, keys=None, synonyms=False):
    r = side.send("DescribeConfigs", version, {"Resources": [{"ResourceType": rtype, "ResourceName": rname,
                                                              "ConfigurationKeys": keys}],
                                               "IncludeSynonyms": synonyms, "IncludeDocumentation": False})
    return r["Results"][0]


def _compare_config_entries(d: Diffs, version, k: dict, g: dict, names, synonyms: bool):
    for n in names:
        a, b = k.get(n), g.get(n)
        if a is None or b is None:
            d.add(f"{n}: kafka={'present' if a else 'missing'} gregor={'present' if b else 'missing'}"
                  + (f" (kafka value {a['Value']!r})" if a else ""))
            continue
        fields = ["Value", "ReadOnly", "IsSensitive"] + (["ConfigSource"] if version >= 1 else ["IsDefault"])
        if version >= 3:
            fields.append("ConfigType")
        for f in fields:
            d.eq(f"{n}.{f}", a[f], b[f])
        if synonyms and version >= 1:
            d.eq(f"{n}.Synonyms (name, value, source)", [(s["Name"], s["Value"], s["Source"]) for s in a["Synonyms"]],
                 [(s["Name"], s["Value"], s["Source"]) for s in b["Synonyms"]])


@pytest.mark.parametrize("version", range(0, 5))
@pytest.mark.parametrize("synonyms", [False, True], ids=["plain", "synonyms"])
def test_describe_configs_topic_defaults(pair, version, synonyms, request):
    pair.require_kafka_serves(32, "DescribeConfigs", version)
    name = topic_of(request)
    pair.create_topic(name)
    d = Diffs(f"DescribeConfigs v{version} topic (no overrides){' IncludeSynonyms' if synonyms else ''}")
    kr, gr = (_describe_configs(s, version, 2, name, None, synonyms) for s in pair.sides)
    d.expect("ErrorCode", NONE, kr["ErrorCode"], gr["ErrorCode"])
    k = {c["Name"]: c for c in kr["Configs"]}
    g = {c["Name"]: c for c in gr["Configs"]}
    for n in sorted(set(g) - set(k)):
        d.add(f"{n}: returned by gregor ({g[n]['Value']!r}) but not by kafka")
    _compare_config_entries(d, version, k, g, sorted(k), synonyms)
    d.check()


@pytest.mark.parametrize("version", range(0, 5))
def test_describe_configs_topic_override(pair, version, request):
    pair.require_kafka_serves(32, "DescribeConfigs", version)
    name = topic_of(request)
    pair.create_topic(name, configs={"retention.ms": 3600000, "cleanup.policy": "compact"})
    d = Diffs(f"DescribeConfigs v{version} topic overrides")
    names = ["retention.ms", "cleanup.policy", "segment.bytes"]
    kr, gr = (_describe_configs(s, version, 2, name, names, True) for s in pair.sides)
    d.expect("ErrorCode", NONE, kr["ErrorCode"], gr["ErrorCode"])
    k = {c["Name"]: c for c in kr["Configs"]}
    g = {c["Name"]: c for c in gr["Configs"]}
    d.eq("returned names", sorted(k), sorted(g))
    _compare_config_entries(d, version, k, g, names, True)
    kr, gr = (_describe_configs(s, version, 2, name + "-unknown") for s in pair.sides)
    d.expect("unknown topic ErrorCode", UNKNOWN_TOPIC_OR_PARTITION, kr["ErrorCode"], gr["ErrorCode"])
    d.check()


@pytest.mark.parametrize("version", range(0, 5))
def test_describe_configs_broker(pair, version):
    """Gregor runs with the reference's server.properties overrides (see IDENTITY_KEYS), so the
    keys the harness sets are STATIC_BROKER_CONFIG on both sides and the others defaults."""
    pair.require_kafka_serves(32, "DescribeConfigs", version)
    d = Diffs(f"DescribeConfigs v{version} broker")
    kr = _describe_configs(pair.kafka, version, 4, str(pair.kafka.node_id), BROKER_KEYS, True)
    gr = _describe_configs(pair.gregor, version, 4, str(pair.gregor.node_id), BROKER_KEYS, True)
    d.expect("ErrorCode", NONE, kr["ErrorCode"], gr["ErrorCode"])
    k = {c["Name"]: c for c in kr["Configs"]}
    g = {c["Name"]: c for c in gr["Configs"]}
    _compare_config_entries(d, version, k, g, BROKER_KEYS, True)
    d.check()


# --------------------------------------------------------------------------- 10. the rest


@pytest.mark.parametrize("version", range(0, 6))
def test_init_producer_id_without_transactional_id(pair, version):
    pair.require_kafka_serves(22, "InitProducerId", version)
    d = Diffs(f"InitProducerId v{version}")
    body = {"TransactionalId": None, "TransactionTimeoutMs": 60000, "ProducerId": -1, "ProducerEpoch": -1}
    out = {}
    for s in pair.sides:
        # Kafka answers COORDINATOR_LOAD_IN_PROGRESS (14, retriable) until its broker has a
        # producer id block from the controller; clients retry, so do we.
        def ok():
            r = s.send("InitProducerId", version, body)
            out[s.name] = r
            return r["ErrorCode"] != COORDINATOR_LOAD_IN_PROGRESS
        wait_until(ok, timeout=30, interval=0.2, message=f"{s.name}: InitProducerId")
    k, g = out["kafka"], out["gregor"]
    d.expect("ErrorCode", NONE, k["ErrorCode"], g["ErrorCode"])
    d.expect("ProducerId >= 0", True, k["ProducerId"] >= 0, g["ProducerId"] >= 0)
    d.expect("ProducerEpoch", 0, k["ProducerEpoch"], g["ProducerEpoch"])
    d.check()


@pytest.mark.parametrize("version", range(0, 5))
def test_offset_for_leader_epoch(pair, version, request):
    pair.require_kafka_serves(23, "OffsetForLeaderEpoch", version)
    name = topic_of(request)
    pair.create_topic(name)
    pair.produce(name, build_record_batch([("a", "1"), ("b", "2")]))
    pair.produce(name, build_record_batch([("c", "3")]))
    d = Diffs(f"OffsetForLeaderEpoch v{version}")

    def ofle(side, partitions, topic=name):
        r = side.send("OffsetForLeaderEpoch", version, {"ReplicaId": -1, "Topics": [
            {"Topic": topic, "Partitions": [{"Partition": p, "CurrentLeaderEpoch": c, "LeaderEpoch": e}
                                            for p, c, e in partitions]}]})
        return r["Topics"][0]["Partitions"]
    cases = [("epoch 0", [(0, -1, 0)], NONE),
             ("epoch 0, CurrentLeaderEpoch 0", [(0, 0, 0)], NONE),
             ("epoch 5 (not yet)", [(0, -1, 5)], NONE),
             ("CurrentLeaderEpoch 7 (unknown)", [(0, 7, 0)], UNKNOWN_LEADER_EPOCH),
             ("unknown partition", [(4, -1, 0)], UNKNOWN_TOPIC_OR_PARTITION)]
    for label, parts, code in cases:
        k, g = (ofle(s, parts)[0] for s in pair.sides)
        d.expect(f"{label}: ErrorCode", code, k["ErrorCode"], g["ErrorCode"])
        d.eq(f"{label}: EndOffset", k["EndOffset"], g["EndOffset"])
        if version >= 1:
            d.eq(f"{label}: LeaderEpoch", k["LeaderEpoch"], g["LeaderEpoch"])
    k, g = (ofle(s, [(0, -1, 0)])[0] for s in pair.sides)
    d.expect("epoch 0: EndOffset == log end offset", 3, k["EndOffset"], g["EndOffset"])
    k, g = (ofle(s, [(0, -1, 0)], topic=name + "-unknown")[0] for s in pair.sides)
    d.expect("unknown topic: ErrorCode", UNKNOWN_TOPIC_OR_PARTITION, k["ErrorCode"], g["ErrorCode"])
    d.check()


@pytest.mark.parametrize("version", [0, 1])
def test_describe_cluster(pair, version):
    d = Diffs(f"DescribeCluster v{version}")
    out = {s.name: s.send("DescribeCluster", version, {"IncludeClusterAuthorizedOperations": False,
                                                       "EndpointType": 1}) for s in pair.sides}
    for s in pair.sides:
        r = out[s.name]
        if r["ErrorCode"] != NONE:
            d.add(f"{s.name}: ErrorCode {r['ErrorCode']} {r['ErrorMessage']!r}")
        if not r["ClusterId"]:
            d.add(f"{s.name}: empty ClusterId")
        if r["ControllerId"] != s.node_id:
            d.add(f"{s.name}: ControllerId {r['ControllerId']} != broker id {s.node_id}")
        brokers = [(b["BrokerId"], b["Host"], b["Port"], b["Rack"]) for b in r["Brokers"]]
        if brokers != [(s.node_id, s.host, s.port, None)]:
            d.add(f"{s.name}: Brokers {brokers}, expected [({s.node_id}, {s.host!r}, {s.port}, None)]")
    k, g = out["kafka"], out["gregor"]
    d.eq("ClusterAuthorizedOperations", k["ClusterAuthorizedOperations"], g["ClusterAuthorizedOperations"])
    if version >= 1:
        d.eq("EndpointType", k["EndpointType"], g["EndpointType"])
        # a broker asked for controller endpoints
        k, g = (s.send("DescribeCluster", 1, {"EndpointType": 2}) for s in pair.sides)
        d.eq("EndpointType=2 (controller) ErrorCode", k["ErrorCode"], g["ErrorCode"])
        d.presence("EndpointType=2 ErrorMessage", k["ErrorMessage"], g["ErrorMessage"])
        d.eq("EndpointType=2 Brokers", k["Brokers"], g["Brokers"])
    d.check()


@pytest.mark.parametrize("version", [4, 11, 12, 17])
def test_fetch_limits_cut_like_kafka(pair, version, request):
    """The byte limits cut an answer where Kafka cuts it: at exactly PartitionMaxBytes or the
    remaining MaxBytes, even inside a batch (the client drops the partial batch and fetches it
    again), but never below one whole first batch (KIP-74)."""
    name = topic_of(request)
    ids = pair.create_topic(name, partitions=2)
    batch = build_record_batch([(f"k{i}", "v" * 200) for i in range(5)], base_timestamp=1700000000000)
    size = len(batch)
    for p in (0, 1):
        for _ in range(4):
            pair.produce(name, batch, partition=p)
    d = Diffs(f"Fetch v{version} byte limits ({size}-byte batches)")

    def fetch(side, max_bytes, part_max):
        body = _fetch_body(name, ids[side.name], 0)
        body["MaxBytes"] = max_bytes
        t = body["Topics"][0]
        t["Partitions"] = [dict(t["Partitions"][0], Partition=p, PartitionMaxBytes=part_max) for p in (0, 1)]
        r = side.send("Fetch", version, body)
        return {q["PartitionIndex"]: len(q["Records"] or b"") for q in r["Responses"][0]["Partitions"]}

    cases = [
        ("partition limit inside the third batch", 1 << 20, size * 2 + size // 2),
        ("partition limit below one batch", 1 << 20, size // 3),
        ("response limit inside the second partition's first batch", size + size // 2, 1 << 20),
        ("everything", 1 << 20, 1 << 20),
    ]
    for label, max_bytes, part_max in cases:
        if version < 3:
            max_bytes = 1 << 20
        k, g = fetch(pair.kafka, max_bytes, part_max), fetch(pair.gregor, max_bytes, part_max)
        d.eq(f"{label}: Records bytes per partition", k, g)
    d.check()


@pytest.mark.parametrize("version", [9, 12, 13, 17])
def test_fetch_current_leader_epoch(pair, version, request):
    """Fetch v9+ carries the client's CurrentLeaderEpoch: a newer epoch than the leader's is
    UNKNOWN_LEADER_EPOCH with no offsets and no records; the current one (or -1, no check)
    reads normally. Sessionless and in a new fetch session."""
    name = topic_of(request)
    ids = pair.create_topic(name)
    pair.produce(name, build_record_batch([("a", "1"), ("b", "2")]))
    d = Diffs(f"Fetch v{version} CurrentLeaderEpoch")
    for label, epoch, code in [("epoch 5 (newer than the leader's 0)", 5, UNKNOWN_LEADER_EPOCH),
                               ("epoch 0 (current)", 0, NONE), ("epoch -1 (no check)", -1, NONE)]:
        for session in (False, True):
            res = []
            for s in pair.sides:
                body = _fetch_body(name, ids[s.name], 0, epoch=0 if session else -1)
                body["Topics"][0]["Partitions"][0]["CurrentLeaderEpoch"] = epoch
                with s.fresh() as c:
                    res.append(_fetch_partition(c.send("Fetch", version, body)))
            k, g = res
            _compare_fetch_partition(d, f"{label}{' in a session' if session else ''}", version, k, g, code)
    d.check()
