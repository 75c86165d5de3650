"""Schema-driven Kafka protocol client for differential tests (standard library only).

Reads Apache Kafka's own JSON message schemas (<repo>/schemas/messages/*.json) and encodes /
decodes any request or response at any version, so a test is a dict:

    with KafkaClient("127.0.0.1", port) as c:
        resp = c.send("Metadata", 12, {"Topics": None, "AllowAutoTopicCreation": False})
        resp["Brokers"][0]["NodeId"]

Field names are the schemas' names with the first letter upper-cased (CamelCase). Fields missing from a request dict take the
schema default ("default", else 0 / false / "" / [] / null for records). Decoded responses
contain every field present at that version; tagged fields appear only when sent, unknown tags
land in "_unknown_tags". Decoding is strict: leftover bytes raise ProtoError.

Wire rules implemented (https://kafka.apache.org/protocol):
  - int8/16/32/64, uint16, float64, bool, uuid (16 bytes), string/bytes/records (int16/int32
    length, -1 = null; compact uvarint length+1, 0 = null in flexible versions), arrays (int32
    count / compact uvarint count+1), nested and common structs, nullable structs (int8 marker),
    tagged fields (uvarint count, then tag, size, value, in tag order).
  - Request header v1 (non-flexible request) or v2 (flexible: + tagged fields). Response header
    v0 or v1 (+ tagged fields) — except ApiVersions, whose response header is always v0.

Records helpers: build_record_batch (RecordBatch v2 with CRC-32C), build_message_set_v1 (magic 1,
CRC-32), parse_record_batches.
"""

from __future__ import annotations

import json
import socket
import struct
import time
import uuid as uuidlib
import zlib
from functools import lru_cache
from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas" / "messages"

API_VERSIONS_KEY = 18


class ProtoError(Exception):
    pass


class ConnectionClosed(ProtoError):
    pass


# --------------------------------------------------------------------------- varints


def uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def varint(n: int) -> bytes:  # zigzag (records)
    return uvarint((n << 1) ^ (n >> 63))


