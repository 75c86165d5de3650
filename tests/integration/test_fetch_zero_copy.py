"""Fetch answers are sent from the segment files with sendfile(2) (zero copy). These tests make
the socket fill up in the middle of a record range, so the broker has to fall back to queued
copies and resume, and check that what arrives is exactly what was produced:

- a client with a tiny receive buffer pipelines several large fetches and an ApiVersions
  request before reading anything; every answer arrives whole, in order, CRCs intact;
- one fetch over several partitions (some empty, one unknown) while the socket is full;
- a segment removed by DeleteRecords while its bytes are still being sent: the answer is
  still complete, because the range holds the segment's file open;
- a client that disconnects in the middle of a large answer costs only its connection.
"""

from __future__ import annotations

import hashlib
import socket
import struct

from confluent_kafka import Producer

from helpers import unique_name, wait_until
from kafka_proto import KafkaClient, decode_response, encode_request, parse_record_batches
from test_retention import FAST, create_topic, deleted_files, segments

MIB = 1 << 20


def value_for(partition: int, i: int, size: int) -> bytes:
    """A value whose bytes depend on (partition, i), so a misplaced byte range shows."""
    seed = hashlib.sha256(f"{partition}/{i}".encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def produce_values(bootstrap: str, topic: str, partition: int, count: int, size: int) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.size": 512 * 1024,
                  "compression.type": "none", "enable.idempotence": False})
    for i in range(count):
        p.produce(topic, value=value_for(partition, i, size), key=str(i).encode(), partition=partition)
        if i % 500 == 499:
            p.poll(0)
    assert p.flush(30) == 0


def fetch_body(topic: str, parts: list[tuple[int, int]], max_bytes: int) -> dict:
    return {"ReplicaId": -1, "MaxWaitMs": 0, "MinBytes": 0, "MaxBytes": max_bytes, "IsolationLevel": 0,
            "SessionId": 0, "SessionEpoch": -1, "ForgottenTopicsData": [], "RackId": "",
            "Topics": [{"Topic": topic, "Partitions": [
                {"Partition": p, "FetchOffset": off, "PartitionMaxBytes": max_bytes,
                 "CurrentLeaderEpoch": -1, "LogStartOffset": -1} for p, off in parts]}]}


class SlowReader:
    """A connection whose receive buffer is a few KiB, so the broker's socket fills at once."""

    def __init__(self, host: str, port: int):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(60)
        self.sock.connect((host, port))
        self.corr = 0

    def send(self, api: str, version: int, body: dict | None) -> int:
        self.corr += 1
        payload = encode_request(api, version, body, self.corr, "zero-copy-test")
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)
        return self.corr

    def recv_exact(self, n: int) -> bytes:
        chunks = []
        while n:
            chunk = self.sock.recv(min(n, 65536))
            assert chunk, "broker closed the connection"
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def recv(self, api: str, version: int) -> tuple[int, dict]:
        (size,) = struct.unpack(">i", self.recv_exact(4))
        return decode_response(api, version, self.recv_exact(size))

    def close(self):
        self.sock.close()


def check_records(data: bytes, partition: int, first: int, size: int) -> int:
    """Every batch's CRC holds and every record is the one produced at its offset. Returns the
    offset after the last record."""
    batches = parse_record_batches(data)
    assert batches, "no record batch in the answer"
    nxt = first
    for b in batches:
        assert b["crcOk"], f"CRC mismatch in the batch at offset {b['baseOffset']}"
        for r in b["records"]:
            if r["offset"] < first:
                continue
            assert r["offset"] == nxt, f"offset {r['offset']} where {nxt} was expected"
            assert r["key"] == str(nxt).encode()
            assert r["value"] == value_for(partition, nxt, size), f"value of offset {nxt} differs"
            nxt += 1
    return nxt


