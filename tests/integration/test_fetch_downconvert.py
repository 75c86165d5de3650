"""Fetch v0-3: records stored as RecordBatch v2 come back in message format v0 (Fetch v0-1) or
v1 (Fetch v2-3), down-converted as Apache Kafka 3.9 does it (src/protocol/downconvert.c).

No differential test: Apache Kafka 4.x, the reference broker of test_differential.py, removed
Fetch v0-3 (KIP-896) and closes the connection on them. What Kafka 3.9 does was read from its
source (RecordsUtil.downConvert, LazyDownConversionRecords(Send), MemoryRecordsBuilder,
KafkaLZ4BlockOutputStream, KafkaApis.maybeConvertFetchedData, FetchParams.hardMaxBytesLimit)
and checked once by hand against an Apache Kafka 3.9.1 broker with the raw requests below:
uncompressed, snappy and lz4 answers were byte-identical (lz4's magic-0 header checksum
included), gzip ones differed only in the gzip stream bytes, and error codes, high watermarks
and cut points agreed; Kafka additionally pads an answer shorter than the bytes it read with an
"overflow" message (offset -1, a size past the end), which Gregor leaves out.

Records are written by a modern client (confluent-kafka: none/gzip/snappy/lz4/zstd, keys, null
keys, null values, headers, explicit timestamps) and read back by
  - kafka-python 2.0.2 forced old: api_version (0, 8, 2) -> Fetch v0, (0, 9) -> v1 (magic 0),
    (0, 10, 0) -> v2 (magic 1);
  - kcat 1.7.1 / librdkafka 2.0.2 with api.version.request=false and broker.version.fallback
    0.8.2.2 -> Fetch v0, 0.9.0.1 -> v1. librdkafka cannot be made to send Fetch v2/v3: for a
    fallback of 0.10 or later rd_kafka_new() turns api.version.request back on (the fallback
    says the broker can answer ApiVersions), and then it uses Fetch v11
    (test_librdkafka_fallback_0_10_negotiates_anyway shows it);
  - raw Fetch v0-v3 requests (kafka_proto.py) whose legacy message sets are decoded here
    independently: sizes, CRC-32s, magic, attributes, offsets, timestamps, wrapper messages and
    their compressed inner message sets (including Kafka's lz4 header checksum for magic 0).
Which Fetch versions the clients really send is recorded by a TCP proxy in front of the broker
(the broker advertises the proxy's address, so every client connection goes through it).
"""

from __future__ import annotations

import gzip
import json
import shutil
import socket
import struct
import subprocess
import threading
import time
import zlib

import pytest
from confluent_kafka import Producer

from helpers import wait_until
from kafka_proto import KafkaClient
from test_broker_confluent import create_topic

FETCH = 1
NONE, CORRUPT_MESSAGE, UNSUPPORTED_COMPRESSION_TYPE = 0, 2, 76
CODEC_IDS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
LOG_APPEND_TIME_BIT = 0x08

# --------------------------------------------------------------------------- proxy


