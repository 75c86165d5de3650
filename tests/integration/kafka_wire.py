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
