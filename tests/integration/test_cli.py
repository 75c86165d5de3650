"""The `gregor` command-line tool (src/cli/) against a real broker.

Every test takes the `bootstrap` fixture ("host:port") and runs the CLI binary (env GREGOR_BIN,
else build/gregor) as a subprocess. The tests are broker-agnostic: BROKERS lists the brokers
they run against; only "kafka" (the reference Apache Kafka from conftest's `kafka_ref`) is
enabled today. Adding "gregor" runs the same tests against a Gregor broker (`broker` fixture);
tests that need a broker feature Gregor does not have yet check FEATURES.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from helpers import unique_name, wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]

# Brokers the tests run against; see the module docstring. GREGOR_CLI_TEST_BROKERS=kafka,gregor
# overrides the list for a run.
BROKERS = [b for b in os.environ.get("GREGOR_CLI_TEST_BROKERS", "kafka,gregor").split(",") if b]
# Broker features some tests need, by broker kind.
FEATURES = {
    "kafka": {"groups", "idempotence", "auto_create"},
    "gregor": {"groups", "idempotence", "auto_create"},
}

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
ACKS = ["0", "1", "all"]
TIMEOUT_MS = "20000"  # idle bound for consumes that expect records


def cli_bin() -> Path:
    env = os.environ.get("GREGOR_BIN")
    return Path(env) if env else REPO_ROOT / "build" / "gregor"


@pytest.fixture(scope="session")
def gregor_cli() -> Path:
    path = cli_bin()
    if not os.access(path, os.X_OK):
        pytest.skip(f"{path} missing (run `make`, or set GREGOR_BIN)")
    return path


@pytest.fixture(params=BROKERS)
def broker_kind(request) -> str:
    return request.param


@pytest.fixture
def bootstrap(request, broker_kind, gregor_cli) -> str:
    """The bootstrap address of the broker under test."""
    if broker_kind == "kafka":
        return request.getfixturevalue("kafka_ref").bootstrap
    if broker_kind == "gregor":
        return request.getfixturevalue("broker").bootstrap
    raise AssertionError(f"unknown broker kind {broker_kind}")


def needs(broker_kind: str, feature: str) -> None:
    if feature not in FEATURES.get(broker_kind, set()):
        pytest.skip(f"{broker_kind} broker has no {feature} yet")


class Cli:
    """cli("topic", "list") runs `gregor --brokers <bootstrap> topic list` and returns the
    CompletedProcess (text mode). check=True asserts a zero exit."""

    def __init__(self, binary: Path, bootstrap: str | None):
        self.binary = binary
        self.bootstrap = bootstrap

    def __call__(self, *args: str, input: str | bytes | None = None, check: bool = True,
                 timeout: float = 60, brokers: str | None = None, env: dict | None = None,
                 text: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.binary)]
        b = brokers if brokers is not None else self.bootstrap
        if b is not None:
            cmd += ["--brokers", b]
        cmd += [str(a) for a in args]
        full_env = dict(os.environ)
        full_env.pop("GREGOR_BROKERS", None)
        full_env.update(env or {})
        try:
            res = subprocess.run(cmd, input=input, capture_output=True, text=text, timeout=timeout,
                                 env=full_env, stdin=None if input is not None else subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"timed out after {timeout}s: {cmd}\nstdout: {e.stdout!r}\n"
                                 f"stderr: {e.stderr!r}") from None
        if check and res.returncode != 0:
            raise AssertionError(f"{cmd} exited {res.returncode}\nstdout: {res.stdout!r}\n"
                                 f"stderr: {res.stderr!r}")
        return res

    def create(self, topic: str, partitions: int = 1, *extra: str) -> None:
        self("topic", "create", topic, "--partitions", str(partitions), *extra)
        # Metadata reaches every broker shortly after CreateTopics returns.
        wait_until(lambda: self("topic", "describe", topic, check=False).returncode == 0,
                   timeout=30, message=f"topic {topic} to be described")

    def consume_json(self, topic: str, count: int, *extra: str) -> list[dict]:
        res = self("consume", topic, "--from-beginning", "--count", str(count), "--format", "json",
                   "--timeout-ms", TIMEOUT_MS, *extra)
        recs = [json.loads(line) for line in res.stdout.splitlines()]
        assert len(recs) == count, f"expected {count} records, got {len(recs)}: {res.stderr}"
        return recs


@pytest.fixture
def cli(gregor_cli, bootstrap) -> Cli:
    return Cli(gregor_cli, bootstrap)


@pytest.fixture
def topic(request) -> str:
    return unique_name(request.node.name)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def assert_one_error_line(res: subprocess.CompletedProcess, code: int, *words: str) -> str:
    """The command failed with `code` and one `gregor: ...` line on stderr holding words."""
    assert res.returncode == code, f"exit {res.returncode}, stderr: {res.stderr!r}"
    errs = [line for line in res.stderr.splitlines() if line.startswith("gregor: ")]
    assert len(errs) == 1, f"want one error line, stderr: {res.stderr!r}"
    for w in words:
        assert w in errs[0], f"{w!r} not in {errs[0]!r}"
    return errs[0]


# --------------------------------------------------------------------------- murmur2


def murmur2(data: bytes) -> int:
    """Kafka's Utils.murmur2 (signed 32-bit result), as the Java client partitions keys."""
    m, r = 0x5BD1E995, 24
    length = len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(length // 4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    tail, rest = length & ~3, length % 4
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def kafka_partition(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def test_murmur2_matches_kafka_vectors():
    # Vectors from Apache Kafka's UtilsTest.testMurmur2.
    cases = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
        b"abc": 479470107,
    }
    for data, want in cases.items():
        assert murmur2(data) == want, data


# --------------------------------------------------------------------------- usage


def test_help_lists_every_command(gregor_cli):
    c = Cli(gregor_cli, None)
    for args in (["help"], ["--help"]):
        res = c(*args)
        for cmd in ("topic create", "topic list", "topic describe", "topic delete", "produce",
                    "consume", "cluster info", "bench produce", "bench consume", "--brokers"):
            assert cmd in res.stdout, (args, cmd)
    res = c("help", "consume")
    assert "--from-beginning" in res.stdout
    assert c("consume", "--help").stdout == res.stdout


@pytest.mark.parametrize("args, words", [
    ([], ["no command"]),
    (["frobnicate"], ["unknown command 'frobnicate'"]),
    (["topic"], ["topic needs an action"]),
    (["topic", "create"], ["topic NAME is required"]),
    (["topic", "create", "t", "--partitions", "zero"], ["--partitions"]),
    (["produce"], ["TOPIC is required"]),
    (["produce", "t", "--acks", "2"], ["--acks"]),
    (["produce", "t", "--compression", "brotli"], ["--compression"]),
    (["produce", "t", "--key", "k", "--key-separator", ":"], ["exclude"]),
    (["produce", "t", "--idempotent", "--acks", "1"], ["--idempotent"]),
    (["consume", "t", "--format", "xml"], ["--format"]),
    (["consume", "t", "--no-such-option"], ["unknown option '--no-such-option'"]),
    (["consume", "t", "--count"], ["needs a value"]),
    (["bench", "produce"], ["--topic is required"]),
    (["cluster", "status"], ["unknown cluster action"]),
])
def test_usage_errors_exit_1_with_short_usage(gregor_cli, args, words):
    res = Cli(gregor_cli, None)(*args, check=False)
    assert res.returncode == 1, res
    lines = res.stderr.splitlines()
    assert lines[0].startswith("gregor: "), res.stderr
    for w in words:
        assert w in lines[0]
    assert any(line.startswith("usage: ") for line in lines[1:]), res.stderr
    assert res.stdout == ""


# --------------------------------------------------------------------------- topics


def test_topic_create_list_describe_delete(cli, topic):
    res = cli("topic", "create", topic, "--partitions", "3", "--replication-factor", "1",
              "--config", "retention.ms=123456", "--config", "cleanup.policy=compact")
    assert topic in res.stdout

    wait_until(lambda: topic in cli("topic", "list").stdout.split(), timeout=30,
               message="topic in list")

    out = wait_until(lambda: cli("topic", "describe", topic, check=False).stdout, timeout=30,
                     message="describe")
    lines = out.splitlines()
    head = lines[0]
    assert head.startswith(f"Topic: {topic}\t")
    assert "PartitionCount: 3" in head and "ReplicationFactor: 1" in head
    configs = head.split("Configs: ", 1)[1].split(",")
    assert sorted(configs) == ["cleanup.policy=compact", "retention.ms=123456"]
    parts = [line.strip().split("\t") for line in lines[1:]]
    assert [p[1] for p in parts] == ["Partition: 0", "Partition: 1", "Partition: 2"]
    for p in parts:
        fields = dict(f.split(": ", 1) for f in p)
        assert fields["Topic"] == topic
        leader = int(fields["Leader"])
        assert fields["Replicas"] == str(leader) and fields["Isr"] == str(leader)

    # Creating it again fails, unless --if-not-exists.
    res = cli("topic", "create", topic, check=False)
    assert_one_error_line(res, 2, f"topic create {topic}", "already exists")
    assert "already exists" in cli("topic", "create", topic, "--if-not-exists").stdout

    assert topic in cli("topic", "delete", topic).stdout
    wait_until(lambda: topic not in cli("topic", "list").stdout.split(), timeout=30,
               message="topic gone from list")
    res = cli("topic", "delete", topic, check=False)
    assert_one_error_line(res, 2, f"topic delete {topic}", "does not exist")
    assert cli("topic", "delete", topic, "--if-exists").returncode == 0


def test_topic_create_with_broker_defaults(cli, topic):
    cli("topic", "create", topic)
    out = wait_until(lambda: cli("topic", "describe", topic, check=False).stdout, timeout=30,
                     message="describe")
    assert "PartitionCount: 1" in out  # num.partitions defaults to 1 in Kafka and Gregor


def test_topic_list_hides_internal_topics(cli, topic):
    cli.create(topic)
    plain = cli("topic", "list").stdout.split()
    everything = cli("topic", "list", "--internal").stdout.split()
    assert topic in plain
    assert plain == sorted(plain)
    assert not [t for t in plain if t.startswith("__")]
    assert set(plain) <= set(everything)


def test_missing_topic_errors(cli, topic):
    for args in (["topic", "describe", topic], ["topic", "delete", topic],
                 ["consume", topic, "--timeout-ms", "2000"]):
        res = cli(*args, check=False, timeout=30)
        assert_one_error_line(res, 2, topic, "does not exist")
    # Describing a missing topic must not create it.
    assert topic not in cli("topic", "list").stdout.split()


# --------------------------------------------------------------------------- produce / consume


def test_produce_consume_all_formats(cli, topic):
    cli.create(topic, 1)
    lines = ["k1:v1", "k2:v2 with spaces", "k3:", ":empty key", "k5:a:b:c"]
    res = cli("produce", topic, "--key-separator", ":", "--header", "h1=x", "--header", "h2=y=z",
              input="\n".join(lines) + "\n")
    assert "produced 5 records" in res.stderr

    recs = cli.consume_json(topic, 5)
    assert [(r["key"], r["value"]) for r in recs] == [tuple(line.split(":", 1)) for line in lines]
    for i, r in enumerate(recs):
        assert r["topic"] == topic and r["partition"] == 0 and r["offset"] == i
        assert isinstance(r["timestamp"], int) and r["timestamp"] > 1_600_000_000_000
        assert r["headers"] == [{"key": "h1", "value": "x"}, {"key": "h2", "value": "y=z"}]

    kv = cli("consume", topic, "--from-beginning", "--count", "5", "--format", "kv",
             "--timeout-ms", TIMEOUT_MS).stdout
    assert kv.splitlines() == [line.replace(":", "\t", 1) for line in lines]

    vals = cli("consume", topic, "--from-beginning", "--count", "5", "--timeout-ms", TIMEOUT_MS).stdout
    assert vals.splitlines() == [line.split(":", 1)[1] for line in lines]


def test_json_escaping_and_null_key(cli, topic):
    cli.create(topic, 1)
    values = ['quote " backslash \\ tab \t end', "unicode é ✓ 𝄞", "ctrl \x01\x1f", "cr\rinside"]
    raw = b"\n".join(v.encode() for v in values) + b"\n" + b"bad \xff\xfe utf8\n"
    cli("produce", topic, input=raw, text=False)
    recs = cli.consume_json(topic, 5)
    assert [r["value"] for r in recs[:4]] == values
    assert recs[4]["value"] == "bad \ufffd\ufffd utf8"
    assert all(r["key"] is None for r in recs)
    assert all(r["headers"] == [] for r in recs)
    # The null key prints as null in kv format (like Kafka's console consumer).
    kv = cli("consume", topic, "--from-beginning", "--count", "1", "--format", "kv",
             "--timeout-ms", TIMEOUT_MS).stdout
    assert kv.startswith("null\t")


def test_crlf_and_last_line_without_newline(cli, topic):
    cli.create(topic, 1)
    cli("produce", topic, input="a\r\nb\n\nc")
    recs = cli.consume_json(topic, 4)
    assert [r["value"] for r in recs] == ["a", "b", "", "c"]


@pytest.mark.parametrize("acks", ACKS)
@pytest.mark.parametrize("codec", CODECS)
def test_produce_every_compression_and_acks(cli, topic, codec, acks):
    cli.create(topic, 2)
    values = [f"{codec}-{acks}-{i}-" + "x" * (i % 50) for i in range(200)]
    res = cli("produce", topic, "--compression", codec, "--acks", acks, "--key", "same-key",
              input="\n".join(values) + "\n")
    assert "produced 200 records" in res.stderr
    recs = cli.consume_json(topic, 200)
    assert [r["value"] for r in recs] == values  # one key: one partition, in order
    assert {r["partition"] for r in recs} == {kafka_partition(b"same-key", 2)}


def test_keyed_records_land_on_murmur2_partition(cli, topic):
    n = 7
    cli.create(topic, n)
    keys = [f"key-{i}" for i in range(300)] + ["", "a", "ab", "abc", "é✓"]
    res = cli("produce", topic, "--key-separator", "\t",
              input="".join(f"{k}\tvalue of {k}\n" for k in keys))
    assert f"produced {len(keys)} records" in res.stderr
    recs = cli.consume_json(topic, len(keys))
    got = {r["key"]: r["partition"] for r in recs}
    assert set(got) == set(keys)
    wrong = {k: (p, kafka_partition(k.encode(), n)) for k, p in got.items()
             if p != kafka_partition(k.encode(), n)}
    assert not wrong
    assert len(set(got.values())) == n  # 300 keys reach every partition


def test_unkeyed_records_spread_and_explicit_partition(cli, topic):
    cli.create(topic, 3)
    cli("produce", topic, "--partition", "2", input="".join(f"p{i}\n" for i in range(20)))
    only2 = cli("consume", topic, "--partition", "2", "--from-beginning", "--count", "20",
                "--format", "json", "--timeout-ms", TIMEOUT_MS).stdout.splitlines()
    assert [json.loads(x)["value"] for x in only2] == [f"p{i}" for i in range(20)]
    none0 = cli("consume", topic, "--partition", "0", "--from-beginning", "--timeout-ms", "1500")
    assert none0.stdout == "" and "consumed 0 records" in none0.stderr

    res = cli("produce", topic, "--partition", "3", input="x\n", check=False)
    assert_one_error_line(res, 2, "partition 3 does not exist")


def test_consume_offsets(cli, topic):
    cli.create(topic, 1)
    cli("produce", topic, input="".join(f"r{i}\n" for i in range(10)))

    def values(*args):
        out = cli("consume", topic, *args, "--timeout-ms", "3000").stdout
        return out.splitlines()

    assert values("--offset", "7") == ["r7", "r8", "r9"]
    assert values("--offset", "-2") == ["r8", "r9"]
    assert values("--offset", "earliest", "--count", "2") == ["r0", "r1"]
    assert values("--from-beginning", "--count", "3") == ["r0", "r1", "r2"]
    assert values("--offset", "latest") == []
    assert values() == []  # the default start is the end, like Kafka's console consumer


def test_consume_latest_sees_new_records(cli, topic, gregor_cli, bootstrap):
    cli.create(topic, 1)
    cli("produce", topic, input="old\n")
    proc = subprocess.Popen([str(gregor_cli), "--brokers", bootstrap, "consume", topic, "--count", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Produce until the consumer (started at the end) has picked a record up.
        def produced_and_seen():
            cli("produce", topic, input="new\n")
            return proc.poll() is not None
        wait_until(produced_and_seen, timeout=30, interval=0.5, message="consumer to see a new record")
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert out == "new\n"


def test_consume_stops_on_sigint(cli, topic, gregor_cli, bootstrap):
    cli.create(topic, 1)
    cli("produce", topic, input="a\nb\n")
    proc = subprocess.Popen([str(gregor_cli), "--brokers", bootstrap, "consume", topic, "--from-beginning"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        for _ in range(2):
            lines.append(proc.stdout.readline())
        proc.send_signal(2)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert lines == ["a\n", "b\n"]
    assert proc.returncode == 0, err
    assert "consumed 2 records" in err


def test_produce_from_file_and_idempotent(cli, topic, broker_kind, tmp_path):
    needs(broker_kind, "idempotence")
    cli.create(topic, 1)
    f = tmp_path / "in.txt"
    f.write_text("".join(f"line {i}\n" for i in range(50)))
    res = cli("produce", topic, "--file", str(f), "--idempotent", "--acks", "all")
    assert "produced 50 records" in res.stderr
    recs = cli.consume_json(topic, 50)
    assert [r["value"] for r in recs] == [f"line {i}" for i in range(50)]


def test_produce_to_missing_topic_creates_it_when_broker_allows(cli, topic, broker_kind):
    needs(broker_kind, "auto_create")  # auto.create.topics.enable=true
    res = cli("produce", topic, input="first\n")
    assert "produced 1 records" in res.stderr
    assert [r["value"] for r in cli.consume_json(topic, 1)] == ["first"]


def test_produce_bad_input(cli, topic, tmp_path):
    cli.create(topic, 1)
    res = cli("produce", topic, "--file", str(tmp_path / "missing.txt"), check=False)
    assert_one_error_line(res, 1, "missing.txt")
    res = cli("produce", topic, "--key-separator", "=", input="a=1\nno separator\n", check=False)
    assert res.returncode == 1
    assert "line 2 has no key separator" in res.stderr
    assert "produced 1 records" in res.stderr  # what came before is still delivered


def test_consume_group(cli, topic, broker_kind):
    needs(broker_kind, "groups")
    cli.create(topic, 2)
    cli("produce", topic, "--key-separator", ":", input="".join(f"k{i}:v{i}\n" for i in range(20)))
    group = unique_name("grp")
    first = cli("consume", topic, "--group", group, "--from-beginning", "--count", "12",
                "--timeout-ms", TIMEOUT_MS).stdout.splitlines()
    assert len(first) == 12
    # The group committed its offsets on close: a new member reads only the rest.
    rest = cli("consume", topic, "--group", group, "--from-beginning", "--timeout-ms", "5000").stdout.splitlines()
    assert sorted(first + rest) == sorted(f"v{i}" for i in range(20))


# --------------------------------------------------------------------------- cluster, env


def test_cluster_info(cli, bootstrap):
    cli.create(unique_name("cluster-info"), 1)
    out = cli("cluster", "info").stdout
    assert out.startswith("Cluster ID: ")
    assert "Controller: " in out and "Brokers: 1" in out
    port = int(bootstrap.rsplit(":", 1)[1])
    info = json.loads(cli("cluster", "info", "--json").stdout)
    assert info["cluster_id"]
    assert [b["port"] for b in info["brokers"]] == [port]
    assert info["controller_id"] in [b["id"] for b in info["brokers"]]
    assert info["topics"] >= 1


def test_brokers_from_environment(gregor_cli, bootstrap, topic):
    c = Cli(gregor_cli, None)
    c("topic", "create", topic, env={"GREGOR_BROKERS": bootstrap})
    assert topic in c("topic", "list", env={"GREGOR_BROKERS": bootstrap}).stdout.split()
    # --brokers wins over the environment.
    bad = f"127.0.0.1:{closed_port()}"
    assert topic in c("topic", "list", brokers=bootstrap, env={"GREGOR_BROKERS": bad}).stdout.split()


@pytest.mark.parametrize("args", [
    ["topic", "list"],
    ["topic", "create", "t"],
    ["topic", "describe", "t"],
    ["topic", "delete", "t"],
    ["produce", "t"],
    ["consume", "t"],
    ["consume", "t", "--group", "g"],
    ["cluster", "info"],
    ["bench", "produce", "--topic", "t", "--records", "10"],
    ["bench", "consume", "--topic", "t"],
])
def test_unreachable_broker(gregor_cli, args):
    addr = f"127.0.0.1:{closed_port()}"
    start = time.monotonic()
    res = Cli(gregor_cli, addr)("--request-timeout-ms", "5000", *args, input="x\n", check=False, timeout=30)
    assert time.monotonic() - start < 15
    line = assert_one_error_line(res, 2, addr)
    assert "Connection refused" in line or "cannot reach" in line or "timed out" in line.lower()
    assert res.stdout == ""


# --------------------------------------------------------------------------- bench


def test_bench_produce_and_consume_json(cli, topic):
    res = cli("bench", "produce", "--topic", topic, "--records", "5000", "--record-size", "200",
              "--partitions-create", "3", "--acks", "1", "--compression", "lz4", "--json")
    p = json.loads(res.stdout)
    assert p["bench"] == "produce" and p["topic"] == topic
    assert p["records"] == 5000 and p["failed"] == 0 and p["record_size"] == 200
    assert p["acks"] == "1" and p["compression"] == "lz4"
    assert p["records_per_sec"] > 0 and p["mb_per_sec"] > 0 and p["elapsed_s"] > 0
    lat = p["latency_ms"]
    assert 0 <= lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]

    c = json.loads(cli("bench", "consume", "--topic", topic, "--json").stdout)
    assert c["bench"] == "consume" and c["records"] == 5000 and c["bytes"] == 5000 * 200
    assert c["records_per_sec"] > 0

    c = json.loads(cli("bench", "consume", "--topic", topic, "--records", "1000", "--json").stdout)
    assert c["records"] == 1000

    res = cli("bench", "consume", "--topic", topic, "--records", "6000", "--timeout-ms", "1000",
              "--json", check=False)
    assert_one_error_line(res, 2, "only 5000 of 6000")


def test_bench_summary_line_and_progress(cli, topic):
    cli.create(topic, 1)
    res = cli("bench", "produce", "--topic", topic, "--records", "3000", "--rate", "2000")
    assert "3000 records sent" in res.stdout and "records/s" in res.stdout
    assert "p50" in res.stdout and "p99" in res.stdout and "max" in res.stdout
    # The run takes ~1.5 s at 2000 records/s, so one progress line went to stderr.
    assert "records sent" in res.stderr
    res = cli("bench", "consume", "--topic", topic)
    assert "3000 records received" in res.stdout
