"""Reference Apache Kafka broker for differential and harness tests.

scripts/setup.sh resolves Apache Kafka (broker + tools jars) from Maven Central into
    ${GREGOR_CACHE:-~/.cache/gregor}/kafka-<version>/*.jar
and writes a `.complete` marker there when the copy finished. This module runs a
single-node KRaft Kafka (broker + controller in one JVM) from that classpath:

    with KafkaRef(workdir) as k:       # formats storage, starts, waits for ApiVersions
        k.bootstrap                    # "127.0.0.1:<port>"

Main classes (Kafka 4.1): storage formatting `kafka.tools.StorageTool`, the server
`kafka.Kafka`; the CLI tools are in kafka_tools.py.

Environment: GREGOR_CACHE, GREGOR_KAFKA_VERSION (default 4.1.1), GREGOR_KAFKA_LOG_LEVEL (broker
log level, default INFO, written to <workdir>/kafka.log), GREGOR_KAFKA_TOOLS_LOG_LEVEL (default
WARN, to stderr), GREGOR_KAFKA_JVM_OPTS (extra JVM flags; the defaults favour start-up time:
-XX:+UseSerialGC -XX:TieredStopAtLevel=1, override with e.g. -XX:TieredStopAtLevel=4 for
throughput comparisons).
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from helpers import die_with_parent
from kafka_wire import free_port, wait_for_api_versions

DEFAULT_KAFKA_VERSION = "4.1.1"

STORAGE_TOOL_CLASS = "kafka.tools.StorageTool"
KAFKA_SERVER_CLASS = "kafka.Kafka"


def kafka_version() -> str:
    return os.environ.get("GREGOR_KAFKA_VERSION", DEFAULT_KAFKA_VERSION)


def cache_root() -> Path:
    env = os.environ.get("GREGOR_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "gregor"


def kafka_dir(version: str | None = None) -> Path:
    return cache_root() / f"kafka-{version or kafka_version()}"


def kafka_available(version: str | None = None) -> bool:
    d = kafka_dir(version)
    return (d / ".complete").is_file() and any(d.glob("kafka_2.13-*.jar"))


def missing_reason(version: str | None = None) -> str:
    return (f"Apache Kafka jars not found in {kafka_dir(version)} "
            f"(run `bash scripts/setup.sh`; GREGOR_CACHE / GREGOR_KAFKA_VERSION select the cache)")


def java_bin() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise RuntimeError("java not found on PATH (run `bash scripts/setup.sh`)")
    return found


LOG4J2_TO_STDOUT = """\
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.target = SYSTEM_OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = {level}
rootLogger.appenderRef.out.ref = OUT
logger.kafka.name = kafka
logger.kafka.level = {level}
logger.apache.name = org.apache.kafka
logger.apache.level = {level}
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""

LOG4J2_TO_STDERR = """\
status = error
appender.err.type = Console
appender.err.name = ERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = {level}
rootLogger.appenderRef.err.ref = ERR
"""

_tools_log_config: Path | None = None


def tools_log4j_config() -> Path:
    """A log4j2 config for short-lived tools: WARN and above to stderr."""
    global _tools_log_config
    if _tools_log_config is None or not _tools_log_config.exists():
        fd, name = tempfile.mkstemp(prefix="gregor-tools-log4j2-", suffix=".properties")
        with os.fdopen(fd, "w") as f:
            f.write(LOG4J2_TO_STDERR.format(level=os.environ.get("GREGOR_KAFKA_TOOLS_LOG_LEVEL", "WARN")))
        _tools_log_config = Path(name)
        atexit.register(lambda p=_tools_log_config: p.unlink(missing_ok=True))
    return _tools_log_config


def java_cmd(main_class: str, *args: str, heap: str = "256m", log_config: Path | None = None,
             version: str | None = None, jvm_opts: list[str] | None = None) -> list[str]:
    """Command line running `main_class` from the Kafka classpath in the cache."""
    d = kafka_dir(version)
    if not kafka_available(version):
        raise RuntimeError(missing_reason(version))
    cmd = [java_bin(), f"-Xmx{heap}", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
           "-Djava.awt.headless=true",
           f"-Dlog4j2.configurationFile={log_config or tools_log4j_config()}"]
    extra = os.environ.get("GREGOR_KAFKA_JVM_OPTS")
    if extra:
        cmd += extra.split()
    cmd += jvm_opts or []
    cmd += ["-cp", str(d / "*"), main_class, *args]
    return cmd


class KafkaRefError(RuntimeError):
    pass


