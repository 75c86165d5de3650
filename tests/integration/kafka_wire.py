"""Minimal raw Kafka wire-protocol helpers for the integration tests.

Only the standard library. Used to tell when a broker (Gregor or the reference Apache
Kafka) is really answering Kafka requests, and usable by tests that want to send
hand-made requests:

    with KafkaConnection("127.0.0.1", port) as c:
        body = c.request(api_key=18, api_version=0)        # raw response body bytes

    api_versions("127.0.0.1", port)  ->  ApiVersionsResult(error_code, {key: (min, max)})

Framing (https://kafka.apache.org/protocol):
  request  = int32 size | int16 api_key | int16 api_version | int32 correlation_id
             | int16 client_id length + bytes (-1 = null) | [tagged fields if flexible] | body
  response = int32 size | int32 correlation_id | [tagged fields if flexible, except
             ApiVersions, whose response header is always v0] | body
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass, field

API_VERSIONS = 18


class KafkaWireError(Exception):
    pass


def encode_string(s: str | None) -> bytes:
    """Kafka STRING / NULLABLE_STRING (int16 length, -1 for null)."""
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode("utf-8")
    return struct.pack(">h", len(b)) + b


def encode_uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def decode_uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    """Returns (value, new_pos)."""
    shift = 0
    value = 0
    while True:
        if pos >= len(buf):
            raise KafkaWireError("truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise KafkaWireError("varint too long")


def skip_tagged_fields(buf: bytes, pos: int) -> int:
    count, pos = decode_uvarint(buf, pos)
    for _ in range(count):
        _tag, pos = decode_uvarint(buf, pos)
        size, pos = decode_uvarint(buf, pos)
        pos += size
    return pos


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(n)
        if not chunk:
            raise KafkaWireError("connection closed by peer")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


class KafkaConnection:
    """One blocking TCP connection speaking Kafka framing."""

    def __init__(self, host: str, port: int, timeout: float = 5.0, client_id: str | None = "gregor-tests"):
        self.client_id = client_id
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self._corr = 0

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "KafkaConnection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send_raw(self, payload: bytes) -> None:
        """Sends one frame: int32 size + payload."""
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)

    def recv_frame(self) -> bytes:
        (size,) = struct.unpack(">i", _recv_exact(self.sock, 4))
        if size < 0 or size > 256 * 1024 * 1024:
            raise KafkaWireError(f"bad response size {size}")
        return _recv_exact(self.sock, size)

    def request(self, api_key: int, api_version: int, body: bytes = b"", flexible: bool = False) -> bytes:
        """Sends a request and returns the response body (header stripped).

        flexible=True uses request header v2 (tagged fields) and expects response header v1,
        except for ApiVersions whose response header is always v0.
        """
        self._corr += 1
        corr = self._corr
        header = struct.pack(">hhi", api_key, api_version, corr) + encode_string(self.client_id)
        if flexible:
            header += b"\x00"  # empty tagged fields
        self.send_raw(header + body)
        frame = self.recv_frame()
        if len(frame) < 4:
            raise KafkaWireError("response shorter than its header")
        (got,) = struct.unpack_from(">i", frame, 0)
        if got != corr:
            raise KafkaWireError(f"correlation id mismatch: sent {corr}, got {got}")
        pos = 4
        if flexible and api_key != API_VERSIONS:
            pos = skip_tagged_fields(frame, pos)
        return frame[pos:]


@dataclass
class ApiVersionsResult:
    error_code: int
    versions: dict[int, tuple[int, int]] = field(default_factory=dict)


def parse_api_versions_v0(body: bytes) -> ApiVersionsResult:
    """ApiVersions response v0 body: int16 error_code, array of (int16 key, int16 min, int16 max)."""
    if len(body) < 6:
        raise KafkaWireError(f"ApiVersions response too short ({len(body)} bytes)")
    error_code, n = struct.unpack_from(">hi", body, 0)
    pos = 6
    versions: dict[int, tuple[int, int]] = {}
    if n < 0:
        n = 0
    if len(body) < pos + 6 * n:
        raise KafkaWireError("ApiVersions response truncated")
    for _ in range(n):
        key, lo, hi = struct.unpack_from(">hhh", body, pos)
        pos += 6
        versions[key] = (lo, hi)
    return ApiVersionsResult(error_code, versions)


def api_versions(host: str, port: int, timeout: float = 2.0) -> ApiVersionsResult:
    """Sends ApiVersions v0 on a fresh connection and parses the answer."""
    with KafkaConnection(host, port, timeout=timeout) as conn:
        return parse_api_versions_v0(conn.request(API_VERSIONS, 0))


def wait_for_api_versions(host: str, port: int, deadline_s: float, alive=None, interval: float = 0.05) -> ApiVersionsResult:
    """Polls until the broker on host:port answers ApiVersions v0 with error 0.

    alive: optional callable returning False when the broker process died (stops early).
    Raises TimeoutError with the last failure when the deadline passes.
    """
    deadline = time.monotonic() + deadline_s
    last: Exception | str = "no attempt"
    while True:
        if alive is not None and not alive():
            raise KafkaWireError(f"broker process exited while waiting for {host}:{port} (last: {last})")
        try:
            res = api_versions(host, port, timeout=min(2.0, max(0.2, deadline - time.monotonic())))
            if res.error_code == 0 and res.versions:
                return res
            last = f"ApiVersions error_code={res.error_code}, {len(res.versions)} apis"
        except (OSError, KafkaWireError, struct.error) as e:
            last = e
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{host}:{port} did not answer ApiVersions within {deadline_s}s (last: {last})")
        time.sleep(interval)  # polling interval, not a synchronisation sleep


_handed_out: set[int] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (bound with port 0 and released).

    Never returns the same port twice in one process, so two calls in a row give two
    different ports even before either is bound by its server.
    """
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise OSError("could not find a free port")


