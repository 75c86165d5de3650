"""Gregor with Kafka's own Java client (4.1.1, tests/java/client): admin (create, list,
describe configs, delete), the producer for acks 0/1/all with every codec (idempotent by
default: InitProducerId + sequence numbers; and with idempotence explicitly off), and an
assign-only consumer reading everything back.

JVM start-up is slow on small machines, so each test runs its steps in one JVM through the
client's `batch` subcommand (java_batch below)."""

from __future__ import annotations

from collections import Counter, defaultdict

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
ACKS = ["all", "1", "0"]


# --------------------------------------------------------------------------- helpers


def murmur2(data: bytes) -> int:
    """Kafka's Utils.murmur2 (as an unsigned 32-bit value)."""
    m, r = 0x5BD1E995, 24
    length = len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(length // 4):
        k = int.from_bytes(data[i * 4:i * 4 + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    tail, rem = length & ~3, length % 4
    if rem == 3:
        h ^= data[tail + 2] << 16
    if rem >= 2:
        h ^= data[tail + 1] << 8
    if rem >= 1:
        h ^= data[tail]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def kafka_partition(key: str | bytes, partitions: int) -> int:
    """The partition Kafka's default partitioners (Java, librdkafka murmur2, kafkajs) choose for a key."""
    if isinstance(key, str):
        key = key.encode()
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def test_murmur2_known_values():
    # values from Kafka's UtilsTest.testMurmur2 (as signed Java ints)
    cases = {b"21": -973932308, b"foobar": -790332482, b"a-little-bit-long-string": -985981536,
             b"a-little-bit-longer-string": -1486304829,
             b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971, b"abc": 479470107}
    for data, want in cases.items():
        assert murmur2(data) == want & 0xFFFFFFFF, data


def java_batch(java_client, *steps: str, bootstrap: str, timeout: float = 90,
               may_fail: tuple[int, ...] = ()) -> list[dict]:
    """Runs `batch --step ...` (one JVM); each step string gets `--bootstrap` appended.
    Returns [{"cmd", "rc", "out": [json lines]}] in step order; every step but those whose
    index is in may_fail must succeed."""
    res = java_client("batch", step=[f"{s} --bootstrap {bootstrap}" for s in steps], timeout=timeout,
                      check=False)
    out: list[dict] = []
    cur = None
    for line in res:
        if "step" in line and "begin" in line:
            cur = {"cmd": line["begin"], "rc": None, "out": []}
            out.append(cur)
        elif "step" in line and "rc" in line:
            cur["rc"] = line["rc"]
        elif cur is not None:
            cur["out"].append(line)
    assert len(out) == len(steps), (f"batch ran {len(out)} of {len(steps)} steps (exit {res.returncode})\n"
                                    f"stdout:\n{res.stdout[-4000:]}\nstderr:\n{res.stderr[-4000:]}")
    failed = [(i, s, r["out"]) for i, (s, r) in enumerate(zip(steps, out)) if r["rc"] != 0 and i not in may_fail]
    assert not failed, f"failed steps: {failed}\nstderr:\n{res.stderr[-6000:]}"
    return out


def records_only(lines: list[dict]) -> list[dict]:
    return [x for x in lines if "offset" in x and "value" in x]


def end_offsets(lines: list[dict]) -> dict[int, int]:
    e = [x for x in lines if "end_offsets" in x]
    assert e, "consume printed no end offsets"
    return {int(p): o for p, o in e[-1]["end_offsets"].items()}


def check_partition_logs(consumed: list[dict], partitions: int) -> dict[int, list[dict]]:
    """Every partition's records have offsets 0..n-1 in order; returns them per partition."""
    by_part: dict[int, list[dict]] = defaultdict(list)
    for r in consumed:
        by_part[r["partition"]].append(r)
    for p, recs in by_part.items():
        assert 0 <= p < partitions
        assert [r["offset"] for r in recs] == list(range(len(recs))), f"partition {p} offsets"
    return by_part


# --------------------------------------------------------------------------- tests


def test_java_produce_consume_every_acks_and_codec(broker, topic_name, java_client):
    """15 producers (acks all/1/0 x none/gzip/snappy/lz4/zstd), 20 keyed records with headers
    each, then one assign-only consumer from the beginning: the same records, in produce order
    per partition, each key always in its murmur2 partition, no duplicates (end offsets)."""
    partitions, n, keys = 3, 20, 7
    plan = [(acks, codec) for acks in ACKS for codec in CODECS]
    total = n * len(plan)
    steps = [f"create-topic --topic {topic_name} --partitions {partitions}"]
    for acks, codec in plan:
        steps.append(f"produce --topic {topic_name} --count {n} --acks {acks} --compression {codec} "
                     f"--key-prefix k- --key-mod {keys} --headers --value-prefix {acks}-{codec}- "
                     f"--value-size 200 --linger-ms 20")
    steps.append(f"consume --topic {topic_name} --count {total} --from-beginning --timeout-ms 30000 --end-offsets")
    out = java_batch(java_client, *steps, bootstrap=broker.bootstrap)

    assert out[0]["out"][0]["created"] is True and out[0]["out"][0]["partitions"] == partitions

    # what the producers reported, in send order
    expected_per_part: dict[int, list[tuple]] = defaultdict(list)
    key_partitions: dict[str, set] = defaultdict(set)
    for (acks, codec), step in zip(plan, out[1:-1]):
        acked = step["out"]
        assert len(acked) == n, (acks, codec, acked)
        for i, md in enumerate(acked):
            key = f"k-{i % keys}"
            assert md["key"] == key
            assert md["partition"] == kafka_partition(key, partitions), (acks, codec, md)
            if acks == "0":
                assert md["offset"] == -1  # nothing comes back with acks=0
            else:
                assert md["offset"] >= 0, (acks, codec, md)
            key_partitions[key].add(md["partition"])
            value = f"{acks}-{codec}-{i}".ljust(200, "x")
            expected_per_part[md["partition"]].append((key, value, [["index", str(i)], ["source", "java-client"]]))
    assert all(len(ps) == 1 for ps in key_partitions.values()), key_partitions

    consumed = records_only(out[-1]["out"])
    assert len(consumed) == total
    by_part = check_partition_logs(consumed, partitions)
    for p in range(partitions):
        got = [(r["key"], r["value"], r["headers"]) for r in by_part.get(p, [])]
        assert got == expected_per_part[p], f"partition {p}"
        assert all(r["timestamp_type"] == "CreateTime" and r["timestamp"] > 0 for r in by_part.get(p, []))
    # acked offsets point at the right records
    offsets = {(r["partition"], r["offset"]): r for r in consumed}
    for (acks, codec), step in zip(plan, out[1:-1]):
        for i, md in enumerate(step["out"]):
            if md["offset"] >= 0:
                r = offsets[(md["partition"], md["offset"])]
                assert r["value"].startswith(f"{acks}-{codec}-{i}x"), (md, r)
                assert r["timestamp"] == md["timestamp"]
    ends = end_offsets(out[-1]["out"])
    assert ends == {p: len(expected_per_part[p]) for p in range(partitions)}, "end offsets (duplicates?)"


def test_java_idempotent_and_non_idempotent_producers(broker, topic_name, java_client, node):
    """The default Java producer (idempotent: InitProducerId, sequence numbers) with many small
    batches in flight, and one with enable.idempotence=false: no duplicates, no gaps, order
    kept; on the wire (read with @platformatic/kafka's raw Fetch) the idempotent batches carry a
    producer id and sequences, the others producer id -1."""
    n_idem, n_plain = 3000, 50
    out = java_batch(
        java_client,
        f"create-topic --topic {topic_name} --partitions 1",
        # tiny batches and linger 0: many ProduceRequests with up to 5 in flight per connection
        f"produce --topic {topic_name} --count {n_idem} --acks all --key-prefix i- --value-prefix idem- "
        f"--linger-ms 0 --config batch.size=256 --config max.in.flight.requests.per.connection=5",
        f"produce --topic {topic_name} --count {n_plain} --acks all --idempotent false --key-prefix p- "
        f"--value-prefix plain- --headers",
        f"consume --topic {topic_name} --count {n_idem + n_plain} --from-beginning --timeout-ms 30000 --end-offsets",
        bootstrap=broker.bootstrap, timeout=120)
    acked_idem = out[1]["out"]
    assert [m["offset"] for m in acked_idem] == list(range(n_idem))
    assert [m["offset"] for m in out[2]["out"]] == list(range(n_idem, n_idem + n_plain))
    consumed = records_only(out[3]["out"])
    assert [r["value"] for r in consumed] == ([f"idem-{i}" for i in range(n_idem)]
                                             + [f"plain-{i}" for i in range(n_plain)])
    assert [r["offset"] for r in consumed] == list(range(n_idem + n_plain))
    assert end_offsets(out[3]["out"]) == {0: n_idem + n_plain}

    wire = node("roundtrip_platformatic", bootstrap=broker.bootstrap, topic=topic_name, partitions=1,
                no_create=True, no_produce=True, expect=n_idem + n_plain, timeout_ms=20000, timeout=60)
    recs = [x for x in wire if x.get("event") == "record"]
    assert [r["value"] for r in recs] == [r["value"] for r in consumed]
    idem_batches = {r["batch"]["base_offset"]: r["batch"] for r in recs if r["value"].startswith("idem-")}
    plain_batches = {r["batch"]["base_offset"]: r["batch"] for r in recs if r["value"].startswith("plain-")}
    assert len(idem_batches) > 10, "expected many small batches"
    pids = {b["producer_id"] for b in idem_batches.values()}
    assert len(pids) == 1 and min(pids) >= 0, f"idempotent batches' producer ids: {pids}"
    assert {b["producer_epoch"] for b in idem_batches.values()} == {0}
    # sequences: the batch's base sequence is its first record's index (one producer, one partition)
    for base, b in idem_batches.items():
        assert b["base_sequence"] == base, b
    for b in plain_batches.values():
        assert (b["producer_id"], b["producer_epoch"], b["base_sequence"]) == (-1, -1, -1), b


def test_java_admin_topics_and_configs(broker, topic_name, java_client):
    """Admin client: create (with a config override), create again (TopicExistsException),
    list, describe, describe configs (topic and broker), delete."""
    other = topic_name + "-other"
    out = java_batch(
        java_client,
        f"create-topic --topic {topic_name} --partitions 4 --topic-config retention.ms=123456 "
        f"--topic-config cleanup.policy=compact",
        f"create-topic --topic {other} --partitions 1",
        f"create-topic --topic {topic_name} --partitions 4 --if-not-exists",
        "list-topics",
        f"describe-configs --topic {topic_name}",
        f"describe-configs --broker {broker.node_id}",
        f"delete-topic --topic {other}",
        "list-topics",
        f"describe-configs --topic {other}",
        f"delete-topic --topic {other}",
        bootstrap=broker.bootstrap, may_fail=(8, 9))
    created = out[0]["out"][0]
    assert created["created"] is True and created["partitions"] == 4
    assert created["topic_id"] not in ("", "AAAAAAAAAAAAAAAAAAAAAA")
    assert out[2]["out"][0]["created"] is False  # TopicExistsException

    listed = {t["topic"]: t for t in out[3]["out"]}
    assert {topic_name, other} <= set(listed)
    t = listed[topic_name]
    assert t["topic_id"] == created["topic_id"] and t["internal"] is False
    assert [p["partition"] for p in t["partitions"]] == [0, 1, 2, 3]
    for p in t["partitions"]:
        assert p["leader"] == broker.node_id and p["replicas"] == [broker.node_id] and p["isr"] == [broker.node_id]

    cfg = {e["name"]: e for e in out[4]["out"]}
    assert cfg["retention.ms"]["value"] == "123456" and cfg["retention.ms"]["source"] == "DYNAMIC_TOPIC_CONFIG"
    assert cfg["cleanup.policy"]["value"] == "compact" and cfg["cleanup.policy"]["source"] == "DYNAMIC_TOPIC_CONFIG"
    assert cfg["max.message.bytes"]["source"] in ("DEFAULT_CONFIG", "STATIC_BROKER_CONFIG")
    assert cfg["segment.bytes"]["type"] == "INT" and cfg["retention.ms"]["type"] == "LONG"
    assert int(cfg["max.message.bytes"]["value"]) > 0

    bcfg = {e["name"]: e for e in out[5]["out"]}
    assert bcfg, "broker DescribeConfigs returned no entries"

    assert out[6]["out"][0]["deleted"] is True
    after = {t["topic"] for t in out[7]["out"]}
    assert topic_name in after and other not in after
    # the deleted topic is unknown (as in Kafka: UNKNOWN_TOPIC_OR_PARTITION)
    for step in out[8:10]:
        assert step["rc"] == 1, step
        assert step["out"][-1]["error"] == "org.apache.kafka.common.errors.UnknownTopicOrPartitionException", step


def test_java_same_key_same_partition_across_producers(broker, topic_name, java_client):
    """Keys land on murmur2(key) % partitions, the same for separate producer instances, and
    unkeyed records still all arrive (sticky partitioner)."""
    partitions = 5
    out = java_batch(
        java_client,
        f"create-topic --topic {topic_name} --partitions {partitions}",
        f"produce --topic {topic_name} --count 40 --key-prefix user- --key-mod 10 --value-prefix a-",
        f"produce --topic {topic_name} --count 40 --key-prefix user- --key-mod 10 --value-prefix b- --compression lz4",
        f"produce --topic {topic_name} --count 30 --value-prefix nokey-",
        f"consume --topic {topic_name} --count 110 --from-beginning --timeout-ms 30000 --end-offsets",
        # one partition from an offset inside a batch
        f"consume --topic {topic_name} --partition {kafka_partition('user-3', partitions)} --offset 3 "
        f"--count 5 --timeout-ms 20000",
        bootstrap=broker.bootstrap)
    first = {m["key"]: m["partition"] for m in out[1]["out"]}
    second = {m["key"]: m["partition"] for m in out[2]["out"]}
    assert first == second
    assert first == {k: kafka_partition(k, partitions) for k in first}
    consumed = records_only(out[4]["out"])
    check_partition_logs(consumed, partitions)
    for r in consumed:
        if r["key"] is not None:
            assert r["partition"] == kafka_partition(r["key"], partitions)
    assert Counter(r["value"].split("-")[0] for r in consumed) == {"a": 40, "b": 40, "nokey": 30}
    assert sum(end_offsets(out[4]["out"]).values()) == 110
    p3 = kafka_partition("user-3", partitions)
    want = [r for r in consumed if r["partition"] == p3][3:8]
    # (consume prints whole polls, so possibly more than --count records)
    got = records_only(out[5]["out"])[:5]
    assert [(r["offset"], r["value"]) for r in got] == [(r["offset"], r["value"]) for r in want]


def test_java_consumer_long_poll_sees_records_produced_later(broker, topic_name, java_client):
    """An assign-only consumer started on an empty topic (long-polling Fetch with a session)
    receives records a producer writes afterwards, in order."""
    import threading

    java_batch(java_client, f"create-topic --topic {topic_name} --partitions 1", bootstrap=broker.bootstrap)
    result: dict = {}

    def consume():
        result["res"] = java_client("consume", bootstrap=broker.bootstrap, topic=topic_name, count=30,
                                    from_beginning=True, timeout_ms=30000, timeout=60, check=False)

    t = threading.Thread(target=consume)
    t.start()
    try:
        # the consumer's own first Fetch on the empty log is what it waits on; producing once the
        # consumer JVM is up or before it is both valid: it must end up with all 30 in order
        java_batch(java_client, f"produce --topic {topic_name} --count 30 --key-prefix lp- --linger-ms 0",
                   bootstrap=broker.bootstrap)
    finally:
        t.join(90)
    res = result["res"]
    assert res.returncode == 0, res.stderr[-3000:]
    assert [r["value"] for r in records_only(res)] == [f"value-{i}" for i in range(30)]