class KafkaRef:
    """One single-node KRaft Apache Kafka (process.roles=broker,controller) on 127.0.0.1."""

    def __init__(self, workdir: str | os.PathLike | None = None, *, version: str | None = None,
                 overrides: dict[str, object] | None = None, heap: str = "512m", node_id: int = 1,
                 port: int | None = None, controller_port: int | None = None):
        self.version = version or kafka_version()
        if not kafka_available(self.version):
            raise KafkaRefError(missing_reason(self.version))
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="gregor-kafka-ref-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "data"
        self.props_path = self.workdir / "server.properties"
        self.log_path = self.workdir / "kafka.log"
        self.log4j_path = self.workdir / "log4j2.properties"
        self.heap = heap
        self.node_id = node_id
        self.port = port or free_port()
        self.controller_port = controller_port or free_port()
        self.host = "127.0.0.1"
        self.overrides = dict(overrides or {})
        self.cluster_id: str | None = None
        self.proc: subprocess.Popen | None = None
        self._log_file = None
        atexit.register(self._atexit_kill)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def properties(self) -> dict[str, object]:
        props: dict[str, object] = {
            "process.roles": "broker,controller",
            "node.id": self.node_id,
            "controller.quorum.voters": f"{self.node_id}@{self.host}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "inter.broker.listener.name": "PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "offsets.topic.replication.factor": 1,
            "transaction.state.log.replication.factor": 1,
            "transaction.state.log.min.isr": 1,
            "share.coordinator.state.topic.replication.factor": 1,
            "share.coordinator.state.topic.min.isr": 1,
            "group.initial.rebalance.delay.ms": 0,
        }
        props.update(self.overrides)
        return props

    def _write_config(self) -> None:
        lines = [f"{k}={v}" for k, v in self.properties().items()]
        self.props_path.write_text("\n".join(lines) + "\n")
        level = os.environ.get("GREGOR_KAFKA_LOG_LEVEL", "INFO")
        self.log4j_path.write_text(LOG4J2_TO_STDOUT.format(level=level))

    def format(self, timeout: float = 120) -> None:
        """Formats the storage directory (once; a restart keeps it)."""
        if (self.data_dir / "meta.properties").exists():
            return
        self._write_config()
        out = subprocess.run(
            java_cmd(STORAGE_TOOL_CLASS, "random-uuid", version=self.version),
            capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise KafkaRefError(f"StorageTool random-uuid failed: {out.stderr}")
        self.cluster_id = out.stdout.strip().splitlines()[-1].strip()
        out = subprocess.run(
            java_cmd(STORAGE_TOOL_CLASS, "format", "-t", self.cluster_id, "-c", str(self.props_path),
                     version=self.version),
            capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise KafkaRefError(f"StorageTool format failed (rc={out.returncode}):\n{out.stdout}\n{out.stderr}")

    def start(self, timeout: float = 180) -> "KafkaRef":
        if self.running():
            return self
        self.format(timeout=timeout)
        self._write_config()
        cmd = java_cmd(KAFKA_SERVER_CLASS, str(self.props_path), heap=self.heap,
                       log_config=self.log4j_path, version=self.version)
        self._log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log_file,
                                     stderr=subprocess.STDOUT, cwd=self.workdir,
                                     preexec_fn=die_with_parent)
        try:
            wait_for_api_versions(self.host, self.port, timeout, alive=self.running)
        except Exception as e:
            self.stop(timeout=10, check=False)
            raise KafkaRefError(f"reference Kafka did not start: {e}\n--- {self.log_path} (tail) ---\n"
                                f"{self.log_tail()}") from e
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 60, check: bool = True) -> int | None:
        """SIGTERM, then SIGKILL after `timeout` seconds. Returns the exit code."""
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
                if check:
                    self._close_log()
                    raise KafkaRefError(f"reference Kafka ignored SIGTERM for {timeout}s; killed")
        self._close_log()
        return rc

    def kill9(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
        rc = self.proc.wait()
        self._close_log()
        return rc

    def restart(self, timeout: float = 180) -> "KafkaRef":
        self.stop()
        self.proc = None
        return self.start(timeout=timeout)

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _atexit_kill(self) -> None:
        if self.running():
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines: int = 200) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> "KafkaRef":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop(check=False)


if __name__ == "__main__":
    # Manual use: python3 tests/integration/kafka_ref.py  -> runs until Ctrl-C.
    import sys
    with KafkaRef() as k:
        print(f"reference Kafka {k.version} on {k.bootstrap} (workdir {k.workdir})", flush=True)
        try:
            k.proc.wait()
        except KeyboardInterrupt:
            pass
    sys.exit(0)