# --------------------------------------------------------------------------- additions for
# tests/integration/test_broker_*.py (append-only)


def encode_compact_string(s: str | None) -> bytes:
    """Kafka COMPACT_STRING / COMPACT_NULLABLE_STRING (uvarint length+1, 0 for null)."""
    if s is None:
        return b"\x00"
    b = s.encode("utf-8")
    return encode_uvarint(len(b) + 1) + b


def encode_request(api_key: int, api_version: int, correlation_id: int, body: bytes = b"",
                   client_id: str | None = "gregor-tests", flexible: bool = False) -> bytes:
    """One complete request frame (int32 size prefix included): request header v1, or v2
    (empty tagged fields) when flexible."""
    header = struct.pack(">hhi", api_key, api_version, correlation_id) + encode_string(client_id)
    if flexible:
        header += b"\x00"
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def api_versions_request_body(api_version: int, software_name: str = "gregor-tests",
                              software_version: str = "1.0") -> bytes:
    """ApiVersions request body: empty for v0-2; v3+ client software name and version
    (compact strings) and empty tagged fields."""
    if api_version < 3:
        return b""
    return encode_compact_string(software_name) + encode_compact_string(software_version) + b"\x00"


@dataclass
class ApiVersionsFullResult:
    error_code: int
    versions: dict[int, tuple[int, int]]
    throttle_time_ms: int | None
    tagged_fields: dict[int, bytes]


def parse_api_versions(body: bytes, api_version: int) -> ApiVersionsFullResult:
    """ApiVersions response body at any version 0-4 (header already stripped); raises
    KafkaWireError on bytes that do not parse completely."""
    try:
        if api_version < 3:
            error_code, n = struct.unpack_from(">hi", body, 0)
            pos = 6
            versions = {}
            for _ in range(max(n, 0)):
                key, lo, hi = struct.unpack_from(">hhh", body, pos)
                pos += 6
                versions[key] = (lo, hi)
            throttle = None
            if api_version >= 1:
                (throttle,) = struct.unpack_from(">i", body, pos)
                pos += 4
            if pos != len(body):
                raise KafkaWireError(f"{len(body) - pos} trailing bytes in ApiVersions v{api_version} response")
            return ApiVersionsFullResult(error_code, versions, throttle, {})
        (error_code,) = struct.unpack_from(">h", body, 0)
        n, pos = decode_uvarint(body, 2)
        versions = {}
        for _ in range(max(n - 1, 0)):
            key, lo, hi = struct.unpack_from(">hhh", body, pos)
            pos = skip_tagged_fields(body, pos + 6)
            versions[key] = (lo, hi)
        (throttle,) = struct.unpack_from(">i", body, pos)
        pos += 4
        count, pos = decode_uvarint(body, pos)
        tags = {}
        for _ in range(count):
            tag, pos = decode_uvarint(body, pos)
            size, pos = decode_uvarint(body, pos)
            tags[tag] = body[pos:pos + size]
            pos += size
        if pos != len(body):
            raise KafkaWireError(f"{len(body) - pos} trailing bytes in ApiVersions v{api_version} response")
        return ApiVersionsFullResult(error_code, versions, throttle, tags)
    except struct.error as e:
        raise KafkaWireError(f"truncated ApiVersions v{api_version} response: {e}") from None


