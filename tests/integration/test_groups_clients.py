"""Consumer groups with more clients: kafka-python 2.0.2 (old JoinGroup/OffsetCommit versions),
kafkajs 2.2.4 (tests/node/group_kafkajs.js) and Kafka's Java client (tests/java/client
`group-member`, the classic protocol of the 4.x consumer). Each: members split the partitions,
nothing is read twice, a leaving member's partitions move at once, and a new member resumes at
the offsets the group committed."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from group_helpers import GROUP_BROKER_CONFIG, LineReader, group_name, produce_spread
from helpers import die_with_parent, wait_until
from test_broker_confluent import create_topic


@pytest.fixture
def gbroker(broker_factory):
    return broker_factory(config=GROUP_BROKER_CONFIG)


# --------------------------------------------------------------------------- kafka-python


class KpMember:
    """A kafka-python consumer polled on its own thread: its poll() blocks inside JoinGroup
    during a rebalance (as the Java client's did), so members cannot share a thread."""

    def __init__(self, bootstrap: str, group: str, topic: str):
        import threading

        from kafka import KafkaConsumer
        self.c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                               enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=500,
                               request_timeout_ms=15000, max_poll_interval_ms=10000,
                               client_id="kafka-python-member")
        self.records: list[tuple[int, int]] = []
        self.assignment: set[int] = set()
        self.commands: list[str] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while True:
                for recs in self.c.poll(timeout_ms=50).values():
                    self.records += [(r.partition, r.offset) for r in recs]
                self.assignment = {tp.partition for tp in self.c.assignment()}
                if self.commands:
                    cmd = self.commands.pop(0)
                    self.c.commit()
                    if cmd == "stop":
                        self.c.close()  # LeaveGroup
                        return
        finally:
            self.stopped.set()

    def stop(self) -> None:
        self.commands.append("stop")
        assert self.stopped.wait(30), "the kafka-python member did not stop"


def test_kafka_python_group_split_leave_and_resume(gbroker, topic_name):
    b = gbroker.bootstrap
    create_topic(b, topic_name, partitions=4)
    group = group_name("kp")
    members = [KpMember(b, group, topic_name), KpMember(b, group, topic_name)]
    try:
        wait_until(lambda: len(members[0].assignment) == 2 and len(members[1].assignment) == 2 and
                   members[0].assignment | members[1].assignment == set(range(4)), timeout=30,
                   message="kafka-python members with 2 partitions each")
        total = produce_spread(b, topic_name, 4, 25)
        wait_until(lambda: len(members[0].records) + len(members[1].records) >= total, timeout=30,
                   message=f"{total} records")
        everything = members[0].records + members[1].records
        assert len(everything) == total and len(set(everything)) == total
        for m in members:
            assert {p for p, _ in m.records} <= m.assignment
        t0 = time.monotonic()
        members[1].stop()  # commits, leaves
        wait_until(lambda: members[0].assignment == set(range(4)), timeout=10,
                   message="the remaining member owning every partition")
        assert time.monotonic() - t0 < 5
        members[0].stop()
        more = produce_spread(b, topic_name, 4, 5, tag="more")
        late = KpMember(b, group, topic_name)
        members.append(late)
        wait_until(lambda: len(late.records) >= more, timeout=30, message="the new member reading the new records")
        assert all(o >= 25 for _, o in late.records), "resumed below the committed offsets"
    finally:
        for m in members:
            if not m.stopped.is_set():
                m.commands.append("stop")
                m.stopped.wait(15)


# --------------------------------------------------------------------------- kafkajs


def test_kafkajs_group(gbroker, topic_name, node):
    res = node("group_kafkajs", bootstrap=gbroker.bootstrap, topic=topic_name, group=group_name("kjs"),
               partitions=6, count=60, timeout=120)
    ev = {x["event"]: x for x in res}
    split = ev["split"]
    assert sorted(len(a) for a in split["assignments"]) == [3, 3], split
    assert set(split["assignments"][0]) | set(split["assignments"][1]) == set(range(6))
    assert split["records"] == 60 and split["duplicates"] == 0 and min(split["consumed"]) > 0
    assert ev["after-leave"]["assignment"] == list(range(6)) and ev["after-leave"]["records"] == 66
    assert ev["resumed"]["records"] == 6 and ev["resumed"]["offsets_below_commit"] == 0
    assert ev["describe"]["state"] == "Stable" and ev["describe"]["members"] == 1
    assert ev["describe"]["protocol"] == "RoundRobinAssigner"
    assert sum(ev["committed"]["offsets"].values()) == 72


# --------------------------------------------------------------------------- Java


class JavaMember:
    """`java -jar gregor-java-client.jar group-member ...` with a stdin control channel."""

    def __init__(self, bootstrap: str, topic: str, group: str, jar, java: str):
        cmd = [java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", str(jar), "group-member",
               "--bootstrap", bootstrap, "--topic", topic, "--group", group, "--timeout-ms", "90000",
               "--config", "session.timeout.ms=6000", "--config", "heartbeat.interval.ms=500",
               "--config", "partition.assignment.strategy=org.apache.kafka.clients.consumer.RangeAssignor"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, preexec_fn=die_with_parent)
        self.out = LineReader(self.proc)

    def lines(self) -> list[dict]:
        return self.out.read()

    def assignment(self) -> set[int]:
        a = [x["assigned"] for x in self.lines() if "assigned" in x]
        return set(a[-1]) if a else set()

    def records(self) -> list[tuple[int, int]]:
        return [(x["partition"], x["offset"]) for x in self.lines() if "offset" in x]

    def send(self, command: str) -> None:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        self.send("stop")
        wait_until(lambda: any(x.get("stopped") for x in self.lines()), timeout=30, message="the member stopped")
        self.proc.wait(timeout=30)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def test_java_group(gbroker, topic_name, java_client):
    from kafka_ref import java_bin
    b = gbroker.bootstrap
    create_topic(b, topic_name, partitions=6)
    group = group_name("java")
    a = JavaMember(b, topic_name, group, java_client.jar, java_bin())
    c = JavaMember(b, topic_name, group, java_client.jar, java_bin())
    late = None
    try:
        wait_until(lambda: len(a.assignment()) == 3 and len(c.assignment()) == 3 and
                   a.assignment() | c.assignment() == set(range(6)), timeout=60,
                   message="two Java members with 3 partitions each")
        total = produce_spread(b, topic_name, 6, 20)
        wait_until(lambda: len(a.records()) + len(c.records()) >= total, timeout=30, message=f"{total} records")
        both = a.records() + c.records()
        assert len(both) == total and len(set(both)) == total
        assert {p for p, _ in a.records()} <= a.assignment() and {p for p, _ in c.records()} <= c.assignment()
        t0 = time.monotonic()
        c.stop()  # commits, then leaves the group
        wait_until(lambda: a.assignment() == set(range(6)), timeout=15, message="a owning every partition")
        assert time.monotonic() - t0 < 6
        a.stop()
        more = produce_spread(b, topic_name, 6, 2, tag="more")
        late = JavaMember(b, topic_name, group, java_client.jar, java_bin())
        wait_until(lambda: len(late.records()) >= more, timeout=60, message="the new member reading new records")
        assert all(o >= 20 for _, o in late.records()), late.records()
        late.send("commit")
        committed = wait_until(lambda: [x["committed"] for x in late.lines() if "committed" in x], timeout=30,
                               message="the commit answer")[-1]
        assert {int(k): v for k, v in committed.items()} == {p: 22 for p in range(6)}
    finally:
        for m in (a, c, late):
            if m is not None:
                m.kill()