def test_pipelined_large_fetches_to_a_full_socket(broker):
    topic = unique_name("zc")
    create_topic(broker.bootstrap, topic)
    size, count = 2000, 4000  # about 8 MiB in one partition
    produce_values(broker.bootstrap, topic, 0, count, size)

    c = SlowReader(broker.host, broker.port)
    try:
        # Nothing is read until all four requests are in: the broker's socket fills up during
        # the first answer and the rest must wait their turn.
        c1 = c.send("Fetch", 12, fetch_body(topic, [(0, 0)], 16 * MIB))
        c2 = c.send("ApiVersions", 3, {"ClientSoftwareName": "t", "ClientSoftwareVersion": "1"})
        c3 = c.send("Fetch", 12, fetch_body(topic, [(0, 1234)], 16 * MIB))
        c4 = c.send("Fetch", 4, fetch_body(topic, [(0, count - 1)], 16 * MIB))
        corr, r1 = c.recv("Fetch", 12)
        assert corr == c1
        p = r1["Responses"][0]["Partitions"][0]
        assert p["ErrorCode"] == 0 and p["HighWatermark"] == count
        assert len(p["Records"]) > 4 * MIB, "the answer should be large enough to fill the socket"
        assert check_records(p["Records"], 0, 0, size) == count
        corr, r2 = c.recv("ApiVersions", 3)
        assert corr == c2 and r2["ErrorCode"] == 0
        corr, r3 = c.recv("Fetch", 12)
        assert corr == c3
        assert check_records(r3["Responses"][0]["Partitions"][0]["Records"], 0, 1234, size) == count
        corr, r4 = c.recv("Fetch", 4)
        assert corr == c4
        assert check_records(r4["Responses"][0]["Partitions"][0]["Records"], 0, count - 1, size) == count
    finally:
        c.close()


def test_one_fetch_over_many_partitions_to_a_full_socket(broker):
    topic = unique_name("zcp")
    create_topic(broker.bootstrap, topic, partitions=4)
    size = 1500
    counts = {0: 1500, 1: 0, 2: 2500, 3: 700}
    for part, n in counts.items():
        if n:
            produce_values(broker.bootstrap, topic, part, n, size)
    c = SlowReader(broker.host, broker.port)
    try:
        c.send("Fetch", 11, fetch_body(topic, [(0, 0), (1, 0), (2, 100), (3, 0), (9, 0)], 32 * MIB))
        _, r = c.recv("Fetch", 11)
    finally:
        c.close()
    parts = {p["PartitionIndex"]: p for p in r["Responses"][0]["Partitions"]}
    assert parts[9]["ErrorCode"] == 3  # UNKNOWN_TOPIC_OR_PARTITION
    assert parts[1]["ErrorCode"] == 0 and not parts[1]["Records"]
    assert check_records(parts[0]["Records"], 0, 0, size) == counts[0]
    assert check_records(parts[2]["Records"], 2, 100, size) == counts[2]
    assert check_records(parts[3]["Records"], 3, 0, size) == counts[3]


def test_segment_deleted_while_its_bytes_are_in_flight(broker_factory):
    b = broker_factory(config=FAST)
    topic = unique_name("zcd")
    create_topic(b.bootstrap, topic, config={"segment.bytes": 8 * MIB})
    size = 2000
    hw = 4600
    produce_values(b.bootstrap, topic, 0, hw, size)   # over 9 MB: the first segment rolls
    wait_until(lambda: len(segments(b, topic)) >= 2, timeout=30, message="a second segment")

    c = SlowReader(b.host, b.port)
    try:
        c.send("Fetch", 12, fetch_body(topic, [(0, 0)], 16 * MIB))
        # The broker is now blocked on the full socket in the middle of the first segment.
        with KafkaClient(b.host, b.port) as admin:
            r = admin.send("DeleteRecords", 2, {"Topics": [{"Name": topic, "Partitions": [
                {"PartitionIndex": 0, "Offset": hw}]}], "TimeoutMs": 10000})
        assert r["Topics"][0]["Partitions"][0]["ErrorCode"] == 0
        wait_until(lambda: 0 not in segments(b, topic) and not deleted_files(b, topic), timeout=30,
                   message="the first segment's files unlinked")
        _, resp = c.recv("Fetch", 12)
    finally:
        c.close()
    p = resp["Responses"][0]["Partitions"][0]
    assert p["ErrorCode"] == 0
    last = check_records(p["Records"], 0, 0, size)
    assert last > 1000, "the answer should carry the whole first segment"


def test_client_gone_in_the_middle_of_an_answer(broker):
    topic = unique_name("zcg")
    create_topic(broker.bootstrap, topic)
    produce_values(broker.bootstrap, topic, 0, 3000, 2000)
    for _ in range(5):
        c = SlowReader(broker.host, broker.port)
        c.send("Fetch", 12, fetch_body(topic, [(0, 0)], 16 * MIB))
        c.recv_exact(1000)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()  # reset with most of the answer unsent
    assert broker.running(), "broker exited"
    with KafkaClient(broker.host, broker.port) as k:
        r = k.send("Fetch", 12, fetch_body(topic, [(0, 2999)], MIB))
    assert check_records(r["Responses"][0]["Partitions"][0]["Records"], 0, 2999, 2000) == 3000
