"""Gregor's Kafka framing, raw: ApiVersions at every version, the unsupported-version answer,
pipelined requests answered in order, hostile or broken input that must cost only its own
connection, and a thousand concurrent connections.

Every hostile-input case ends the same way: the broker process is still alive and a NEW
connection still gets a correct ApiVersions answer."""

from __future__ import annotations

import random
import resource
import selectors
import socket
import struct
import time

import pytest

from helpers import unique_name, wait_until
from kafka_wire import (API_VERSIONS, KafkaConnection, api_versions, api_versions_request_body,
                        encode_request, fetch_request_v4, metadata_request_v4, parse_api_versions,
                        parse_fetch_v4, parse_metadata_v4, read_frame_or_close)

PRODUCE, FETCH, LIST_OFFSETS, METADATA = 0, 1, 2, 3

# What Gregor serves today (api key -> (min, max)); later waves may add keys but must keep these.
OUR_RANGES = {
    0: (0, 11),   # Produce
    1: (0, 17),   # Fetch (v0-3 down-converted, test_fetch_downconvert.py)
    2: (0, 9),    # ListOffsets
    3: (0, 12),   # Metadata
    18: (0, 4),   # ApiVersions
    19: (0, 7),   # CreateTopics
    20: (0, 6),   # DeleteTopics
    22: (0, 5),   # InitProducerId
    23: (0, 4),   # OffsetForLeaderEpoch
    32: (0, 4),   # DescribeConfigs
    37: (0, 3),   # CreatePartitions
    60: (0, 1),   # DescribeCluster
}

UNSUPPORTED_VERSION = 35


def assert_our_ranges(versions: dict[int, tuple[int, int]]) -> None:
    wrong = {k: (versions.get(k), want) for k, want in OUR_RANGES.items() if versions.get(k) != want}
    assert not wrong, f"advertised ranges differ from ours (key: (got, want)): {wrong}"
    for k, (lo, hi) in versions.items():
        assert 0 <= lo <= hi, f"api {k}: bad range {lo}..{hi}"


def assert_broker_healthy(broker) -> None:
    """The process is alive and a brand-new connection gets a correct ApiVersions v0 answer."""
    assert broker.running(), f"broker process exited (code {broker.proc.returncode})"
    res = api_versions(broker.host, broker.port, timeout=5)
    assert res.error_code == 0
    assert_our_ranges(res.versions)


def request_api_versions(conn: KafkaConnection, version: int):
    body = conn.request(API_VERSIONS, version, api_versions_request_body(version), flexible=version >= 3)
    return parse_api_versions(body, version)


# --------------------------------------------------------------------------- ApiVersions


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4])
def test_api_versions_every_version(broker, version):
    with KafkaConnection(broker.host, broker.port) as conn:
        res = request_api_versions(conn, version)
    assert res.error_code == 0
    assert_our_ranges(res.versions)
    if version >= 1:
        assert res.throttle_time_ms == 0


def test_api_versions_same_answer_at_v0_and_v3(broker):
    with KafkaConnection(broker.host, broker.port) as conn:
        v0 = request_api_versions(conn, 0)
        v3 = request_api_versions(conn, 3)
    assert v0.error_code == v3.error_code == 0
    assert v0.versions == v3.versions


def test_api_versions_with_null_client_id(broker):
    with KafkaConnection(broker.host, broker.port, client_id=None) as conn:
        res = request_api_versions(conn, 0)
        res3 = request_api_versions(conn, 3)
    assert res.error_code == 0 and res3.error_code == 0
    assert_our_ranges(res.versions)