def read_frame_or_close(sock: socket.socket, timeout: float) -> tuple[str, bytes]:
    """Waits up to `timeout` seconds for one response frame on sock. Returns ("frame", payload),
    ("closed", partial bytes) when the peer closed or reset the connection, or
    ("timeout", partial bytes) when neither happened in time."""
    deadline = time.monotonic() + timeout
    buf = b""
    need = None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return "timeout", buf
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return "timeout", buf
        except (ConnectionResetError, BrokenPipeError):
            return "closed", buf
        if not chunk:
            return "closed", buf
        buf += chunk
        if need is None and len(buf) >= 4:
            (size,) = struct.unpack_from(">i", buf, 0)
            need = 4 + size
        if need is not None and len(buf) >= need:
            return "frame", buf[4:need]


class WireReader:
    """Sequential reader of non-flexible Kafka fields (big-endian)."""

    def __init__(self, buf: bytes, pos: int = 0):
        self.buf, self.pos = buf, pos

    def _take(self, fmt: str):
        vals = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return vals[0] if len(vals) == 1 else vals

    def int8(self): return self._take(">b")
    def int16(self): return self._take(">h")
    def int32(self): return self._take(">i")
    def int64(self): return self._take(">q")

    def string(self):
        n = self.int16()
        if n < 0:
            return None
        s = self.buf[self.pos:self.pos + n].decode("utf-8")
        self.pos += n
        return s

    def bytes_(self):
        n = self.int32()
        if n < 0:
            return None
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def array(self, item):
        n = self.int32()
        return None if n < 0 else [item(self) for _ in range(n)]


def metadata_request_v4(topics: list[str] | None, allow_auto_create: bool) -> bytes:
    """Metadata v4 request body (topics null = all)."""
    if topics is None:
        body = struct.pack(">i", -1)
    else:
        body = struct.pack(">i", len(topics)) + b"".join(encode_string(t) for t in topics)
    return body + struct.pack(">?", allow_auto_create)


def parse_metadata_v4(body: bytes) -> dict:
    """Metadata v4 response -> {"brokers": [...], "controller_id": n, "topics": {name: {"error": e,
    "partitions": {index: {"error": e, "leader": id}}}}}."""
    r = WireReader(body)
    r.int32()  # throttle
    brokers = r.array(lambda r: (r.int32(), r.string(), r.int32(), r.string()))
    cluster_id = r.string()
    controller = r.int32()

    def partition(r):
        err, idx, leader = r.int16(), r.int32(), r.int32()
        r.array(lambda r: r.int32())
        r.array(lambda r: r.int32())
        return idx, {"error": err, "leader": leader}

    def topic(r):
        err, name, _internal = r.int16(), r.string(), r.int8()
        return name, {"error": err, "partitions": dict(r.array(partition))}

    topics = dict(r.array(topic))
    return {"brokers": brokers, "cluster_id": cluster_id, "controller_id": controller, "topics": topics}


def fetch_request_v4(topic: str, partition: int, offset: int, max_wait_ms: int, min_bytes: int = 1,
                     max_bytes: int = 1 << 20) -> bytes:
    return (struct.pack(">iiiib", -1, max_wait_ms, min_bytes, max_bytes, 0) + struct.pack(">i", 1)
            + encode_string(topic) + struct.pack(">i", 1) + struct.pack(">iqi", partition, offset, max_bytes))


def parse_fetch_v4(body: bytes) -> dict:
    """Fetch v4 response -> {(topic, partition): {"error", "high_watermark", "last_stable_offset",
    "records"}}."""
    r = WireReader(body)
    r.int32()  # throttle
    out = {}

    def partition(r):
        idx, err, hw, lso = r.int32(), r.int16(), r.int64(), r.int64()
        r.array(lambda r: (r.int64(), r.int64()))
        return idx, {"error": err, "high_watermark": hw, "last_stable_offset": lso, "records": r.bytes_()}

    for name, parts in r.array(lambda r: (r.string(), r.array(partition))):
        for idx, p in parts:
            out[(name, idx)] = p
    return out
