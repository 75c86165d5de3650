#!/usr/bin/env python3
"""Make the seed corpora of the fuzz targets in tests/fuzz/.

    python3 tests/fuzz/make_seeds.py [OUT_DIR]     (default tests/fuzz/corpus)

Writes OUT_DIR/frame/*.bin (request frames without the 4-byte size prefix:
RequestHeader then body, what fuzz_frame takes) and OUT_DIR/records/*.bin
(record batches, what fuzz_records takes).

Two sources:
  * real clients: a tiny fake broker on 127.0.0.1 records the frames that
    librdkafka (confluent-kafka) and kafka-python send. It answers
    ApiVersions and Metadata (itself as the only broker, leader of topic
    "t" partition 0) so the clients go on to send Produce with real record
    batches, compressed with each codec; the batches are also written to
    records/. Clients that are not installed are skipped.
  * hand-built frames and batches from the small encoder below
    (ApiVersions v0/v3, Metadata v1/v12, Produce v3/v9, Fetch v4/v12, and
    batches with headers, nulls, several records, transactional, control).

Only the Python standard library is needed for the second part.
"""

import os
import socket
import struct
import subprocess
import sys
import threading
import time

# ---- encoding primitives -------------------------------------------------


def i8(v): return struct.pack(">b", v)
def i16(v): return struct.pack(">h", v)
def i32(v): return struct.pack(">i", v)
def i64(v): return struct.pack(">q", v)


def uvarint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def varint(v):  # zigzag, 32 or 64 bit alike for our small values
    return uvarint((v << 1) ^ (v >> 63))


def string(s):
    if s is None:
        return i16(-1)
    b = s.encode()
    return i16(len(b)) + b


def cstring(s):
    if s is None:
        return uvarint(0)
    b = s.encode()
    return uvarint(len(b) + 1) + b


def bytes32(b):
    return i32(-1) if b is None else i32(len(b)) + b


def cbytes(b):
    return uvarint(0) if b is None else uvarint(len(b) + 1) + b


def array(items):
    return i32(-1) if items is None else i32(len(items)) + b"".join(items)


def carray(items):
    return uvarint(0) if items is None else uvarint(len(items) + 1) + b"".join(items)


TAGS0 = b"\x00"  # an empty tagged-field section

# ---- CRC-32C (Castagnoli), table driven ----------------------------------

_CRC_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


# ---- record batches --------------------------------------------------------


def record(index, ts_delta, key, value, headers=()):
    body = i8(0) + varint(ts_delta) + varint(index)
    body += varint(-1) if key is None else varint(len(key)) + key
    body += varint(-1) if value is None else varint(len(value)) + value
    body += varint(len(headers))
    for hk, hv in headers:
        body += varint(len(hk)) + hk
        body += varint(-1) if hv is None else varint(len(hv)) + hv
    return varint(len(body)) + body


def batch(records, base_ts=1700000000000, attributes=0, producer_id=-1, producer_epoch=-1,
          base_sequence=-1, base_offset=0, max_ts=None, leader_epoch=-1):
    """records: list of (ts_delta, key, value, headers)."""
    recs = b"".join(record(i, r[0], r[1], r[2], r[3] if len(r) > 3 else ()) for i, r in enumerate(records))
    if max_ts is None:
        max_ts = base_ts + max([r[0] for r in records] or [0])
    after_crc = (i16(attributes) + i32(len(records) - 1) + i64(base_ts) + i64(max_ts) + i64(producer_id)
                 + i16(producer_epoch) + i32(base_sequence) + i32(len(records)) + recs)
    crc = crc32c(after_crc)
    body = i32(leader_epoch) + i8(2) + struct.pack(">I", crc) + after_crc
    return i64(base_offset) + i32(len(body)) + body


def hand_batches():
    out = {}
    out["one_hi"] = batch([(0, None, b"hi")])
    out["three_keys"] = batch([(0, b"k0", b"v0"), (5, b"k1", b""), (9, b"k2", None)])
    out["headers"] = batch([(0, b"key", b"value", [(b"h1", b"x"), (b"h2", None), (b"", b"")])])
    out["idempotent"] = batch([(0, None, b"a"), (1, None, b"b")], producer_id=1000, producer_epoch=0,
                              base_sequence=7)
    out["transactional"] = batch([(0, None, b"tx")], attributes=0x10, producer_id=5, producer_epoch=1,
                                 base_sequence=0)
    # A commit marker as the coordinator writes it: key version 0 type 1.
    out["control_commit"] = batch([(0, i16(0) + i16(1), i16(0) + i32(3))], attributes=0x30, producer_id=5,
                                  producer_epoch=1, base_sequence=-1)
    out["log_append_time"] = batch([(0, None, b"lat")], attributes=0x08)
    out["two_batches"] = batch([(0, None, b"x")]) + batch([(0, None, b"y")], base_offset=1)
    return out


# ---- request frames ---------------------------------------------------------


def header(api_key, version, corr, client_id, flexible):
    h = i16(api_key) + i16(version) + i32(corr) + string(client_id)
    return h + TAGS0 if flexible else h