@pytest.mark.parametrize("version", [5, 99])
def test_api_versions_unsupported_version_answers_v0_body(broker, version):
    with KafkaConnection(broker.host, broker.port) as conn:
        # ApiVersions v3+ requests use request header v2; the response header is always v0
        body = conn.request(API_VERSIONS, version, api_versions_request_body(3), flexible=True)
        res = parse_api_versions(body, 0)  # exactly a v0 body, no trailing bytes
        assert res.error_code == UNSUPPORTED_VERSION
        # Kafka lists only ApiVersions' own range here (KIP-511); listing every api is fine too,
        # as long as what is listed is true
        assert res.versions.get(API_VERSIONS) == OUR_RANGES[API_VERSIONS]
        wrong = {k: v for k, v in res.versions.items() if k in OUR_RANGES and v != OUR_RANGES[k]}
        assert not wrong, f"wrong ranges in the UNSUPPORTED_VERSION answer: {wrong}"
        # librdkafka then retries on the same connection at our highest version
        again = request_api_versions(conn, res.versions[API_VERSIONS][1])
        assert again.error_code == 0
    assert_broker_healthy(broker)


def test_api_versions_unsupported_version_matches_kafka(broker, kafka_ref):
    answers = {}
    for name, port in (("gregor", broker.port), ("kafka", kafka_ref.port)):
        with KafkaConnection("127.0.0.1", port) as conn:
            body = conn.request(API_VERSIONS, 99, api_versions_request_body(3), flexible=True)
            res = parse_api_versions(body, 0)
            answers[name] = res.error_code
            assert res.versions[API_VERSIONS][1] >= 3
    assert answers["gregor"] == answers["kafka"] == UNSUPPORTED_VERSION


# --------------------------------------------------------------------------- pipelining


def test_pipelined_requests_answered_in_order(broker):
    rng = random.Random(7)
    corr_ids = rng.sample(range(1, 2_000_000_000), 50)
    plan = []  # (corr, api_key, version)
    payload = b""
    for i, corr in enumerate(corr_ids):
        if i % 5 == 4:
            # Metadata v1, topics = null (all topics): a different handler in the same pipeline
            plan.append((corr, METADATA, 1))
            payload += encode_request(METADATA, 1, corr, struct.pack(">i", -1))
        else:
            v = i % 5
            plan.append((corr, API_VERSIONS, v))
            payload += encode_request(API_VERSIONS, v, corr, api_versions_request_body(v), flexible=v >= 3)
    with KafkaConnection(broker.host, broker.port, timeout=10) as conn:
        conn.sock.sendall(payload)  # all 50 at once
        got = []
        for corr, key, v in plan:
            frame = conn.recv_frame()
            (got_corr,) = struct.unpack_from(">i", frame, 0)
            got.append(got_corr)
            if key == API_VERSIONS and got_corr == corr:
                res = parse_api_versions(frame[4:], v)
                assert res.error_code == 0, f"corr {corr}: error {res.error_code}"
                assert_our_ranges(res.versions)
    assert got == [p[0] for p in plan], "responses not in request order"


def test_request_sent_one_byte_at_a_time(broker):
    frame = encode_request(API_VERSIONS, 0, 4242)
    with socket.create_connection((broker.host, broker.port), timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(frame)):
            s.sendall(frame[i:i + 1])
        kind, data = read_frame_or_close(s, 10)
    assert kind == "frame", f"no answer to a byte-by-byte request ({kind}, {data!r})"
    assert struct.unpack_from(">i", data, 0)[0] == 4242
    assert parse_api_versions(data[4:], 0).error_code == 0


# --------------------------------------------------------------------------- hostile input


def _garbage(seed: int, n: int) -> bytes:
    return random.Random(seed).randbytes(n)