class RecordingProxy:
    """Forwards 127.0.0.1:<port> to the broker and records (api_key, api_version) of every request."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.requests: list[tuple[int, int]] = []
        self.lock = threading.Lock()
        self.socks: list[socket.socket] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def fetch_versions(self) -> set[int]:
        with self.lock:
            return {v for k, v in self.requests if k == FETCH}

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.lsock.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.socks += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, requests: bool):
        buf = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if requests:
                    buf += data
                    while len(buf) >= 8:
                        (size,) = struct.unpack_from(">i", buf, 0)
                        if len(buf) < 4 + size:
                            break
                        key, ver = struct.unpack_from(">hh", buf, 4)
                        with self.lock:
                            self.requests.append((key, ver))
                        buf = buf[4 + size:]
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.closed = True
        self.lsock.close()
        with self.lock:
            for s in self.socks:
                s.close()


@pytest.fixture
def proxied(broker_factory):
    """(broker, proxy): the broker advertises the proxy, so clients talk through it."""
    from kafka_wire import free_port
    port = free_port()
    proxy = RecordingProxy(port)
    broker = broker_factory(port=port, config={"advertised.listeners": f"PLAINTEXT://127.0.0.1:{proxy.port}"})
    yield broker, proxy
    proxy.close()


# --------------------------------------------------------------------------- producing

N = 30  # records per topic, in three batches of 10


def record_for(i: int):
    key = None if i % 6 == 1 else f"key-{i}".encode()
    value = None if i % 7 == 3 else (f"value-{i}-" + "x" * (20 * (i % 5))).encode()
    return key, value


def produce(bootstrap: str, topic: str, compression: str, n: int = N, ts0: int | None = None,
            partition: int = 0) -> list[dict]:
    """n records in batches of 10 (a flush between them); returns what was stored, in offset
    order: {offset, key, value, timestamp}. Every record carries headers (which v0/v1 drop)."""
    ts0 = ts0 if ts0 is not None else int(time.time() * 1000) - 60_000
    p = Producer({"bootstrap.servers": bootstrap, "compression.type": compression, "linger.ms": 100,
                  "acks": "all"})
    out, errors = [], []

    def cb(err, msg):
        if err is not None:
            errors.append(err)
        else:
            out.append({"offset": msg.offset(), "key": msg.key(), "value": msg.value(),
                        "timestamp": msg.timestamp()[1]})

    for i in range(n):
        key, value = record_for(i)
        p.produce(topic, key=key, value=value, headers=[("h", f"{i}".encode()), ("null", None)],
                  timestamp=ts0 + i, partition=partition, on_delivery=cb)
        if i % 10 == 9:
            p.flush(20)
    p.flush(20)
    assert not errors, errors
    assert len(out) == n
    return sorted(out, key=lambda r: r["offset"])


# --------------------------------------------------------------------------- legacy message sets


def _lz4_decode(data: bytes, magic: int) -> bytes:
    import lz4.frame
    import xxhash
    flg = data[4]
    assert not flg & 0x08, "no content size expected"
    broken = (xxhash.xxh32(data[0:6]).intdigest() >> 8) & 0xFF
    proper = (xxhash.xxh32(data[4:6]).intdigest() >> 8) & 0xFF
    # Kafka's KafkaLZ4BlockOutputStream: magic 0 hashes the magic bytes too (the "broken"
    # checksum old clients expect); magic 1 follows the lz4 frame spec.
    assert data[6] == (broken if magic == 0 else proper), f"lz4 header checksum for magic {magic}"
    return lz4.frame.decompress(data[:6] + bytes([proper]) + data[7:])


def _snappy_decode(data: bytes) -> bytes:
    import snappy
    if data[:8] == b"\x82SNAPPY\x00":  # xerial framing, as Kafka's SnappyOutputStream writes
        out, pos = b"", 16
        while pos < len(data):
            (n,) = struct.unpack_from(">i", data, pos)
            out += snappy.uncompress(data[pos + 4:pos + 4 + n])
            pos += 4 + n
        return out
    return snappy.uncompress(data)


def decompress(codec: int, data: bytes, magic: int) -> bytes:
    if codec == 1:
        return gzip.decompress(data)
    if codec == 2:
        return _snappy_decode(data)
    if codec == 3:
        return _lz4_decode(data, magic)
    raise AssertionError(f"codec {codec} in a legacy message")


def parse_message_set(data: bytes, magic: int) -> tuple[list[dict], list[dict], int]:
    """Decodes a legacy message set: (records, wrappers, trailing partial bytes). Every CRC-32,
    size and magic byte is checked; a wrapper's inner set is decompressed and its offsets made
    absolute (magic 1: relative to the wrapper's offset, which is the last inner one).
    Record: {offset, key, value, timestamp (magic 1), attributes}."""
    records, wrappers = [], []
    pos = 0
    while len(data) - pos >= 12:
        offset, size = struct.unpack_from(">qi", data, pos)
        if pos + 12 + size > len(data):
            break
        m = data[pos + 12:pos + 12 + size]
        (crc,) = struct.unpack_from(">I", m, 0)
        assert crc == zlib.crc32(m[4:]) & 0xFFFFFFFF, f"CRC-32 of the message at {offset}"
        assert m[4] == magic, f"magic {m[4]} at offset {offset}, expected {magic}"
        attrs = m[5]
        q = 6
        ts = None
        if magic == 1:
            (ts,) = struct.unpack_from(">q", m, q)
            q += 8
        (kl,) = struct.unpack_from(">i", m, q)
        key = None if kl < 0 else m[q + 4:q + 4 + kl]
        q += 4 + max(kl, 0)
        (vl,) = struct.unpack_from(">i", m, q)
        value = None if vl < 0 else m[q + 4:q + 4 + vl]
        q += 4 + max(vl, 0)
        assert q == size, f"message at {offset}: fields take {q} of {size} bytes"
        codec = attrs & 0x07
        if codec == 0:
            records.append({"offset": offset, "key": key, "value": value, "timestamp": ts, "attributes": attrs})
        else:
            assert key is None
            inner, inner_wrappers, rest = parse_message_set(decompress(codec, value, magic), magic)
            assert not inner_wrappers and rest == 0
            if magic == 1:
                last = inner[-1]["offset"]
                for r in inner:
                    r["offset"] = offset - last + r["offset"]
            assert inner[-1]["offset"] == offset, "wrapper offset is the last inner offset"
            wrappers.append({"offset": offset, "attributes": attrs, "timestamp": ts, "count": len(inner),
                             "inner_timestamps": [r["timestamp"] for r in inner]})
            records.extend(inner)
        pos += 12 + size
    return records, wrappers, len(data) - pos


def fetch_body(topic: str, offset: int, partition_max: int = 1 << 20, max_bytes: int = 1 << 24,
               partitions=(0,)) -> dict:
    return {"ReplicaId": -1, "MaxWaitMs": 0, "MinBytes": 0, "MaxBytes": max_bytes,
            "Topics": [{"Topic": topic, "Partitions": [{"Partition": p, "FetchOffset": offset,
                                                        "PartitionMaxBytes": partition_max}
                                                       for p in partitions]}]}


def fetch(bootstrap: str, version: int, topic: str, offset: int, **kw) -> dict:
    host, port = bootstrap.split(":")
    with KafkaClient(host, int(port)) as c:
        resp = c.send("Fetch", version, fetch_body(topic, offset, **kw))
    assert len(resp["Responses"]) == 1
    return resp["Responses"][0]["Partitions"][0]


def magic_of(version: int) -> int:
    return 0 if version <= 1 else 1


def check_records(got: list[dict], want: list[dict], magic: int, log_append_time: int | None = None):
    """got (parsed legacy records) against what was produced: offsets, keys, values, and for
    magic 1 the timestamps and the timestamp-type bit; headers are gone by construction."""
    assert [r["offset"] for r in got] == [w["offset"] for w in want]
    for r, w in zip(got, want):
        assert (r["key"], r["value"]) == (w["key"], w["value"]), f"offset {w['offset']}"
        if magic == 1:
            assert r["timestamp"] == (log_append_time if log_append_time is not None else w["timestamp"])
            assert r["attributes"] == (LOG_APPEND_TIME_BIT if log_append_time is not None else 0)
        else:
            assert r["attributes"] == 0


# --------------------------------------------------------------------------- raw Fetch v0-3


def fetch_all(bootstrap: str, version: int, topic: str, start: int, end: int) -> tuple[list, list]:
    """Reads [start, end) the way a client does: fetch, keep the complete messages, go on after
    the last one. Every answer must make progress. Returns (records, wrappers)."""
    records, wrappers = [], []
    offset = start
    while offset < end:
        p = fetch(bootstrap, version, topic, offset)
        assert p["ErrorCode"] == NONE and p["HighWatermark"] == end
        got, ws, _rest = parse_message_set(p["Records"], magic_of(version))
        got = [r for r in got if r["offset"] >= offset]  # a wrapper may start before it
        assert got, f"v{version} at {offset}: no complete message"
        records += got
        wrappers += ws
        offset = got[-1]["offset"] + 1
    return records, wrappers


@pytest.mark.parametrize("compression", ["none", "gzip", "snappy", "lz4"])
def test_raw_fetch_every_version(broker, topic_name, compression):
    create_topic(broker.bootstrap, topic_name, 1)
    want = produce(broker.bootstrap, topic_name, compression)
    for version in range(4):
        magic = magic_of(version)
        got, wrappers = fetch_all(broker.bootstrap, version, topic_name, 0, N)
        check_records(got, want, magic)
        if compression == "none":
            assert wrappers == []
        else:
            # one wrapper per produced batch, carrying the codec; magic 1: the max timestamp
            assert [w["count"] for w in wrappers] == [10, 10, 10]
            for w in wrappers:
                assert w["attributes"] == CODEC_IDS[compression]
                if magic == 1:
                    assert w["timestamp"] == max(w["inner_timestamps"])
        # the log end: no records, no error, no stub
        p = fetch(broker.bootstrap, version, topic_name, N)
        assert (p["ErrorCode"], p["HighWatermark"], p["Records"] or b"") == (NONE, N, b"")


@pytest.mark.parametrize("compression", ["none", "gzip"])
@pytest.mark.parametrize("version", [0, 3])
def test_raw_fetch_from_the_middle_of_a_batch(broker, topic_name, compression, version):
    """Kafka drops the records below the fetch offset from uncompressed batches while converting
    (an uncompressed v0/v1 message stands alone; some librdkafka versions rely on it); a
    compressed batch becomes one wrapper holding all its records, which the client skips."""
    create_topic(broker.bootstrap, topic_name, 1)
    want = produce(broker.bootstrap, topic_name, compression)
    got, _, _ = parse_message_set(fetch(broker.bootstrap, version, topic_name, 14)["Records"], magic_of(version))
    first = 14 if compression == "none" else 10
    assert got[0]["offset"] == first
    check_records(got, want[first:first + len(got)], magic_of(version))
    assert len(got) >= 20 - first  # at least the rest of that batch


def test_raw_fetch_log_append_time(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, 1, {"message.timestamp.type": "LogAppendTime"})
    for compression in ("none", "snappy"):
        before = int(time.time() * 1000)
        want = produce(broker.bootstrap, topic_name, compression, n=10)
        # the append time the broker stamped, as a modern client sees it
        append_time = want[0]["timestamp"]
        assert append_time >= before
        offset = want[0]["offset"]
        for version in (2, 3):
            got, wrappers = fetch_all(broker.bootstrap, version, topic_name, offset, offset + 10)
            check_records(got, want, 1, log_append_time=append_time)
            for w in wrappers:
                assert w["attributes"] == CODEC_IDS[compression] | LOG_APPEND_TIME_BIT
                assert w["timestamp"] == append_time
        # magic 0 has no timestamps and no timestamp type
        got, _ = fetch_all(broker.bootstrap, 1, topic_name, offset, offset + 10)
        check_records(got, want, 0)


def test_raw_fetch_zstd(broker, topic_name):
    """zstd has no magic 0/1 form: a zstd batch first in line answers UNSUPPORTED_COMPRESSION_TYPE
    (Kafka's RecordsUtil.downConvert throws UnsupportedCompressionTypeException, which KafkaApis
    turns into that error); after converted batches it ends the answer; v4+ read it as is."""
    create_topic(broker.bootstrap, topic_name, 1)
    want = produce(broker.bootstrap, topic_name, "gzip", n=10)
    want += produce(broker.bootstrap, topic_name, "zstd", n=10)
    for version in range(4):
        p = fetch(broker.bootstrap, version, topic_name, 0)
        assert p["ErrorCode"] == NONE
        got, _, rest = parse_message_set(p["Records"], magic_of(version))
        assert rest == 0  # the answer ends before the zstd batch, with no partial message
        check_records(got, want[:10], magic_of(version))
        p = fetch(broker.bootstrap, version, topic_name, 10)
        assert (p["ErrorCode"], p["HighWatermark"], p["Records"] or b"") == (UNSUPPORTED_COMPRESSION_TYPE, -1, b"")
    p = fetch(broker.bootstrap, 4, topic_name, 10)
    assert p["ErrorCode"] == NONE and len(p["Records"]) > 0


def test_raw_fetch_zstd_topic_config(broker, topic_name):
    """Kafka 3.9 answers UNSUPPORTED_COMPRESSION_TYPE for every partition of a topic whose
    compression.type is zstd when the Fetch version is below 10, even with nothing to convert.
    Kafka 4 dropped the rule together with Fetch v0-3, so Gregor keeps it for v0-3 only and
    serves v4-9 as the reference Kafka 4 does (test_differential.py)."""
    create_topic(broker.bootstrap, topic_name, 1, {"compression.type": "zstd"})
    for version in range(4):
        p = fetch(broker.bootstrap, version, topic_name, 0)
        assert (p["ErrorCode"], p["HighWatermark"]) == (UNSUPPORTED_COMPRESSION_TYPE, -1)
    produce(broker.bootstrap, topic_name, "none", n=5)  # recompressed to zstd by the broker
    for version in range(4):
        assert fetch(broker.bootstrap, version, topic_name, 0)["ErrorCode"] == UNSUPPORTED_COMPRESSION_TYPE
    p = fetch(broker.bootstrap, 4, topic_name, 0)
    assert p["ErrorCode"] == NONE and len(p["Records"]) > 0


def test_raw_fetch_size_limits(broker, topic_name):
    """The limits count stored (v2) bytes, as Kafka's readFromLog does before converting.
    v3: KIP-74, the first batch comes whole even past PartitionMaxBytes / MaxBytes, and a
    converted batch larger than what was read is still sent whole. v0-2: the partition limit is
    hard (FetchParams.hardMaxBytesLimit): a first batch larger than it gives no records."""
    create_topic(broker.bootstrap, topic_name, 2)
    produce(broker.bootstrap, topic_name, "none")  # small records: they grow when converted
    produce(broker.bootstrap, topic_name, "none", n=10, partition=1)
    bs = broker.bootstrap
    host, port = bs.split(":")
    with KafkaClient(host, int(port)) as c:
        v4 = c.send("Fetch", 4, {"ReplicaId": -1, "MaxWaitMs": 0, "MinBytes": 0, "MaxBytes": 1 << 24,
                                 "IsolationLevel": 0, "Topics": [{"Topic": topic_name, "Partitions": [
                                     {"Partition": 0, "FetchOffset": 0, "PartitionMaxBytes": 1 << 20}]}]})
    stored = v4["Responses"][0]["Partitions"][0]["Records"]
    first_size = 12 + struct.unpack_from(">i", stored, 8)[0]
    two = first_size + 12 + struct.unpack_from(">i", stored, first_size + 8)[0]
    assert len(stored) > two

    # v3, one byte allowed: the whole first batch, converted (larger than the stored batch)
    p = fetch(bs, 3, topic_name, 0, partition_max=1)
    got, _, rest = parse_message_set(p["Records"], 1)
    assert (len(got), rest) == (10, 0)
    assert len(p["Records"]) > first_size
    # v3, exactly the first stored batch allowed: the same
    p = fetch(bs, 3, topic_name, 0, partition_max=first_size)
    got, _, rest = parse_message_set(p["Records"], 1)
    assert (len(got), rest) == (10, 0)
    # v3, response MaxBytes 1: the first partition gets its first batch, the other nothing
    with KafkaClient(host, int(port)) as c:
        r = c.send("Fetch", 3, fetch_body(topic_name, 0, max_bytes=1, partitions=(0, 1)))
    parts = {x["PartitionIndex"]: x for x in r["Responses"][0]["Partitions"]}
    assert len(parse_message_set(parts[0]["Records"], 1)[0]) == 10
    assert (parts[1]["ErrorCode"], parts[1]["Records"] or b"") == (NONE, b"")
    # v3, room for two stored batches: the answer is cut at the stored size, which splits a
    # converted message of the second batch (clients drop the partial tail)
    p = fetch(bs, 3, topic_name, 0, partition_max=two)
    assert len(p["Records"]) == two
    got, _, rest = parse_message_set(p["Records"], 1)
    assert 10 < len(got) < 20 and rest > 0
    # v0-2: a hard limit; below the first batch nothing, at it the batch converted, whole
    for version in (0, 1, 2):
        p = fetch(bs, version, topic_name, 0, partition_max=first_size - 1)
        assert (p["ErrorCode"], p["Records"] or b"") == (NONE, b"")
        p = fetch(bs, version, topic_name, 0, partition_max=first_size)
        got, _, rest = parse_message_set(p["Records"], magic_of(version))
        assert (len(got), rest) == (10, 0)


def test_api_versions_advertise_fetch_0_to_17(broker):
    host, port = broker.bootstrap.split(":")
    with KafkaClient(host, int(port)) as c:
        resp = c.send("ApiVersions", 3, {"ClientSoftwareName": "t", "ClientSoftwareVersion": "1"})
    fetch_row = [a for a in resp["ApiKeys"] if a["ApiKey"] == FETCH][0]
    assert (fetch_row["MinVersion"], fetch_row["MaxVersion"]) == (0, 17)


# --------------------------------------------------------------------------- kafka-python


def kp_read(bootstrap: str, topic: str, api_version, start: int, count: int, timeout: float = 20) -> list:
    from kafka import KafkaConsumer, TopicPartition
    cons = KafkaConsumer(bootstrap_servers=bootstrap, api_version=api_version, group_id=None,
                         enable_auto_commit=False, request_timeout_ms=15000)
    out = []
    try:
        tp = TopicPartition(topic, 0)
        cons.assign([tp])
        cons.seek(tp, start)
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            for _tp, msgs in cons.poll(timeout_ms=300).items():
                out.extend(msgs)
    finally:
        cons.close()
    return out


KP_VERSIONS = {(0, 8, 2): 0, (0, 9): 1, (0, 10, 0): 2}


@pytest.mark.parametrize("compression", ["none", "gzip", "snappy", "lz4"])
@pytest.mark.parametrize("api_version", list(KP_VERSIONS), ids=lambda v: ".".join(map(str, v)))
def test_kafka_python_old_versions(proxied, topic_name, compression, api_version):
    broker, proxy = proxied
    create_topic(broker.bootstrap, topic_name, 1)
    want = produce(broker.bootstrap, topic_name, compression)
    proxy.clear()
    start = 13  # inside the second batch
    got = kp_read(f"127.0.0.1:{proxy.port}", topic_name, api_version, start, N - start)
    assert proxy.fetch_versions() == {KP_VERSIONS[api_version]}
    magic = magic_of(KP_VERSIONS[api_version])
    assert [(m.offset, m.key, m.value) for m in got] == [(w["offset"], w["key"], w["value"]) for w in want[start:]]
    for m, w in zip(got, want[start:]):
        assert list(m.headers or []) == []
        if magic == 1:
            assert (m.timestamp, m.timestamp_type) == (w["timestamp"], 0)
        else:
            assert (m.timestamp, m.timestamp_type) == (None, None)


def test_kafka_python_zstd_error(proxied, topic_name, caplog):
    """A zstd batch read through Fetch v2: the broker answers UNSUPPORTED_COMPRESSION_TYPE (76).
    kafka-python 2.0.2 does not know code 76: it maps it to UnknownError, logs a warning and
    keeps polling without records (its fetcher does not raise for UnknownError)."""
    import logging
    broker, proxy = proxied
    create_topic(broker.bootstrap, topic_name, 1)
    produce(broker.bootstrap, topic_name, "zstd", n=5)
    with caplog.at_level(logging.WARNING, logger="kafka.consumer.fetcher"):
        got = kp_read(f"127.0.0.1:{proxy.port}", topic_name, (0, 10, 0), 0, 5, timeout=5)
    assert got == []
    assert any("Unknown error fetching data" in r.getMessage() for r in caplog.records)
    assert proxy.fetch_versions() == {2}


# --------------------------------------------------------------------------- kcat / librdkafka

needs_kcat = pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat not installed")


def kcat_read(bootstrap: str, topic: str, fallback: str, start: int, count: int) -> list[dict]:
    cmd = ["kcat", "-b", bootstrap, "-X", "api.version.request=false", "-X", f"broker.version.fallback={fallback}",
           "-C", "-t", topic, "-p", "0", "-o", str(start), "-c", str(count), "-J", "-q"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stderr
    return [json.loads(line) for line in res.stdout.splitlines() if line.strip()]


KCAT_FALLBACKS = {"0.8.2.2": 0, "0.9.0.1": 1}


@needs_kcat
@pytest.mark.parametrize("compression", ["none", "gzip", "snappy", "lz4"])
@pytest.mark.parametrize("fallback", list(KCAT_FALLBACKS))
def test_kcat_old_versions(proxied, topic_name, compression, fallback):
    broker, proxy = proxied
    create_topic(broker.bootstrap, topic_name, 1)
    want = produce(broker.bootstrap, topic_name, compression)
    proxy.clear()
    start = 7
    got = kcat_read(f"127.0.0.1:{proxy.port}", topic_name, fallback, start, N - start)
    assert proxy.fetch_versions() == {KCAT_FALLBACKS[fallback]}
    enc = lambda b: None if b is None else b.decode()  # noqa: E731
    assert [(m["offset"], m["key"], m["payload"]) for m in got] == \
        [(w["offset"], enc(w["key"]), enc(w["value"])) for w in want[start:]]
    assert all("headers" not in m and "ts" not in m for m in got), got[:2]


@needs_kcat
def test_kcat_zstd_error(proxied, topic_name):
    """librdkafka reports the broker's UNSUPPORTED_COMPRESSION_TYPE for a zstd batch at Fetch v1."""
    broker, proxy = proxied
    create_topic(broker.bootstrap, topic_name, 1)
    produce(broker.bootstrap, topic_name, "zstd", n=5)
    proc = subprocess.Popen(["kcat", "-b", f"127.0.0.1:{proxy.port}", "-X", "api.version.request=false",
                             "-X", "broker.version.fallback=0.9.0.1", "-C", "-t", topic_name, "-p", "0",
                             "-o", "0", "-c", "5", "-J"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True).start()
    try:
        wait_until(lambda: any("compression" in ln.lower() for ln in lines), timeout=30,
                   message="kcat reporting the unsupported compression type")
    finally:
        proc.kill()
        proc.wait()
    assert proxy.fetch_versions() == {1}


@needs_kcat
def test_librdkafka_fallback_0_10_negotiates_anyway(proxied, topic_name):
    """Why kcat cannot test Fetch v2/v3: with broker.version.fallback 0.10.0.1 librdkafka sends
    ApiVersions despite api.version.request=false and then reads with a modern Fetch."""
    broker, proxy = proxied
    create_topic(broker.bootstrap, topic_name, 1)
    produce(broker.bootstrap, topic_name, "none", n=3)
    proxy.clear()
    got = kcat_read(f"127.0.0.1:{proxy.port}", topic_name, "0.10.0.1", 0, 3)
    assert len(got) == 3
    with proxy.lock:
        keys = {k for k, _ in proxy.requests}
    assert 18 in keys  # ApiVersions
    assert min(proxy.fetch_versions()) >= 4

