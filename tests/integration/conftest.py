"""Fixtures for Gregor's integration tests.

Brokers are real processes on 127.0.0.1, driven by real clients. Nothing here sleeps to
synchronise: every wait polls a condition against a deadline.

Fixtures
  free_port        -> callable returning a free TCP port on 127.0.0.1
  topic_name       -> a topic name unique to this run (helpers.unique_name)
  broker           -> a started Gregor broker (Broker), stopped after the test
  broker_factory   -> callable(**Broker kwargs) starting more brokers, all stopped after the test
  kafka_ref        -> session-wide reference Apache Kafka (kafka_ref.KafkaRef), skipped if its
                      jars are missing (scripts/setup.sh installs them)
  java_client      -> runs tests/java/client (Kafka's Java client), returns parsed JSON lines
  node             -> runs tests/node/<script>.js, returns parsed JSON lines

Environment
  GREGOR_BIN       broker binary (default <repo>/build/gregor)
  GREGOR_CACHE     jar cache (default ~/.cache/gregor), GREGOR_KAFKA_VERSION (default 4.1.1)
  GREGOR_START_TIMEOUT  seconds to wait for a Gregor broker to answer (default 30)

Generic helpers (wait_until, unique_name, run_json_lines) live in helpers.py; raw protocol
helpers (KafkaConnection, api_versions) in kafka_wire.py; Kafka's CLI tools in kafka_tools.py.

On a failing test the tails of the broker logs (and the reference Kafka log, when the test
used it) are added to the report.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from kafka_wire import free_port as _free_port  # noqa: E402
from gregor_broker import REPO_ROOT, LOG_TAIL_LINES, Broker, BrokerError, gregor_bin  # noqa: E402,F401
from helpers import JsonLines, opts_to_args, run_json_lines, unique_name  # noqa: E402
import kafka_ref as _kafka_ref  # noqa: E402

JAVA_CLIENT_JAR = REPO_ROOT / "tests" / "java" / "client" / "target" / "gregor-java-client.jar"
NODE_DIR = REPO_ROOT / "tests" / "node"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def free_port():
    """A function returning a free TCP port on 127.0.0.1 (never the same one twice)."""
    return _free_port


@pytest.fixture
def topic_name(request) -> str:
    """A topic name unique to this test run, derived from the test's name."""
    return unique_name(request.node.name)


@pytest.fixture
def broker_factory(request, tmp_path):
    """make(**kwargs) -> started Broker; kwargs as Broker(), workdir defaults to tmp_path/gregor-N.
    Every broker made is stopped at teardown (SIGTERM, then SIGKILL + error)."""
    brokers: list[Broker] = []
    request.node._gregor_brokers = brokers

    def make(workdir=None, start: bool = True, **kwargs) -> Broker:
        b = Broker(workdir or tmp_path / f"gregor-{len(brokers) + 1}", **kwargs)
        brokers.append(b)
        if start:
            b.start()
        return b

    yield make
    errors = []
    for b in brokers:
        try:
            b.stop()
        except BrokerError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


@pytest.fixture
def broker(broker_factory) -> Broker:
    """A started single Gregor broker on a free port with an empty data dir."""
    return broker_factory()


_session_kafka_ref: _kafka_ref.KafkaRef | None = None


@pytest.fixture(scope="session")
def kafka_ref(tmp_path_factory):
    """The reference Apache Kafka (single-node KRaft), shared by the whole session."""
    global _session_kafka_ref
    if not _kafka_ref.kafka_available():
        pytest.skip(_kafka_ref.missing_reason())
    k = _kafka_ref.KafkaRef(tmp_path_factory.mktemp("kafka-ref"))
    k.start()
    _session_kafka_ref = k
    yield k
    _session_kafka_ref = None
    k.stop(check=False)


class JavaClient:
    """java_client("produce", bootstrap=b, topic="t", count=10, headers=True) runs
    `java -jar gregor-java-client.jar produce --bootstrap b --topic t --count 10 --headers`.
    Positional strings are passed through as-is; keyword options become --kebab-case flags
    (True: bare flag, list: repeated). Returns JsonLines. See tests/java/client/.../JavaClient.java."""

    def __init__(self, jar: Path = JAVA_CLIENT_JAR):
        self.jar = jar

    def __call__(self, subcommand: str, *args: object, timeout: float = 120, check: bool = True,
                 heap: str = "256m", **opts) -> JsonLines:
        cmd = [_kafka_ref.java_bin(), f"-Xmx{heap}", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
               "-jar", str(self.jar), subcommand, *[str(a) for a in args], *opts_to_args(opts)]
        return run_json_lines(cmd, timeout=timeout, check=check)


@pytest.fixture(scope="session")
def java_client() -> JavaClient:
    if not JAVA_CLIENT_JAR.exists():
        pytest.skip(f"{JAVA_CLIENT_JAR} missing (run `bash scripts/setup.sh`)")
    return JavaClient()


class Node:
    """node("smoke", bootstrap=b, topic="t") runs `node tests/node/smoke.js --bootstrap b --topic t`
    and returns JsonLines."""

    def __init__(self, directory: Path = NODE_DIR):
        self.dir = directory
        self.node = shutil.which("node") or "node"

    def __call__(self, script: str, *args: object, timeout: float = 120, check: bool = True,
                 **opts) -> JsonLines:
        path = self.dir / (script if script.endswith((".js", ".mjs")) else script + ".js")
        cmd = [self.node, str(path), *[str(a) for a in args], *opts_to_args(opts)]
        return run_json_lines(cmd, timeout=timeout, check=check, cwd=self.dir)


@pytest.fixture(scope="session")
def node() -> Node:
    if not (NODE_DIR / "node_modules").is_dir() or not shutil.which("node"):
        pytest.skip(f"node or {NODE_DIR}/node_modules missing (run `bash scripts/setup.sh`)")
    return Node()


# --------------------------------------------------------------------------- reporting


def pytest_collection_modifyitems(config, items):
    # A default per-test timeout when pytest-timeout is installed and none was chosen.
    if config.pluginmanager.hasplugin("timeout") and not config.getoption("timeout", None):
        for item in items:
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(300))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    for b in getattr(item, "_gregor_brokers", []):
        for title, text in b.log_sections():
            rep.sections.append((f"{title} ({rep.when})", text))
    if "kafka_ref" in getattr(item, "fixturenames", ()) and _session_kafka_ref is not None:
        rep.sections.append((f"reference kafka log {_session_kafka_ref.log_path} ({rep.when})",
                             _session_kafka_ref.log_tail(LOG_TAIL_LINES)))
