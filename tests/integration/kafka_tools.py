"""Run Apache Kafka's own command-line tools (the classes behind bin/kafka-*.sh) from the
jar cache that scripts/setup.sh fills. They work against any broker: the reference Kafka
or Gregor.

    run_tool("topics", "--bootstrap-server", b, "--create", "--topic", "t", "--partitions", "3")
    topics(b, "--list").stdout
    console_producer(b, "t", ["a", "b"])        # lines in, one record each
    console_consumer(b, "t", max_messages=2)    # -> list of values

TOOLS maps the script name (without kafka- and .sh) to its main class in Kafka 4.1.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable

from kafka_ref import STORAGE_TOOL_CLASS, KAFKA_SERVER_CLASS, java_cmd

TOOLS: dict[str, str] = {
    # bin/kafka-topics.sh etc.
    "topics": "org.apache.kafka.tools.TopicCommand",
    "console-producer": "org.apache.kafka.tools.ConsoleProducer",
    "console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "console-share-consumer": "org.apache.kafka.tools.consumer.ConsoleShareConsumer",
    "producer-perf-test": "org.apache.kafka.tools.ProducerPerformance",
    "consumer-perf-test": "org.apache.kafka.tools.ConsumerPerformance",
    "consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "share-groups": "org.apache.kafka.tools.consumer.group.ShareGroupCommand",
    "streams-groups": "org.apache.kafka.tools.streams.StreamsGroupCommand",
    "groups": "org.apache.kafka.tools.GroupsCommand",
    "configs": "kafka.admin.ConfigCommand",
    "get-offsets": "org.apache.kafka.tools.GetOffsetShell",
    "broker-api-versions": "org.apache.kafka.tools.BrokerApiVersionsCommand",
    "metadata-quorum": "org.apache.kafka.tools.MetadataQuorumCommand",
    "cluster": "org.apache.kafka.tools.ClusterTool",
    "features": "org.apache.kafka.tools.FeatureCommand",
    "delete-records": "org.apache.kafka.tools.DeleteRecordsCommand",
    "leader-election": "org.apache.kafka.tools.LeaderElectionCommand",
    "reassign-partitions": "org.apache.kafka.tools.reassign.ReassignPartitionsCommand",
    "log-dirs": "org.apache.kafka.tools.LogDirsCommand",
    "acls": "org.apache.kafka.tools.AclCommand",
    "transactions": "org.apache.kafka.tools.TransactionsCommand",
    "delegation-tokens": "org.apache.kafka.tools.DelegationTokenCommand",
    "client-metrics": "org.apache.kafka.tools.ClientMetricsCommand",
    "verifiable-producer": "org.apache.kafka.tools.VerifiableProducer",
    "verifiable-consumer": "org.apache.kafka.tools.VerifiableConsumer",
    "e2e-latency": "org.apache.kafka.tools.EndToEndLatency",
    "replica-verification": "org.apache.kafka.tools.ReplicaVerificationTool",
    "dump-log": "kafka.tools.DumpLogSegments",
    "storage": STORAGE_TOOL_CLASS,
    "server-start": KAFKA_SERVER_CLASS,
}


class ToolError(AssertionError):
    pass


def tool_cmd(tool: str, *args: str, heap: str = "256m") -> list[str]:
    main_class = TOOLS.get(tool, tool)  # a full class name works too
    return java_cmd(main_class, *[str(a) for a in args], heap=heap)


def run_tool(tool: str, *args: object, input: str | None = None, timeout: float = 120,
             check: bool = True) -> subprocess.CompletedProcess:
    """Runs one tool to completion. stdout/stderr are text. check=True raises ToolError
    (with both streams) on a non-zero exit."""
    cmd = tool_cmd(tool, *[str(a) for a in args])
    try:
        res = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout,
                             stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise ToolError(f"{tool} timed out after {timeout}s: {' '.join(cmd)}\n"
                        f"stdout:\n{e.stdout}\nstderr:\n{e.stderr}") from e
    if check and res.returncode != 0:
        raise ToolError(f"{tool} exited {res.returncode}: {' '.join(cmd)}\n"
                        f"stdout:\n{res.stdout}\nstderr:\n{res.stderr}")
    return res


def topics(bootstrap: str, *args: object, **kw) -> subprocess.CompletedProcess:
    return run_tool("topics", "--bootstrap-server", bootstrap, *args, **kw)


def create_topic(bootstrap: str, topic: str, partitions: int = 1, replication_factor: int = 1,
                 configs: dict[str, object] | None = None, **kw) -> subprocess.CompletedProcess:
    args: list[object] = ["--create", "--topic", topic, "--partitions", partitions,
                          "--replication-factor", replication_factor]
    for k, v in (configs or {}).items():
        args += ["--config", f"{k}={v}"]
    return topics(bootstrap, *args, **kw)


def console_producer(bootstrap: str, topic: str, lines: Iterable[str], *args: object,
                     **kw) -> subprocess.CompletedProcess:
    """Produces one record per line (add e.g. "--property", "parse.key=true")."""
    data = "".join(f"{line}\n" for line in lines)
    return run_tool("console-producer", "--bootstrap-server", bootstrap, "--topic", topic, *args,
                    input=data, **kw)


def console_consumer(bootstrap: str, topic: str, *args: object, max_messages: int,
                     timeout_ms: int = 30000, from_beginning: bool = True, **kw) -> list[str]:
    """Reads max_messages records and returns the printed lines (values by default)."""
    a: list[object] = ["--bootstrap-server", bootstrap, "--topic", topic,
                       "--max-messages", max_messages, "--timeout-ms", timeout_ms]
    if from_beginning:
        a.append("--from-beginning")
    res = run_tool("console-consumer", *a, *args, **kw)
    return res.stdout.splitlines()