def hand_frames(batches):
    f = {}
    f["apiversions_v0"] = header(18, 0, 1, "seed", False)
    f["apiversions_v3"] = header(18, 3, 2, "seed", True) + cstring("gregor-seed") + cstring("1.0") + TAGS0
    f["metadata_v1_all"] = header(3, 1, 3, "seed", False) + array(None)
    f["metadata_v1_one"] = header(3, 1, 4, "seed", False) + array([string("t")])
    topic_v12 = b"\x00" * 16 + cstring("t") + TAGS0  # TopicId, Name, tags
    f["metadata_v12"] = (header(3, 12, 5, "seed", True) + carray([topic_v12]) + i8(1)  # AllowAutoTopicCreation
                         + i8(0) + TAGS0)  # IncludeTopicAuthorizedOperations
    rec = batches["three_keys"]
    part_v3 = i32(0) + bytes32(rec)
    f["produce_v3"] = (header(0, 3, 6, "seed", False) + string(None) + i16(-1) + i32(30000)
                       + array([string("t") + array([part_v3])]))
    part_v9 = i32(0) + cbytes(batches["headers"]) + TAGS0
    f["produce_v9"] = (header(0, 9, 7, "seed", True) + cstring(None) + i16(1) + i32(1500)
                       + carray([cstring("t") + carray([part_v9]) + TAGS0]) + TAGS0)
    # Fetch v4: ReplicaId, MaxWaitMs, MinBytes, MaxBytes, IsolationLevel,
    # topics [name, partitions [index, FetchOffset, PartitionMaxBytes]].
    fp4 = i32(0) + i64(0) + i32(1048576)
    f["fetch_v4"] = (header(1, 4, 8, "seed", False) + i32(-1) + i32(500) + i32(1) + i32(52428800) + i8(0)
                     + array([string("t") + array([fp4])]))
    # Fetch v12: + SessionId, SessionEpoch, CurrentLeaderEpoch,
    # LastFetchedEpoch, LogStartOffset, ForgottenTopicsData, RackId.
    fp12 = i32(0) + i32(-1) + i64(5) + i32(-1) + i64(-1) + i32(1048576) + TAGS0
    f["fetch_v12"] = (header(1, 12, 9, "seed", True) + i32(-1) + i32(500) + i32(1) + i32(52428800) + i8(1)
                      + i32(0) + i32(-1) + carray([cstring("t") + carray([fp12]) + TAGS0]) + carray([])
                      + cstring("") + TAGS0)
    return f


# ---- a fake broker that records what real clients send ---------------------

# What we claim to support: key -> (min, max). Chosen so clients send both
# classic and flexible versions across the runs below.
ADVERTISED = [
    {0: (0, 3), 1: (0, 4), 2: (0, 1), 3: (0, 1), 18: (0, 3), 22: (0, 1)},
    {0: (0, 9), 1: (0, 12), 2: (0, 7), 3: (0, 12), 18: (0, 3), 22: (0, 4), 10: (0, 4)},
]


class FakeBroker:
    def __init__(self, advertised):
        self.adv = advertised
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.frames = []
        self.lock = threading.Lock()
        self.stop = False
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        c.settimeout(0.5)
        buf = b""
        try:
            while not self.stop:
                try:
                    d = c.recv(65536)
                except socket.timeout:
                    continue
                if not d:
                    return
                buf += d
                while len(buf) >= 4:
                    n = struct.unpack(">i", buf[:4])[0]
                    if len(buf) < 4 + n:
                        break
                    frame, buf = buf[4:4 + n], buf[4 + n:]
                    with self.lock:
                        self.frames.append(frame)
                    resp = self.answer(frame)
                    if resp is not None:
                        c.sendall(i32(len(resp)) + resp)
        except OSError:
            pass
        finally:
            c.close()

    def answer(self, frame):
        key, ver, corr = struct.unpack(">hhi", frame[:8])
        if key == 18:
            if ver >= 3:
                apis = [i16(k) + i16(lo) + i16(hi) + TAGS0 for k, (lo, hi) in sorted(self.adv.items())]
                return i32(corr) + i16(0) + carray(apis) + i32(0) + TAGS0
            apis = [i16(k) + i16(lo) + i16(hi) for k, (lo, hi) in sorted(self.adv.items())]
            body = i16(0) + array(apis)
            if ver >= 1:
                body += i32(0)
            return i32(corr) + body
        if key == 3:
            return self.metadata(corr, ver)
        return None  # Produce and the rest: recorded, never answered

    def metadata(self, corr, v):
        if v > 1 and v < 9:
            return None
        flex = v >= 9
        S, A, T = (cstring, carray, TAGS0) if flex else (string, array, b"")
        part = i16(0) + i32(0) + i32(1)
        if v >= 7:
            part += i32(0)  # LeaderEpoch
        part += A([i32(1)]) + A([i32(1)])
        if v >= 5:
            part += A([])
        part += T
        topic = i16(0) + S("t")
        if v >= 10:
            topic += b"\x00" * 15 + b"\x01"
        if v >= 1:
            topic += i8(0)  # IsInternal
        topic += A([part])
        if v >= 8:
            topic += i32(-2147483648)
        topic += T
        broker = i32(1) + S("127.0.0.1") + i32(self.port) + (S(None) if v >= 1 else b"") + T
        body = b""
        if v >= 3:
            body += i32(0)
        body += A([broker])
        if v >= 2:
            body += S("gregor-seed")
        if v >= 1:
            body += i32(1)
        body += A([topic])
        if 8 <= v <= 10:
            body += i32(-2147483648)
        body += T
        hdr = i32(corr) + (TAGS0 if flex else b"")
        return hdr + body

    def close(self):
        self.stop = True
        self.sock.close()