BAD_INPUTS = {
    # first byte 0x7f: the size prefix reads as ~2 GB, then noise
    "random_garbage": b"\x7f" + _garbage(1, 4095),
    "negative_size": struct.pack(">i", -16) + _garbage(2, 64),
    "size_minus_one": struct.pack(">i", -1),
    "zero_size": struct.pack(">i", 0),
    "size_over_socket_request_max_bytes": struct.pack(">i", 200_000_000) + _garbage(3, 4096),
    "header_shorter_than_fixed_part": struct.pack(">i", 3) + b"\x00\x12\x00",
    "unknown_api_key_999": encode_request(999, 0, 77),
    "negative_api_key": encode_request(-5, 0, 77),
    "metadata_unsupported_version_99": encode_request(METADATA, 99, 77, b"\x00\x00", flexible=True),
    "fetch_v0_garbage_body": encode_request(FETCH, 0, 77, _garbage(4, 40)),
    "fetch_below_min_version": encode_request(FETCH, -1, 77, _garbage(4, 40)),
    "metadata_garbage_body": encode_request(METADATA, 1, 77, b"\x7f\xff\xff\xff" + _garbage(5, 300)),
    "produce_garbage_body": encode_request(PRODUCE, 9, 77, _garbage(6, 500), flexible=True),
    "api_versions_v3_garbage_body": encode_request(API_VERSIONS, 3, 77, b"\xff\xff\xff\xff\x0f" + _garbage(7, 50),
                                                   flexible=True),
    "client_id_longer_than_frame": struct.pack(">i", 12) + struct.pack(">hhih", 18, 0, 77, 5000)
                                   + b"ab",
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_costs_only_its_connection(broker, case):
    payload = BAD_INPUTS[case]
    with socket.create_connection((broker.host, broker.port), timeout=10) as s:
        try:
            s.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed while we were still sending: fine
        kind, data = read_frame_or_close(s, 10)
        if kind == "frame":
            # an error answer is acceptable; it must at least carry the request's correlation id
            assert len(data) >= 4 and struct.unpack_from(">i", data, 0)[0] == 77, \
                f"{case}: answered with a frame that is not ours: {data[:64]!r}"
        else:
            assert kind == "closed", f"{case}: connection neither closed nor answered within 10 s"
    assert_broker_healthy(broker)


def test_broken_inputs_match_kafka(broker, kafka_ref):
    """Unknown api key and an unsupported non-ApiVersions version: Kafka closes the connection;
    Gregor must react the same way (both close, or both answer)."""
    cases = ["unknown_api_key_999", "metadata_unsupported_version_99", "metadata_garbage_body",
             "size_over_socket_request_max_bytes", "negative_size"]
    outcome = {}
    for name, port in (("gregor", broker.port), ("kafka", kafka_ref.port)):
        for case in cases:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                try:
                    s.sendall(BAD_INPUTS[case])
                except (BrokenPipeError, ConnectionResetError):
                    pass
                outcome[(name, case)] = read_frame_or_close(s, 10)[0]
    diff = {c: (outcome[("gregor", c)], outcome[("kafka", c)]) for c in cases
            if outcome[("gregor", c)] != outcome[("kafka", c)]}
    assert not diff, f"(gregor, kafka) outcome differs: {diff}"
    assert_broker_healthy(broker)


def test_truncated_frame_then_close(broker):
    frame = encode_request(API_VERSIONS, 0, 5)
    for cut in (1, 3, 4, 7, len(frame) - 1):
        with socket.create_connection((broker.host, broker.port), timeout=5) as s:
            s.sendall(frame[:cut])
        # same thing, but with a reset instead of an orderly close
        s2 = socket.create_connection((broker.host, broker.port), timeout=5)
        s2.sendall(frame[:cut])
        s2.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s2.close()
    # a frame announcing 100 bytes with only 50 sent, then closed
    with socket.create_connection((broker.host, broker.port), timeout=5) as s:
        s.sendall(struct.pack(">i", 100) + _garbage(8, 50))
    assert_broker_healthy(broker)


def test_half_frame_then_stall_does_not_block_others(broker):
    frame = encode_request(API_VERSIONS, 0, 31337)
    half = len(frame) // 2
    with socket.create_connection((broker.host, broker.port), timeout=10) as stalled:
        stalled.sendall(frame[:half])
        # while that connection stalls mid-frame, others are served
        for _ in range(5):
            assert_broker_healthy(broker)
        # a big announced frame that never arrives must not block anyone either
        with socket.create_connection((broker.host, broker.port), timeout=10) as big:
            big.sendall(struct.pack(">i", 50_000_000) + _garbage(9, 1000))
            assert_broker_healthy(broker)
        # the stalled request, completed, is answered normally
        stalled.sendall(frame[half:])
        kind, data = read_frame_or_close(stalled, 10)
        assert kind == "frame", f"completed request not answered ({kind})"
        assert struct.unpack_from(">i", data, 0)[0] == 31337
        assert parse_api_versions(data[4:], 0).error_code == 0
    assert_broker_healthy(broker)


# --------------------------------------------------------------------------- many connections


def _raise_nofile(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        new = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < need:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {need}")


def test_1000_concurrent_connections(broker):
    n = 1000
    _raise_nofile(n + 512)
    addr = (broker.host, broker.port)
    sel = selectors.DefaultSelector()
    socks: list[socket.socket] = []
    states: dict[int, dict] = {}
    pending = list(range(n))
    connecting = 0
    answered = 0
    failures: list[str] = []
    deadline = time.monotonic() + 30
    try:
        while answered + len(failures) < n:
            # at most 200 handshakes in flight (the listen backlog), all connections stay open
            while pending and connecting < 200:
                i = pending.pop()
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                socks.append(s)
                err = s.connect_ex(addr)
                if err not in (0, 115):  # EINPROGRESS
                    failures.append(f"conn {i}: connect errno {err}")
                    continue
                states[i] = {"phase": "connect", "out": encode_request(API_VERSIONS, 0, 100_000 + i), "in": b""}
                sel.register(s, selectors.EVENT_WRITE, (i, s))
                connecting += 1
            if time.monotonic() > deadline:
                break
            for key, _ev in sel.select(timeout=1.0):
                i, s = key.data
                st = states[i]
                try:
                    if st["phase"] == "connect":
                        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        connecting -= 1
                        st["phase"] = "send"
                        if err:
                            raise OSError(err, "connect failed")
                    if st["phase"] == "send":
                        sent = s.send(st["out"])
                        st["out"] = st["out"][sent:]
                        if not st["out"]:
                            st["phase"] = "recv"
                            sel.modify(s, selectors.EVENT_READ, (i, s))
                        continue
                    if st["phase"] == "recv":
                        chunk = s.recv(65536)
                        if not chunk:
                            raise OSError("closed by broker before answering")
                        st["in"] += chunk
                        buf = st["in"]
                        if len(buf) >= 4 and len(buf) >= 4 + struct.unpack_from(">i", buf, 0)[0]:
                            frame = buf[4:4 + struct.unpack_from(">i", buf, 0)[0]]
                            corr = struct.unpack_from(">i", frame, 0)[0]
                            if corr != 100_000 + i:
                                raise OSError(f"correlation id {corr}")
                            res = parse_api_versions(frame[4:], 0)
                            if res.error_code != 0 or res.versions.get(API_VERSIONS) != OUR_RANGES[API_VERSIONS]:
                                raise OSError(f"bad answer {res}")
                            st["phase"] = "done"
                            sel.unregister(s)  # stays open until every connection is done
                            answered += 1
                except (OSError, struct.error) as e:
                    st["phase"] = "failed"
                    failures.append(f"conn {i}: {e}")
                    try:
                        sel.unregister(s)
                    except (KeyError, ValueError):
                        pass
        open_now = sum(1 for st in states.values() if st["phase"] == "done")
    finally:
        sel.close()
        for s in socks:
            s.close()
    assert not failures, f"{len(failures)} connections failed, first: {failures[:5]}"
    assert answered == n, f"only {answered}/{n} connections answered within 30 s"
    assert open_now == n
    assert_broker_healthy(broker)


# --------------------------------------------------------------------------- Fetch and Metadata, raw

OFFSET_OUT_OF_RANGE, UNKNOWN_TOPIC_OR_PARTITION = 1, 3


def _create_topic(bootstrap: str, topic: str, partitions: int = 1) -> None:
    """Creates the topic and waits until partition 0 serves fetches (right after creation Kafka
    answers NOT_LEADER_OR_FOLLOWER for a moment; clients retry)."""
    from test_broker_confluent import create_topic
    create_topic(bootstrap, topic, partitions)
    host, port = bootstrap.rsplit(":", 1)

    def fetchable():
        with KafkaConnection(host, int(port), timeout=10) as conn:
            body = conn.request(FETCH, 4, fetch_request_v4(topic, 0, 0, max_wait_ms=0))
        return parse_fetch_v4(body)[(topic, 0)]["error"] == 0
    wait_until(fetchable, timeout=15, message=f"{topic}-0 fetchable")


def test_fetch_on_empty_partition_waits_max_wait(broker, topic_name):
    _create_topic(broker.bootstrap, topic_name)
    with KafkaConnection(broker.host, broker.port, timeout=10) as conn:
        t0 = time.monotonic()
        body = conn.request(FETCH, 4, fetch_request_v4(topic_name, 0, 0, max_wait_ms=1000))
        elapsed = time.monotonic() - t0
    p = parse_fetch_v4(body)[(topic_name, 0)]
    assert p["error"] == 0 and p["high_watermark"] == 0 and not p["records"]
    assert 0.9 <= elapsed < 5, f"empty fetch with max_wait 1000 ms answered after {elapsed:.2f}s"


def test_long_poll_keeps_connection_order_and_blocks_no_one(broker, topic_name):
    """A waiting Fetch followed by ApiVersions on the same connection: the answers come in request
    order (Fetch first, after its wait); meanwhile other connections are served at once."""
    _create_topic(broker.bootstrap, topic_name)
    payload = (encode_request(FETCH, 4, 501, fetch_request_v4(topic_name, 0, 0, max_wait_ms=1500))
               + encode_request(API_VERSIONS, 0, 502))
    with KafkaConnection(broker.host, broker.port, timeout=10) as conn:
        t0 = time.monotonic()
        conn.sock.sendall(payload)
        t1 = time.monotonic()
        assert_broker_healthy(broker)  # another connection, while the fetch waits
        other = time.monotonic() - t1
        first = conn.recv_frame()
        waited = time.monotonic() - t0
        second = conn.recv_frame()
    assert other < 1.0, f"another connection waited {other:.2f}s behind a long poll"
    assert struct.unpack_from(">i", first, 0)[0] == 501, "ApiVersions answered before the earlier Fetch"
    assert struct.unpack_from(">i", second, 0)[0] == 502
    assert waited >= 1.4, f"fetch answered after {waited:.2f}s, before its max wait"
    assert parse_api_versions(second[4:], 0).error_code == 0


def test_fetch_errors(broker, topic_name):
    _create_topic(broker.bootstrap, topic_name)
    with KafkaConnection(broker.host, broker.port, timeout=10) as conn:
        t0 = time.monotonic()
        oor = parse_fetch_v4(conn.request(FETCH, 4, fetch_request_v4(topic_name, 0, 1000, max_wait_ms=3000)))
        elapsed = time.monotonic() - t0
        unknown = parse_fetch_v4(conn.request(FETCH, 4, fetch_request_v4(topic_name + "-nope", 0, 0,
                                                                         max_wait_ms=100)))
        bad_part = parse_fetch_v4(conn.request(FETCH, 4, fetch_request_v4(topic_name, 7, 0, max_wait_ms=100)))
    assert oor[(topic_name, 0)]["error"] == OFFSET_OUT_OF_RANGE
    assert elapsed < 2.5, f"an out-of-range fetch waited {elapsed:.2f}s (errors are answered at once)"
    assert unknown[(topic_name + "-nope", 0)]["error"] == UNKNOWN_TOPIC_OR_PARTITION
    assert bad_part[(topic_name, 7)]["error"] == UNKNOWN_TOPIC_OR_PARTITION


def _metadata_v4(port: int, topics, allow: bool) -> dict:
    with KafkaConnection("127.0.0.1", port, timeout=10) as conn:
        return parse_metadata_v4(conn.request(METADATA, 4, metadata_request_v4(topics, allow)))


def test_metadata_auto_create_matches_kafka(broker, kafka_ref):
    first = {}
    for name, port in (("gregor", broker.port), ("kafka", kafka_ref.port)):
        topic = unique_name("auto-md")
        md = _metadata_v4(port, [topic], True)
        first[name] = md["topics"][topic]["error"]

        def ready():
            t = _metadata_v4(port, [topic], True)["topics"][topic]
            return t["error"] == 0 and len(t["partitions"]) == 1 and \
                all(p["error"] == 0 and p["leader"] >= 0 for p in t["partitions"].values())
        wait_until(ready, timeout=15, message=f"{name}: auto-created {topic} with a leader")

        # not allowed: unknown topic, nothing created
        other = unique_name("no-auto-md")
        assert _metadata_v4(port, [other], False)["topics"][other]["error"] == UNKNOWN_TOPIC_OR_PARTITION
        assert other not in _metadata_v4(port, None, False)["topics"]
    # Kafka creates the topic asynchronously and first answers
    # UNKNOWN_TOPIC_OR_PARTITION (or LEADER_NOT_AVAILABLE); Gregor commits the
    # creation before answering, so its first answer already has the topic.
    # Clients handle both: they retry until the topic has a leader.
    assert first["kafka"] in (0, UNKNOWN_TOPIC_OR_PARTITION, 5), first
    assert first["gregor"] == 0, f"first Metadata answer for an auto-created topic: {first}"


def test_metadata_v4_describes_this_broker(broker, topic_name):
    _create_topic(broker.bootstrap, topic_name, 2)
    md = _metadata_v4(broker.port, None, False)
    assert [(b[0], b[1], b[2]) for b in md["brokers"]] == [(broker.node_id, broker.host, broker.port)]
    assert md["controller_id"] == broker.node_id
    assert md["cluster_id"]
    t = md["topics"][topic_name]
    assert t["error"] == 0 and sorted(t["partitions"]) == [0, 1]
    assert _metadata_v4(broker.port, [], False)["topics"] == {}  # empty list: no topics (v1+)


def test_idle_connection_closed_after_connections_max_idle_ms(broker_factory):
    """connections.max.idle.ms: a connection with nothing in flight is closed
    once idle that long; one that keeps talking stays open."""
    b = broker_factory(config={"connections.max.idle.ms": 1500})
    idle = socket.create_connection(("127.0.0.1", b.port), timeout=10)
    busy = KafkaConnection("127.0.0.1", b.port)
    idle.settimeout(10)
    start = time.monotonic()
    closed_after = None
    # Keep the busy connection active while waiting for the idle one to close.
    while time.monotonic() - start < 10:
        request_api_versions(busy, 0)
        idle.settimeout(0.2)
        try:
            if idle.recv(1) == b"":
                closed_after = time.monotonic() - start
                break
        except socket.timeout:
            pass
    assert closed_after is not None, "idle connection was not closed within 10 s"
    assert closed_after >= 1.0, f"closed after {closed_after:.2f}s, before the idle limit"
    request_api_versions(busy, 0)  # the active one is still served
    busy.close()
    idle.close()


def test_topic_deleted_during_long_poll(broker, topic_name):
    """A Fetch waiting on a partition whose topic is deleted answers at once
    (instead of at the end of its wait) and the broker stays healthy."""
    from confluent_kafka.admin import AdminClient
    _create_topic(broker.bootstrap, topic_name)
    with KafkaConnection(broker.host, broker.port, timeout=20) as conn:
        conn.sock.sendall(encode_request(FETCH, 4, 77, fetch_request_v4(topic_name, 0, 0, max_wait_ms=15000)))
        t0 = time.monotonic()
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.delete_topics([topic_name])[topic_name].result(10)
        frame = conn.recv_frame()
        elapsed = time.monotonic() - t0
    assert struct.unpack_from(">i", frame, 0)[0] == 77
    assert elapsed < 10, f"the waiting fetch answered only after {elapsed:.2f}s"
    assert_broker_healthy(broker)