def read_uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        if pos >= len(buf):
            raise ProtoError("truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ProtoError("varint too long")


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    v, pos = read_uvarint(buf, pos)
    return (v >> 1) ^ -(v & 1), pos


# --------------------------------------------------------------------------- schemas


class Versions:
    """A version range as written in the schemas: "0+", "1-3", "4", "none"."""

    def __init__(self, text: str | None):
        text = (text or "none").strip()
        if text == "none":
            self.lo, self.hi = 1, 0
        elif text.endswith("+"):
            self.lo, self.hi = int(text[:-1]), 1 << 15
        elif "-" in text:
            a, b = text.split("-")
            self.lo, self.hi = int(a), int(b)
        else:
            self.lo = self.hi = int(text)

    def __contains__(self, v: int) -> bool:
        return self.lo <= v <= self.hi


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    return json.loads(_strip_comments((SCHEMA_DIR / f"{name}.json").read_text()))


@lru_cache(maxsize=None)
def api_names() -> dict[int, str]:
    """api key -> API name ("Metadata"), from the *Request.json schemas."""
    out = {}
    for p in SCHEMA_DIR.glob("*Request.json"):
        s = load_schema(p.stem)
        if s.get("type") == "request" and "apiKey" in s:
            out[s["apiKey"]] = p.stem[: -len("Request")]
    return out


def api_key_of(name: str) -> int:
    for k, n in api_names().items():
        if n == name:
            return k
    raise KeyError(name)


def _key(f: dict) -> str:
    """Dict key of a field: the schema name with its first letter upper-cased (a few schemas
    spell fields timeoutMs / validateOnly; tests always use TimeoutMs / ValidateOnly)."""
    n = f["name"]
    return n[:1].upper() + n[1:]


PRIMITIVES = {"bool", "int8", "int16", "uint16", "int32", "uint32", "int64", "float64", "string",
              "bytes", "records", "uuid"}
_FMT = {"bool": ">?", "int8": ">b", "int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I",
        "int64": ">q", "float64": ">d"}


class Codec:
    """Encoder/decoder for one message schema (e.g. "MetadataRequest")."""

    def __init__(self, name: str):
        self.schema = load_schema(name)
        self.name = name
        self.flexible = Versions(self.schema.get("flexibleVersions"))
        self.common = {s["name"]: s["fields"] for s in self.schema.get("commonStructs", [])}
        self.valid = Versions(self.schema.get("validVersions"))

    # ---- helpers
    def _struct_fields(self, f: dict, typ: str) -> list:
        if "fields" in f:
            return f["fields"]
        if typ in self.common:
            return self.common[typ]
        raise ProtoError(f"{self.name}: unknown struct type {typ}")

    @staticmethod
    def _nullable(f: dict, v: int) -> bool:
        return v in Versions(f.get("nullableVersions"))

    def default(self, f: dict, v: int):
        typ = f["type"]
        d = f.get("default")
        if d is not None and not isinstance(d, str):
            d = str(d).lower()  # a few schemas write the default as a JSON number or bool
        if d == "null":
            return None
        if typ.startswith("[]"):
            return []
        if typ in ("int8", "int16", "uint16", "int32", "uint32", "int64"):
            return int(d, 0) if d not in (None, "") else 0
        if typ == "float64":
            return float(d) if d else 0.0
        if typ == "bool":
            return d == "true"
        if typ == "string":
            return d or ""
        if typ == "bytes":
            return b""
        if typ == "records":
            return None
        if typ == "uuid":
            return uuidlib.UUID(int=0)
        return {}  # struct

    # ---- encoding
    def encode(self, obj: dict | None, version: int) -> bytes:
        out = bytearray()
        self._enc_fields(self.schema["fields"], obj or {}, version, version in self.flexible, out)
        return bytes(out)

    def _enc_fields(self, fields, obj, v, flex, out):
        tagged = []
        for f in fields:
            if v not in Versions(f.get("versions")):
                continue
            name = _key(f)
            if isinstance(obj, dict) and name not in obj and f["name"] in obj:
                name = f["name"]
            if flex and "tag" in f and v in Versions(f.get("taggedVersions", f.get("versions"))):
                if name in obj and obj[name] != self.default(f, v):
                    buf = bytearray()
                    self._enc_value(f, f["type"], obj[name], v, flex, buf)
                    tagged.append((f["tag"], bytes(buf)))
                continue
            fflex = flex and v in Versions(f.get("flexibleVersions", "0+"))
            self._enc_value(f, f["type"], obj.get(name, self.default(f, v)) if isinstance(obj, dict)
                            else self.default(f, v), v, fflex, out)
        if flex:
            tagged.sort()
            out += uvarint(len(tagged))
            for tag, data in tagged:
                out += uvarint(tag) + uvarint(len(data)) + data

    def _enc_value(self, f, typ, val, v, flex, out):
        if typ.startswith("[]"):
            et = typ[2:]
            if val is None:
                if not self._nullable(f, v):
                    raise ProtoError(f"{self.name}.{f['name']}: null for non-nullable array at v{v}")
                out += b"\x00" if flex else struct.pack(">i", -1)
                return
            out += uvarint(len(val) + 1) if flex else struct.pack(">i", len(val))
            for item in val:
                if et in PRIMITIVES:
                    self._enc_prim(f, et, item, v, flex, out, elem=True)
                else:
                    self._enc_fields(self._struct_fields(f, et), item, v, flex, out)
            return
        if typ in PRIMITIVES:
            self._enc_prim(f, typ, val, v, flex, out)
            return
        if self._nullable(f, v):  # nullable struct
            if val is None:
                out += struct.pack(">b", -1)
                return
            out += struct.pack(">b", 1)
        self._enc_fields(self._struct_fields(f, typ), val or {}, v, flex, out)

    def _enc_prim(self, f, typ, val, v, flex, out, elem=False):
        if typ in _FMT:
            out += struct.pack(_FMT[typ], val)
        elif typ == "uuid":
            if isinstance(val, str):
                val = uuidlib.UUID(val)
            out += val.bytes if isinstance(val, uuidlib.UUID) else bytes(val)
        else:  # string, bytes, records
            if val is None:
                if not elem and not self._nullable(f, v):
                    raise ProtoError(f"{self.name}.{f['name']}: null for non-nullable field at v{v}")
                out += b"\x00" if flex else struct.pack(">h" if typ == "string" else ">i", -1)
                return
            data = val.encode() if isinstance(val, str) else bytes(val)
            if flex:
                out += uvarint(len(data) + 1)
            else:
                out += struct.pack(">h" if typ == "string" else ">i", len(data))
            out += data

    # ---- decoding
    def decode(self, buf: bytes, version: int, strict: bool = True) -> dict:
        try:
            obj, pos = self._dec_fields(self.schema["fields"], buf, 0, version, version in self.flexible)
        except struct.error as e:
            raise ProtoError(f"{self.name} v{version}: truncated ({e})") from None
        if strict and pos != len(buf):
            raise ProtoError(f"{self.name} v{version}: {len(buf) - pos} trailing bytes after decoding "
                             f"{obj!r:.300}")
        return obj

    def _dec_fields(self, fields, buf, pos, v, flex):
        obj = {}
        by_tag = {}
        for f in fields:
            if v not in Versions(f.get("versions")):
                continue
            if flex and "tag" in f and v in Versions(f.get("taggedVersions", f.get("versions"))):
                by_tag[f["tag"]] = f
                continue
            fflex = flex and v in Versions(f.get("flexibleVersions", "0+"))
            obj[_key(f)], pos = self._dec_value(f, f["type"], buf, pos, v, fflex)
        if flex:
            n, pos = read_uvarint(buf, pos)
            for _ in range(n):
                tag, pos = read_uvarint(buf, pos)
                size, pos = read_uvarint(buf, pos)
                data = buf[pos:pos + size]
                if len(data) != size:
                    raise ProtoError(f"{self.name}: truncated tagged field {tag}")
                pos += size
                if tag in by_tag:
                    f = by_tag[tag]
                    val, end = self._dec_value(f, f["type"], data, 0, v, True)
                    if end != size:
                        raise ProtoError(f"{self.name}: tagged field {f['name']} has {size - end} extra bytes")
                    obj[_key(f)] = val
                else:
                    obj.setdefault("_unknown_tags", {})[tag] = data
        return obj, pos

    def _dec_value(self, f, typ, buf, pos, v, flex):
        if typ.startswith("[]"):
            et = typ[2:]
            if flex:
                n, pos = read_uvarint(buf, pos)
                n -= 1
            else:
                (n,) = struct.unpack_from(">i", buf, pos)
                pos += 4
            if n < 0:
                if not self._nullable(f, v):
                    raise ProtoError(f"{self.name}.{f['name']}: null array at v{v} (not nullable)")
                return None, pos
            if n > len(buf):
                raise ProtoError(f"{self.name}.{f['name']}: array count {n} beyond the buffer")
            items = []
            for _ in range(n):
                if et in PRIMITIVES:
                    item, pos = self._dec_prim(f, et, buf, pos, v, flex, elem=True)
                else:
                    item, pos = self._dec_fields(self._struct_fields(f, et), buf, pos, v, flex)
                items.append(item)
            return items, pos
        if typ in PRIMITIVES:
            return self._dec_prim(f, typ, buf, pos, v, flex)
        if self._nullable(f, v):
            (marker,) = struct.unpack_from(">b", buf, pos)
            pos += 1
            if marker < 0:
                return None, pos
        return self._dec_fields(self._struct_fields(f, typ), buf, pos, v, flex)

    def _dec_prim(self, f, typ, buf, pos, v, flex, elem=False):
        if typ in _FMT:
            (val,) = struct.unpack_from(_FMT[typ], buf, pos)
            return val, pos + struct.calcsize(_FMT[typ])
        if typ == "uuid":
            if pos + 16 > len(buf):
                raise ProtoError("truncated uuid")
            return uuidlib.UUID(bytes=bytes(buf[pos:pos + 16])), pos + 16
        if flex:
            n, pos = read_uvarint(buf, pos)
            n -= 1
        elif typ == "string":
            (n,) = struct.unpack_from(">h", buf, pos)
            pos += 2
        else:
            (n,) = struct.unpack_from(">i", buf, pos)
            pos += 4
        if n < 0:
            if not elem and not self._nullable(f, v):
                raise ProtoError(f"{self.name}.{f['name']}: null at v{v} (not nullable)")
            return None, pos
        data = bytes(buf[pos:pos + n])
        if len(data) != n:
            raise ProtoError(f"{self.name}.{f['name']}: truncated {typ}")
        return (data.decode("utf-8") if typ == "string" else data), pos + n


@lru_cache(maxsize=None)
def codec(name: str) -> Codec:
    return Codec(name)


def encode_request(api: str | int, version: int, body: dict | None, correlation_id: int,
                   client_id: str | None = "gregor-diff") -> bytes:
    """Request frame payload (without the int32 size): header v1 or v2, then the body."""
    name = api if isinstance(api, str) else api_names()[api]
    c = codec(name + "Request")
    key = c.schema["apiKey"]
    hdr = struct.pack(">hhi", key, version, correlation_id)
    if client_id is None:
        hdr += struct.pack(">h", -1)
    else:
        cid = client_id.encode()
        hdr += struct.pack(">h", len(cid)) + cid
    flex = version in c.flexible
    if flex:
        hdr += b"\x00"
    return hdr + c.encode(body, version)


def response_flexible(api: str | int, version: int) -> bool:
    name = api if isinstance(api, str) else api_names()[api]
    c = codec(name + "Response")
    return version in c.flexible


def decode_response(api: str | int, version: int, frame: bytes, strict: bool = True) -> tuple[int, dict]:
    """(correlation id, body dict) of one response frame (size prefix removed)."""
    name = api if isinstance(api, str) else api_names()[api]
    (corr,) = struct.unpack_from(">i", frame, 0)
    pos = 4
    c = codec(name + "Response")
    if version in c.flexible and c.schema["apiKey"] != API_VERSIONS_KEY:
        n, pos = read_uvarint(frame, pos)
        for _ in range(n):
            _tag, pos = read_uvarint(frame, pos)
            size, pos = read_uvarint(frame, pos)
            pos += size
    return corr, c.decode(frame[pos:], version, strict=strict)


# --------------------------------------------------------------------------- connection


class KafkaClient:
    """One blocking TCP connection; send() encodes a request dict and decodes the answer."""

    def __init__(self, host: str, port: int, timeout: float = 15.0, client_id: str | None = "gregor-diff"):
        self.host, self.port = host, port
        self.client_id = client_id
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.corr = 0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _recv_exact(self, n: int) -> bytes:
        chunks = []
        while n:
            try:
                chunk = self.sock.recv(n)
            except (ConnectionResetError, BrokenPipeError) as e:
                raise ConnectionClosed(str(e)) from None
            if not chunk:
                raise ConnectionClosed("connection closed by peer")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def send_payload(self, payload: bytes) -> bytes:
        try:
            self.sock.sendall(struct.pack(">i", len(payload)) + payload)
        except (ConnectionResetError, BrokenPipeError) as e:
            raise ConnectionClosed(str(e)) from None
        (size,) = struct.unpack(">i", self._recv_exact(4))
        return self._recv_exact(size)

    def send(self, api: str | int, version: int, body: dict | None = None, *,
             decode_as: int | None = None, strict: bool = True) -> dict:
        """Sends api at version and returns the decoded response body. decode_as: decode the
        answer at another version (ApiVersions answers an unsupported version with v0)."""
        self.corr += 1
        frame = self.send_payload(encode_request(api, version, body, self.corr, self.client_id))
        corr, resp = decode_response(api, version if decode_as is None else decode_as, frame, strict)
        if corr != self.corr:
            raise ProtoError(f"correlation id mismatch: sent {self.corr}, got {corr}")
        return resp


# --------------------------------------------------------------------------- records

_CRC32C_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC32C_TABLE.append(_c)


def crc32c(data: bytes, crc: int = 0) -> int:
    crc ^= 0xFFFFFFFF
    t = _CRC32C_TABLE
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def _bytes_or_null(b) -> bytes:
    if b is None:
        return varint(-1)
    b = b.encode() if isinstance(b, str) else b
    return varint(len(b)) + b


def build_record_batch(records, base_offset: int = 0, base_timestamp: int | None = None,
                       producer_id: int = -1, producer_epoch: int = -1, base_sequence: int = -1,
                       attributes: int = 0, partition_leader_epoch: int = -1,
                       corrupt_crc: bool = False) -> bytes:
    """RecordBatch v2. records: list of (key, value) or (key, value, [(hkey, hvalue)...]);
    keys/values str, bytes or None. Uncompressed, CreateTime."""
    if base_timestamp is None:
        base_timestamp = int(time.time() * 1000)
    body = bytearray()
    for i, rec in enumerate(records):
        key, value = rec[0], rec[1]
        headers = rec[2] if len(rec) > 2 else []
        r = bytearray(b"\x00")  # attributes
        r += varint(0)  # timestamp delta
        r += varint(i)  # offset delta
        r += _bytes_or_null(key) + _bytes_or_null(value)
        r += varint(len(headers))
        for hk, hv in headers:
            hk = hk.encode() if isinstance(hk, str) else hk
            r += varint(len(hk)) + hk + _bytes_or_null(hv)
        body += varint(len(r)) + r
    n = len(records)
    after_crc = struct.pack(">hiqqqhii", attributes, n - 1, base_timestamp, base_timestamp,
                            producer_id, producer_epoch, base_sequence, n) + bytes(body)
    crc = crc32c(after_crc)
    if corrupt_crc:
        crc ^= 0xDEADBEEF
    # batchLength counts from partitionLeaderEpoch to the end
    batch_len = 4 + 1 + 4 + len(after_crc)
    return struct.pack(">qiibI", base_offset, batch_len, partition_leader_epoch, 2, crc) + after_crc


def build_message_set_v1(messages, base_offset: int = 0, timestamp: int | None = None) -> bytes:
    """Legacy message set, magic 1, uncompressed. messages: list of (key, value)."""
    if timestamp is None:
        timestamp = int(time.time() * 1000)
    out = bytearray()
    for i, (key, value) in enumerate(messages):
        def b(x):
            if x is None:
                return struct.pack(">i", -1)
            x = x.encode() if isinstance(x, str) else x
            return struct.pack(">i", len(x)) + x
        msg = struct.pack(">bbq", 1, 0, timestamp) + b(key) + b(value)
        crc = zlib.crc32(msg) & 0xFFFFFFFF
        full = struct.pack(">I", crc) + msg
        out += struct.pack(">qi", base_offset + i, len(full)) + full
    return bytes(out)


def parse_record_batches(data: bytes | None) -> list[dict]:
    """Parses consecutive RecordBatch v2 (uncompressed; a partial trailing batch is dropped).
    Each: baseOffset, lastOffsetDelta, partitionLeaderEpoch, attributes, crcOk, producerId,
    records [{offset, key, value, headers}]."""
    out = []
    pos = 0
    data = data or b""
    while pos + 61 <= len(data):
        base_offset, batch_len = struct.unpack_from(">qi", data, pos)
        end = pos + 12 + batch_len
        if end > len(data):
            break
        ple, magic, crc = struct.unpack_from(">ibI", data, pos + 12)
        if magic != 2:
            raise ProtoError(f"magic {magic} batch at {pos}")
        (attrs, last_delta, base_ts, max_ts, pid, pepoch, bseq, n) = struct.unpack_from(">hiqqqhii", data, pos + 21)
        b = {"baseOffset": base_offset, "batchLength": batch_len, "partitionLeaderEpoch": ple,
             "attributes": attrs, "lastOffsetDelta": last_delta, "baseTimestamp": base_ts,
             "maxTimestamp": max_ts, "producerId": pid, "producerEpoch": pepoch, "baseSequence": bseq,
             "crcOk": crc32c(data[pos + 21:end]) == crc, "records": []}
        if attrs & 0x7 == 0:
            p = pos + 61
            for _ in range(n):
                _length, p = read_varint(data, p)
                p += 1
                _tsd, p = read_varint(data, p)
                od, p = read_varint(data, p)
                kl, p = read_varint(data, p)
                key = None if kl < 0 else data[p:p + kl]
                p += max(kl, 0)
                vl, p = read_varint(data, p)
                value = None if vl < 0 else data[p:p + vl]
                p += max(vl, 0)
                hn, p = read_varint(data, p)
                headers = []
                for _ in range(hn):
                    hkl, p = read_varint(data, p)
                    hk = data[p:p + hkl]
                    p += hkl
                    hvl, p = read_varint(data, p)
                    hv = None if hvl < 0 else data[p:p + hvl]
                    p += max(hvl, 0)
                    headers.append((hk, hv))
                b["records"].append({"offset": base_offset + od, "key": key, "value": value, "headers": headers})
        out.append(b)
        pos = end
    return out