CK_SCRIPT = r"""
import sys
from confluent_kafka import Producer
port, codec = sys.argv[1], sys.argv[2]
idem = codec == "idempotent"
p = Producer({"bootstrap.servers": "127.0.0.1:" + port, "compression.type": "none" if idem else codec,
              "linger.ms": 5, "message.timeout.ms": 3000, "socket.timeout.ms": 2000,
              "enable.idempotence": idem, "log_level": 0})
for i in range(3):
    # Repetitive values so that librdkafka keeps the compressed form (it
    # sends a batch uncompressed when compression does not make it smaller).
    p.produce("t", value=b"value-%d " % i * 12, key=(b"key-%d" % i) if i else None, partition=0,
              headers=[("h", b"x")] if i == 2 else None, timestamp=1700000000000 + i)
p.flush(2.5)
"""

KP_SCRIPT = r"""
import sys, logging
logging.disable(logging.CRITICAL)
from kafka import KafkaProducer
port, codec = sys.argv[1], sys.argv[2]
try:
    p = KafkaProducer(bootstrap_servers="127.0.0.1:" + port, compression_type=None if codec == "none" else codec,
                      request_timeout_ms=2000, max_block_ms=3000, api_version_auto_timeout_ms=2000, linger_ms=5)
    for i in range(3):
        p.send("t", value=b"value-%d " % i * 12, key=b"k%d" % i, partition=0, timestamp_ms=1700000000000 + i)
    p.flush(timeout=2.5)
    p.close(timeout=0.5)
except Exception:
    pass
"""


def capture(script, codec, adv, timeout=8):
    fb = FakeBroker(adv)
    try:
        subprocess.run([sys.executable, "-c", script, str(fb.port), codec], timeout=timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pass
    finally:
        fb.close()
    with fb.lock:
        return list(fb.frames)


def have(module):
    return subprocess.run([sys.executable, "-c", "import " + module], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def batches_in_produce(frame):
    """Record batches inside a captured Produce frame, found by their
    shape (magic 2 at offset 16 and a length that fits) rather than by a
    full decode, which would need this script to know every version."""
    out = []
    i = 0
    while i + 61 <= len(frame):
        n = struct.unpack(">i", frame[i + 8:i + 12])[0]
        if frame[i + 16] == 2 and 49 <= n and i + 12 + n <= len(frame) and frame[i:i + 8] == b"\x00" * 8:
            b = frame[i:i + 12 + n]
            if struct.unpack(">I", b[17:21])[0] == crc32c(b[21:]):
                out.append(b)
                i += 12 + n
                continue
        i += 1
    return out


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    fdir, rdir = os.path.join(out, "frame"), os.path.join(out, "records")
    os.makedirs(fdir, exist_ok=True)
    os.makedirs(rdir, exist_ok=True)
    batches = hand_batches()
    frames = hand_frames(batches)

    seen = set()
    clients = []
    if have("confluent_kafka"):
        clients.append(("rdkafka", CK_SCRIPT, ["none", "gzip", "snappy", "lz4", "zstd", "idempotent"]))
    if have("kafka"):
        clients.append(("kafkapy", KP_SCRIPT, ["none", "gzip"]))
    for name, script, codecs in clients:
        for ai, adv in enumerate(ADVERTISED):
            for codec in codecs if ai == 1 else codecs[:1]:
                for fr in capture(script, codec, adv):
                    key, ver = struct.unpack(">hh", fr[:4])
                    sig = (name, key, ver, codec if key == 0 else "")
                    if sig in seen:
                        continue
                    seen.add(sig)
                    frames["%s_k%d_v%d%s" % (name, key, ver, "_" + codec if key == 0 else "")] = fr
                    if key == 0:
                        for j, b in enumerate(batches_in_produce(fr)):
                            batches["%s_v%d_%s_%d" % (name, ver, codec, j)] = b
        print("%s: captured %s" % (name, sorted(k for k in frames if k.startswith(name))), file=sys.stderr)

    for d, items in ((fdir, frames), (rdir, batches)):
        for k, v in sorted(items.items()):
            with open(os.path.join(d, k + ".bin"), "wb") as fh:
                fh.write(v)
    total = sum(len(v) for v in frames.values()) + sum(len(v) for v in batches.values())
    print("wrote %d frames and %d record batches (%d bytes) to %s" % (len(frames), len(batches), total, out),
          file=sys.stderr)


if __name__ == "__main__":
    main()
