"""`gregor group list|describe|delete|reset-offsets` and `gregor consume --group` (src/cli/group.c,
src/cli/consume.c) against a real broker, in the spirit of kafka-consumer-groups.sh.

Every test runs against the reference Apache Kafka (conftest's `kafka_ref`) and against a Gregor
broker (`broker`). The Gregor variant skips itself until Gregor advertises FindCoordinator in
ApiVersions (probed once per session with a throwaway broker), so these tests switch on by
themselves when the broker gains consumer groups.

Output formats the tests read (columns separated by runs of spaces, "-" for none):
  group list        GROUP STATE TYPE ASSIGNOR
  group describe    KEY VALUE lines (GROUP, COORDINATOR, STATE, ASSIGNOR, MEMBERS, TOTAL-LAG),
                    then, when there are members, CONSUMER-ID HOST CLIENT-ID #PARTITIONS ASSIGNMENT,
                    then TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID;
                    blocks separated by an empty line
  reset-offsets     GROUP TOPIC PARTITION NEW-OFFSET
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import signal
import subprocess
import tempfile
import time

import pytest

from helpers import unique_name, wait_until
from test_cli import Cli, assert_one_error_line, cli_bin

FIND_COORDINATOR = 10
TIMEOUT_MS = "20000"  # idle bound for consumes that expect records


@functools.lru_cache(maxsize=None)
def gregor_has_groups() -> bool:
    """Whether a Gregor broker advertises FindCoordinator: starts one briefly and asks."""
    from gregor_broker import Broker, gregor_bin

    if not gregor_bin().exists():
        return False
    with tempfile.TemporaryDirectory(prefix="gregor-groups-probe-") as d:
        b = Broker(d)
        try:
            b.start()
            return FIND_COORDINATOR in (b.api_versions.versions if b.api_versions else {})
        except Exception:  # noqa: BLE001 - a broker that does not start has no groups either
            return False
        finally:
            b.stop()


BROKERS = [
    "kafka",
    # A string condition is evaluated at setup, so collecting never starts a broker.
    pytest.param("gregor", marks=pytest.mark.skipif("not gregor_has_groups()",
                                                    reason="Gregor does not advertise FindCoordinator yet")),
]


@pytest.fixture(scope="session")
def gregor_cli():
    path = cli_bin()
    if not os.access(path, os.X_OK):
        pytest.skip(f"{path} missing (run `make`, or set GREGOR_BIN)")
    return path


@pytest.fixture(params=BROKERS)
def bootstrap(request, gregor_cli) -> str:
    if request.param == "kafka":
        return request.getfixturevalue("kafka_ref").bootstrap
    return request.getfixturevalue("broker").bootstrap


@pytest.fixture
def cli(gregor_cli, bootstrap) -> Cli:
    return Cli(gregor_cli, bootstrap)


@pytest.fixture
def topic(request) -> str:
    return unique_name(request.node.name)


@pytest.fixture
def group() -> str:
    return unique_name("grp")


# --------------------------------------------------------------------------- helpers


def parse_table(lines: list[str]) -> list[dict[str, str]]:
    header = lines[0].split()
    rows = []
    for line in lines[1:]:
        cells = line.split(None, len(header) - 1)
        assert len(cells) == len(header), f"bad row {line!r} for {header}"
        rows.append(dict(zip(header, cells)))
    return rows


def describe(cli: Cli, group: str) -> dict:
    """{"head": {KEY: VALUE}, "members": [rows], "partitions": {(topic, partition): row}}."""
    out = cli("group", "describe", group).stdout
    blocks = [b.splitlines() for b in out.strip("\n").split("\n\n")]
    head = dict(line.split(None, 1) for line in blocks[0])
    members, partitions = [], {}
    for b in blocks[1:]:
        if b[0].split()[0] == "CONSUMER-ID":
            members = parse_table(b)
        elif b[0].split()[0] == "TOPIC":
            partitions = {(r["TOPIC"], int(r["PARTITION"])): r for r in parse_table(b)}
        else:
            raise AssertionError(f"unknown block {b!r} in {out!r}")
    return {"head": head, "members": members, "partitions": partitions}


def committed(cli: Cli, group: str, topic: str) -> dict[int, int | None]:
    """partition -> committed offset (None for "-") of the group on topic."""
    return {p: None if r["CURRENT-OFFSET"] == "-" else int(r["CURRENT-OFFSET"])
            for (t, p), r in describe(cli, group)["partitions"].items() if t == topic}


def list_groups(cli: Cli, *args: str) -> dict[str, dict[str, str]]:
    rows = parse_table(cli("group", "list", *args).stdout.splitlines())
    return {r["GROUP"]: r for r in rows}


def reset(cli: Cli, group: str, topic: str, *args: str) -> dict[int, int]:
    """Runs reset-offsets and returns its plan: partition -> new offset."""
    rows = parse_table(cli("group", "reset-offsets", group, "--topic", topic, *args).stdout.splitlines())
    assert all(r["GROUP"] == group and r["TOPIC"] == topic for r in rows), rows
    return {int(r["PARTITION"]): int(r["NEW-OFFSET"]) for r in rows}


def produce_to(cli: Cli, topic: str, partition: int, values: list[str]) -> None:
    cli("produce", topic, "--partition", str(partition), input="".join(v + "\n" for v in values))


def consume_group(cli: Cli, topic: str, group: str, count: int) -> list[str]:
    res = cli("consume", topic, "--group", group, "--from-beginning", "--count", str(count),
              "--timeout-ms", TIMEOUT_MS)
    lines = res.stdout.splitlines()
    assert len(lines) == count, f"expected {count} records, got {len(lines)}: {res.stderr!r}"
    return lines


class BackgroundConsumer:
    """`gregor consume TOPIC --group G --from-beginning` running until stop()."""

    def __init__(self, cli: Cli, topic: str, group: str):
        cmd = [str(cli.binary), "--brokers", cli.bootstrap, "consume", topic, "--group", group,
               "--from-beginning"]
        env = dict(os.environ)
        env.pop("GREGOR_BROKERS", None)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)

    def stop(self) -> tuple[int, str, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError(f"consumer did not stop on SIGTERM: {err!r}") from None
        return self.proc.returncode, out, err


# --------------------------------------------------------------------------- usage


@pytest.mark.parametrize("args, msg", [
    (["group"], "group needs an action"),
    (["group", "frobnicate"], "unknown group action 'frobnicate'"),
    (["group", "describe"], "a GROUP is required"),
    (["group", "describe", "a", "b"], "unexpected argument 'b'"),
    (["group", "list", "--state", "Sleepy"], "--state takes"),
    (["group", "reset-offsets", "g", "--to-earliest"], "needs --topic"),
    (["group", "reset-offsets", "g", "--topic", "t"], "needs one of --to-earliest"),
    (["group", "reset-offsets", "g", "--topic", "t", "--to-earliest", "--to-latest"], "give one of"),
    (["group", "reset-offsets", "g", "--topic", "t", "--to-offset", "-1"], "--to-offset needs"),
    (["group", "reset-offsets", "g", "--topic", "t", "--to-datetime", "2026-11-25"], "--to-datetime needs"),
    (["group", "reset-offsets", "g", "--topic", "t", "--to-datetime", "2026-13-25T00:00:00"],
     "--to-datetime needs"),
])
def test_usage_errors(gregor_cli, args, msg):
    res = Cli(gregor_cli, "127.0.0.1:1")(*args, check=False)
    assert res.returncode == 1, res
    assert res.stderr.startswith(f"gregor: ") and msg in res.stderr.splitlines()[0], res.stderr
    assert res.stdout == ""


def test_help_lists_group_commands(gregor_cli):
    c = Cli(gregor_cli, None)
    for args in (["help"], ["help", "group"], ["group", "--help"]):
        out = c(*args).stdout
        for words in ("group list", "group describe", "group delete", "group reset-offsets",
                      "--to-datetime", "--dry-run"):
            assert words in out, (args, words)


def test_unreachable_broker_is_one_error_line(gregor_cli):
    res = Cli(gregor_cli, "127.0.0.1:1")("group", "list", "--request-timeout-ms", "3000", check=False, timeout=30)
    assert_one_error_line(res, 2, "group list")


# --------------------------------------------------------------------------- list, describe, delete


def test_list_describe_delete(cli, topic, group):
    cli.create(topic, 3)
    for p in range(3):
        produce_to(cli, topic, p, [f"p{p}-{i}" for i in range(10)])
    assert sorted(consume_group(cli, topic, group, 30)) == sorted(f"p{p}-{i}" for p in range(3) for i in range(10))

    # consume --group committed what it printed before exiting.
    groups = list_groups(cli)
    assert groups[group]["STATE"] == "Empty" and groups[group]["TYPE"] == "consumer"
    assert group in list_groups(cli, "--state", "Empty")
    assert group in list_groups(cli, "--state", "empty,Stable")
    assert group not in list_groups(cli, "--state", "Stable")

    d = describe(cli, group)
    assert d["head"]["GROUP"] == group
    assert d["head"]["STATE"] == "Empty"
    assert d["head"]["MEMBERS"] == "0" and d["members"] == []
    assert d["head"]["COORDINATOR"] != "-"
    assert d["head"]["TOTAL-LAG"] == "0"
    assert sorted(d["partitions"]) == [(topic, p) for p in range(3)]
    for r in d["partitions"].values():
        assert (r["CURRENT-OFFSET"], r["LOG-END-OFFSET"], r["LAG"], r["CONSUMER-ID"]) == ("10", "10", "0", "-")

    # Lag follows the log end.
    produce_to(cli, topic, 1, [f"more-{i}" for i in range(5)])
    d = describe(cli, group)
    assert d["head"]["TOTAL-LAG"] == "5"
    r = d["partitions"][(topic, 1)]
    assert (r["CURRENT-OFFSET"], r["LOG-END-OFFSET"], r["LAG"]) == ("10", "15", "5")

    # A member of the group resumes at the committed offsets and commits as it goes.
    assert consume_group(cli, topic, group, 2) == ["more-0", "more-1"]
    r = describe(cli, group)["partitions"][(topic, 1)]
    assert (r["CURRENT-OFFSET"], r["LOG-END-OFFSET"], r["LAG"]) == ("12", "15", "3")

    assert cli("group", "delete", group).stdout == f"deleted group {group}\n"
    assert group not in list_groups(cli)
    assert_one_error_line(cli("group", "describe", group, check=False), 2, "does not exist", group)
    assert_one_error_line(cli("group", "delete", group, check=False), 2, "does not exist", group)


def test_describe_unknown_group(cli):
    g = unique_name("nosuch")
    assert_one_error_line(cli("group", "describe", g, check=False), 2, f"group describe {g}", "does not exist")


def test_active_member_blocks_reset_and_delete(cli, topic, group):
    cli.create(topic, 2)
    produce_to(cli, topic, 0, [f"a{i}" for i in range(4)])
    produce_to(cli, topic, 1, [f"b{i}" for i in range(3)])
    bg = BackgroundConsumer(cli, topic, group)
    try:
        def stable_and_committed():
            d = describe(cli, group)
            parts = d["partitions"]
            ok = (d["head"]["STATE"] == "Stable" and len(d["members"]) == 1
                  and [parts.get((topic, p), {}).get("CURRENT-OFFSET") for p in range(2)] == ["4", "3"])
            return d if ok else None

        # The running member commits as it goes (not only when it exits).
        d = wait_until(stable_and_committed, timeout=60, interval=0.5, message="a Stable group with commits")
        m = d["members"][0]
        assert m["CLIENT-ID"] == "gregor-cli" and m["#PARTITIONS"] == "2"
        assert m["ASSIGNMENT"] == f"{topic}(0,1)"
        assert d["head"]["ASSIGNOR"] != "-"
        for p in range(2):
            r = d["partitions"][(topic, p)]
            assert r["CONSUMER-ID"] == m["CONSUMER-ID"] and r["HOST"] == m["HOST"] and r["LAG"] == "0"
        assert list_groups(cli, "--state", "Stable")[group]["ASSIGNOR"] == d["head"]["ASSIGNOR"]

        # Kafka refuses both while the group has members; so do we.
        res = cli("group", "reset-offsets", group, "--topic", topic, "--to-earliest", check=False)
        assert_one_error_line(res, 2, f"group reset-offsets {group}", "inactive", "current state is Stable")
        assert res.stdout == ""
        res = cli("group", "reset-offsets", group, "--topic", topic, "--to-earliest", "--dry-run", check=False)
        assert_one_error_line(res, 2, "inactive")
        assert_one_error_line(cli("group", "delete", group, check=False), 2, "not empty")
    finally:
        rc, out, err = bg.stop()
    assert rc == 0, err
    assert sorted(out.splitlines()) == sorted([f"a{i}" for i in range(4)] + [f"b{i}" for i in range(3)])

    # The member left on exit: the group is Empty and can be reset again.
    wait_until(lambda: describe(cli, group)["head"]["STATE"] == "Empty", timeout=30, message="an Empty group")
    assert reset(cli, group, topic, "--to-earliest") == {0: 0, 1: 0}
    assert committed(cli, group, topic) == {0: 0, 1: 0}


# --------------------------------------------------------------------------- reset-offsets


def test_reset_offsets(cli, topic, group):
    cli.create(topic, 2)
    produce_to(cli, topic, 0, [f"a{i}" for i in range(10)])
    produce_to(cli, topic, 1, [f"b{i}" for i in range(6)])
    consume_group(cli, topic, group, 16)
    assert committed(cli, group, topic) == {0: 10, 1: 6}

    # A dry run prints the plan and commits nothing.
    res = cli("group", "reset-offsets", group, "--topic", topic, "--to-earliest", "--dry-run")
    assert res.stdout.splitlines()[0].split() == ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]
    assert reset(cli, group, topic, "--to-earliest", "--dry-run") == {0: 0, 1: 0}
    assert committed(cli, group, topic) == {0: 10, 1: 6}

    assert reset(cli, group, topic, "--to-earliest") == {0: 0, 1: 0}
    d = describe(cli, group)
    assert committed(cli, group, topic) == {0: 0, 1: 0}
    assert d["head"]["TOTAL-LAG"] == "16"

    assert reset(cli, group, topic, "--to-latest") == {0: 10, 1: 6}
    assert committed(cli, group, topic) == {0: 10, 1: 6}

    # One partition only; the other keeps its offset.
    assert reset(cli, group, topic, "--to-offset", "3", "--partition", "1") == {1: 3}
    assert committed(cli, group, topic) == {0: 10, 1: 3}
    # A member resumes at the new offset.
    assert consume_group(cli, topic, group, 3) == ["b3", "b4", "b5"]

    # Out-of-range offsets are clamped into the log, as Kafka's tool does.
    assert reset(cli, group, topic, "--to-offset", "100") == {0: 10, 1: 6}
    assert reset(cli, group, topic, "--to-offset", "4", "--execute") == {0: 4, 1: 4}
    assert committed(cli, group, topic) == {0: 4, 1: 4}

    # A group that does not exist yet can be given offsets, as with Kafka.
    fresh = unique_name("grp-new")
    assert reset(cli, fresh, topic, "--to-offset", "2") == {0: 2, 1: 2}
    assert committed(cli, fresh, topic) == {0: 2, 1: 2}

    res = cli("group", "reset-offsets", group, "--topic", topic, "--to-latest", "--partition", "7", check=False)
    assert_one_error_line(res, 2, "partition 7 does not exist")
    res = cli("group", "reset-offsets", group, "--topic", unique_name("nosuch"), "--to-latest", check=False)
    assert_one_error_line(res, 2, "does not exist")
    assert committed(cli, group, topic) == {0: 4, 1: 4}


def iso(ms: int, tz: dt.tzinfo | None = dt.timezone.utc, suffix: str = "Z") -> str:
    t = dt.datetime.fromtimestamp(ms / 1000, tz)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}" + suffix


def test_reset_offsets_to_datetime(cli, topic, group):
    cli.create(topic, 1)
    produce_to(cli, topic, 0, [f"old{i}" for i in range(5)])
    # Every record before the mark is older than it, every record after is newer.
    mark = int(time.time() * 1000) + 1
    wait_until(lambda: int(time.time() * 1000) > mark, timeout=5, interval=0.001, message="the clock to pass the mark")
    produce_to(cli, topic, 0, [f"new{i}" for i in range(7)])
    consume_group(cli, topic, group, 12)
    assert committed(cli, group, topic) == {0: 12}

    assert reset(cli, group, topic, "--to-datetime", iso(mark), "--dry-run") == {0: 5}
    assert committed(cli, group, topic) == {0: 12}
    assert reset(cli, group, topic, "--to-datetime", iso(mark)) == {0: 5}
    assert committed(cli, group, topic) == {0: 5}
    assert consume_group(cli, topic, group, 2) == ["new0", "new1"]

    # Offsets in the zone forms: +HH:MM, and local time when none is given.
    plus2 = dt.timezone(dt.timedelta(hours=2))
    assert reset(cli, group, topic, "--to-datetime", iso(mark, plus2, "+02:00")) == {0: 5}
    assert reset(cli, group, topic, "--to-datetime", iso(mark, None, "")) == {0: 5}
    # Before every record: the start; after every record: the log end.
    assert reset(cli, group, topic, "--to-datetime", "2000-01-01T00:00:00Z") == {0: 0}
    assert reset(cli, group, topic, "--to-datetime", "2200-01-01T00:00:00Z") == {0: 12}
    assert committed(cli, group, topic) == {0: 12}
