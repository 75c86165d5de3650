"""Consumer groups with confluent-kafka-python (librdkafka, the classic protocol): members of one
group split a topic's partitions and nothing is read twice; members joining, leaving cleanly and
dying (SIGKILL) rebalance the group; cooperative-sticky (incremental) rebalancing; committed
offsets survive broker restarts (SIGTERM and kill -9); two groups each get every record; the
AdminClient lists, describes and deletes groups.

Brokers run with group.initial.rebalance.delay.ms=0; members use 6 s sessions and 500 ms
heartbeats (group_helpers.py), so every wait here is bounded by a few seconds."""

from __future__ import annotations

import signal
import time

import pytest
from confluent_kafka import ConsumerGroupState, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from group_helpers import (GROUP_BROKER_CONFIG, SESSION_MS, LineReader, Members, group_name, produce_spread,
                           rk_consumer, spawn_member)
from helpers import wait_until
from test_broker_confluent import create_topic

NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69


@pytest.fixture
def gbroker(broker_factory):
    return broker_factory(config=GROUP_BROKER_CONFIG)


def test_two_members_split_partitions_and_read_each_record_once(gbroker, topic_name):
    b = gbroker.bootstrap
    create_topic(b, topic_name, partitions=6)
    group = group_name()
    m = Members(rk_consumer(b, group), rk_consumer(b, group))
    try:
        for c in m.consumers:
            c.subscribe([topic_name])
        a = m.wait_assignment([3, 3])
        assert a[0] | a[1] == set(range(6))
        total = produce_spread(b, topic_name, 6, 50)
        m.poll_until(lambda: m.total() >= total, message=f"{total} records")
        seen = m.keys(0) + m.keys(1)
        assert len(seen) == total and len(set(seen)) == total, "a record was read twice"
        # each member read exactly its own partitions
        for i in (0, 1):
            assert {p for p, _ in m.keys(i)} == a[i]
    finally:
        m.close_all()


def test_third_and_fourth_members_trigger_rebalances(gbroker, topic_name):
    b = gbroker.bootstrap
    create_topic(b, topic_name, partitions=6)
    group = group_name()
    m = Members(rk_consumer(b, group), rk_consumer(b, group))
    try:
        for c in m.consumers:
            c.subscribe([topic_name])
        m.wait_assignment([3, 3])
        m.add(rk_consumer(b, group))
        m.consumers[-1].subscribe([topic_name])
        a = m.wait_assignment([2, 2, 2])
        assert set().union(*a) == set(range(6))
        m.add(rk_consumer(b, group))
        m.consumers[-1].subscribe([topic_name])
        a = m.wait_assignment([2, 2, 1, 1])
        assert set().union(*a) == set(range(6))
        # the group is Stable with four members at a higher generation
        admin = AdminClient({"bootstrap.servers": b})
        d = admin.describe_consumer_groups([group])[group].result(timeout=10)
        assert d.state == ConsumerGroupState.STABLE and len(d.members) == 4
        assert d.partition_assignor == "range"
    finally:
        m.close_all()


def test_more_members_than_partitions_extras_get_nothing(gbroker, topic_name):
    b = gbroker.bootstrap
    create_topic(b, topic_name, partitions=2)
    group = group_name()
    m = Members(*[rk_consumer(b, group) for _ in range(3)])
    admin = AdminClient({"bootstrap.servers": b})
    try:
        for c in m.consumers:
            c.subscribe([topic_name])

        def three_members_two_partitions():
            d = admin.describe_consumer_groups([group])[group].result(timeout=10)
            sizes = sorted(len(assigned) for assigned in m.assignments())
            return d.state == ConsumerGroupState.STABLE and len(d.members) == 3 and sizes == [0, 1, 1]
        m.poll_until(three_members_two_partitions, message="3 stable members, one without partitions")
        total = produce_spread(b, topic_name, 2, 20)
        m.poll_until(lambda: m.total() >= total, message=f"{total} records")
        idle = [i for i, a in enumerate(m.assignments()) if not a]
        assert len(idle) == 1 and m.records[idle[0]] == []
    finally:
        m.close_all()


def test_sigkilled_member_loses_its_partitions_within_session_timeout(gbroker, topic_name):
    b = gbroker.bootstrap
    create_topic(b, topic_name, partitions=6)
    group = group_name()
    proc = spawn_member(b, group, topic_name)
    out = LineReader(proc)
    m = Members(rk_consumer(b, group))
    try:
        m.consumers[0].subscribe([topic_name])
        m.poll_until(lambda: len(m.assignments()[0]) == 3 and out.read() and len(out.lines[-1]["assigned"]) == 3,
                     message="the in-process and the subprocess member with 3 partitions each")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed = time.monotonic()
        m.poll_until(lambda: len(m.assignments()[0]) == 6, timeout=SESSION_MS / 1000 + 10,
                     message="the survivor owning all 6 partitions")
        took = time.monotonic() - killed
        # the session timeout, plus a heartbeat interval and a rejoin
        assert took < SESSION_MS / 1000 + 3, f"took {took:.1f}s"
        assert took > SESSION_MS / 1000 - 2, f"rebalanced after {took:.1f}s, before the session could expire"
    finally:
        if proc.poll() is None:
            proc.kill()
        m.close_all()


def test_clean_close_rebalances_at_once(gbroker, topic_name):
    b = gbroker.bootstrap
    create_topic(b, topic_name, partitions=6)
    group = group_name()
    m = Members(rk_consumer(b, group), rk_consumer(b, group))
    try:
        for c in m.consumers:
            c.subscribe([topic_name])
        m.wait_assignment([3, 3])
        t0 = time.monotonic()
        m.close(1)  # LeaveGroup
        m.poll_until(lambda: len(m.assignments()[0]) == 6, message="the remaining member owning 6 partitions")
        took = time.monotonic() - t0
        assert took < SESSION_MS / 1000 / 2, f"a clean close took {took:.1f}s to rebalance"
    finally:
        m.close_all()


def test_cooperative_sticky_moves_only_what_it_must(gbroker, topic_name):
    b = gbroker.bootstrap
    create_topic(b, topic_name, partitions=6)
    group = group_name()
    coop = {"partition.assignment.strategy": "cooperative-sticky"}
    m = Members(rk_consumer(b, group, **coop), rk_consumer(b, group, **coop))
    try:
        for c in m.consumers:
            c.subscribe([topic_name])
        before = m.wait_assignment([3, 3])
        total = produce_spread(b, topic_name, 6, 10, tag="before")
        m.poll_until(lambda: m.total() >= total, message="records before the third member")
        m.add(rk_consumer(b, group, **coop))
        m.consumers[2].subscribe([topic_name])
        after = m.wait_assignment([2, 2, 2])
        # sticky: the first two members kept partitions they had, only one each moved
        assert after[0] <= before[0] and after[1] <= before[1]
        assert set().union(*after) == set(range(6))
        # the group's protocol is the cooperative one
        admin = AdminClient({"bootstrap.servers": b})  # kept alive until the future is done
        d = admin.describe_consumer_groups([group])[group].result(timeout=10)
        assert d.partition_assignor == "cooperative-sticky"
        more = produce_spread(b, topic_name, 6, 10, tag="after")
        m.poll_until(lambda: sum(1 for i in m.records for r in m.records[i] if r.value().startswith(b"after"))
                     >= more, message="records after the rebalance")
        for i, a in enumerate(after):
            assert {r.partition() for r in m.records[i] if r.value().startswith(b"after")} <= a
    finally:
        m.close_all()


@pytest.mark.parametrize("how", ["sigterm", "kill9"])
def test_committed_offsets_survive_broker_restart(gbroker, topic_name, how):
    b = gbroker.bootstrap
    create_topic(b, topic_name, partitions=3)
    total = produce_spread(b, topic_name, 3, 40)
    group = group_name()
    first = rk_consumer(b, group)
    first.subscribe([topic_name])
    got = []
    deadline = time.monotonic() + 30
    while len(got) < 50 and time.monotonic() < deadline:
        msg = first.poll(0.2)
        if msg is not None and not msg.error():
            got.append(msg)
    assert len(got) == 50
    first.commit(asynchronous=False)
    committed = {tp.partition: tp.offset for tp in first.committed([TopicPartition(topic_name, p) for p in range(3)],
                                                                     timeout=10)}
    # kill -9 right after the commit's answer: it was on disk before it was acknowledged
    if how == "kill9":
        gbroker.kill9()
        gbroker.start()
    else:
        first.close()
        gbroker.restart()
    try:
        first.close()
    except RuntimeError:
        pass
    second = rk_consumer(b, group)
    try:
        tps = second.committed([TopicPartition(topic_name, p) for p in range(3)], timeout=20)
        assert {tp.partition: tp.offset for tp in tps} == committed
        second.subscribe([topic_name])
        rest = []
        deadline = time.monotonic() + 30
        while len(rest) < total - 50 and time.monotonic() < deadline:
            msg = second.poll(0.2)
            if msg is not None and not msg.error():
                rest.append(msg)
        first_keys = {(x.partition(), x.offset()) for x in got}
        rest_keys = {(x.partition(), x.offset()) for x in rest}
        assert len(rest) == total - 50 and not (first_keys & rest_keys), "resumed elsewhere than the commit"
        assert all(x.offset() >= committed[x.partition()] for x in rest)
    finally:
        second.close()


def test_two_groups_each_get_every_record(gbroker, topic_name):
    b = gbroker.bootstrap
    create_topic(b, topic_name, partitions=3)
    total = produce_spread(b, topic_name, 3, 30)
    m = Members(rk_consumer(b, group_name("pub")), rk_consumer(b, group_name("sub")))
    try:
        for c in m.consumers:
            c.subscribe([topic_name])
        m.poll_until(lambda: len(m.records[0]) >= total and len(m.records[1]) >= total,
                     message="every record in both groups")
        assert sorted(m.keys(0)) == sorted(m.keys(1)) and len(set(m.keys(0))) == total
    finally:
        m.close_all()


def test_admin_list_describe_delete_groups(gbroker, topic_name):
    b = gbroker.bootstrap
    admin = create_topic(b, topic_name, partitions=2)
    group = group_name()
    c = rk_consumer(b, group, **{"client.id": "admin-test-member"})
    m = Members(c)
    try:
        c.subscribe([topic_name])
        m.wait_assignment([2])
        listed = {g.group_id: g for g in admin.list_consumer_groups().result(timeout=10).valid}
        assert listed[group].state == ConsumerGroupState.STABLE
        only_empty = admin.list_consumer_groups(states={ConsumerGroupState.EMPTY}).result(timeout=10).valid
        assert group not in {g.group_id for g in only_empty}
        d = admin.describe_consumer_groups([group])[group].result(timeout=10)
        assert d.state == ConsumerGroupState.STABLE and d.partition_assignor == "range"
        assert not d.is_simple_consumer_group
        [member] = d.members
        assert member.client_id == "admin-test-member" and member.host.endswith("127.0.0.1")
        assert sorted(tp.partition for tp in member.assignment.topic_partitions) == [0, 1]
        assert d.coordinator.port == gbroker.port
        # a group with members cannot be deleted
        with pytest.raises(KafkaException) as e:
            admin.delete_consumer_groups([group])[group].result(timeout=10)
        assert e.value.args[0].code() == NON_EMPTY_GROUP
        c.commit(offsets=[TopicPartition(topic_name, 0, 7)], asynchronous=False)
        m.close(0)
        wait_until(lambda: admin.describe_consumer_groups([group])[group].result(timeout=10).state
                   == ConsumerGroupState.EMPTY, timeout=10, message="the group empty")
        offsets = admin.list_consumer_group_offsets(
            [__import__("confluent_kafka").ConsumerGroupTopicPartitions(group)])[group].result(timeout=10)
        assert {tp.partition: tp.offset for tp in offsets.topic_partitions} == {0: 7}
        admin.delete_consumer_groups([group])[group].result(timeout=10)
        assert group not in {g.group_id for g in admin.list_consumer_groups().result(timeout=10).valid}
        with pytest.raises(KafkaException) as e:
            admin.delete_consumer_groups([group])[group].result(timeout=10)
        assert e.value.args[0].code() == GROUP_ID_NOT_FOUND
    finally:
        m.close_all()


def test_deleting_a_topic_deletes_its_committed_offsets(gbroker, topic_name):
    """As Kafka does: a topic created again under the same name starts without the old offsets."""
    from confluent_kafka import OFFSET_INVALID
    b = gbroker.bootstrap
    admin = create_topic(b, topic_name, partitions=2)
    group = group_name()
    c = rk_consumer(b, group)
    try:
        c.commit(offsets=[TopicPartition(topic_name, 0, 5), TopicPartition(topic_name, 1, 6)], asynchronous=False)
        tps = [TopicPartition(topic_name, p) for p in range(2)]
        assert [tp.offset for tp in c.committed(tps, timeout=10)] == [5, 6]
        admin.delete_topics([topic_name])[topic_name].result(timeout=20)
        wait_until(lambda: topic_name not in admin.list_topics(timeout=5).topics, timeout=20,
                   message="the topic gone")
        create_topic(b, topic_name, partitions=2)
        assert [tp.offset for tp in c.committed(tps, timeout=10)] == [OFFSET_INVALID, OFFSET_INVALID]
    finally:
        c.close()


def test_consumer_offsets_is_internal_and_not_writable(gbroker, topic_name):
    """__consumer_offsets appears on first use as an internal, compacted topic with
    offsets.topic.num.partitions partitions; clients cannot produce to it."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import ConfigResource, ResourceType

    from kafka_proto import KafkaClient
    b = gbroker.bootstrap
    create_topic(b, topic_name, partitions=1)
    c = rk_consumer(b, group_name())
    try:
        c.commit(offsets=[TopicPartition(topic_name, 0, 1)], asynchronous=False)  # creates it
    finally:
        c.close()
    with KafkaClient(gbroker.host, gbroker.port) as k:
        md = k.send("Metadata", 12, {"Topics": [{"Name": "__consumer_offsets"}], "AllowAutoTopicCreation": False})
        t = md["Topics"][0]
        assert t["ErrorCode"] == 0 and t["IsInternal"] is True and len(t["Partitions"]) == 50
    admin = AdminClient({"bootstrap.servers": b})
    res = ConfigResource(ResourceType.TOPIC, "__consumer_offsets")
    cfg = admin.describe_configs([res])[res].result(timeout=10)
    assert cfg["cleanup.policy"].value == "compact" and cfg["segment.bytes"].value == "104857600"
    assert cfg["compression.type"].value == "producer"
    errors = []
    p = Producer({"bootstrap.servers": b, "message.send.max.retries": 0})
    p.produce("__consumer_offsets", key=b"k", value=b"v", partition=0,
              on_delivery=lambda err, msg: errors.append(err))
    p.flush(10)
    assert len(errors) == 1 and errors[0] is not None and errors[0].code() == 17  # INVALID_TOPIC_EXCEPTION


@pytest.mark.parametrize("side", ["gregor", "kafka"])
def test_commit_metadata_round_trips(side, gbroker, kafka_ref, topic_name):
    """Commit metadata comes back exactly as committed through confluent-kafka (librdkafka
    sends it with a trailing NUL and expects that byte back), for short and long strings and
    non-ASCII text; the same checks run against Apache Kafka."""
    b = gbroker.bootstrap if side == "gregor" else kafka_ref.bootstrap
    create_topic(b, topic_name, partitions=1)
    for i, md in enumerate(["", "m", "meta-data", "m" * 1000, "x" * 3000, "grüße ☃ " * 50]):
        c = rk_consumer(b, group_name(f"md{i}"))
        try:
            wait_until(lambda: _try_commit(c, TopicPartition(topic_name, 0, 10 + i, md)), timeout=30,
                       message="the commit accepted")
            got = c.committed([TopicPartition(topic_name, 0)], timeout=15)[0]
            assert got.error is None and got.offset == 10 + i
            assert got.metadata == md, f"{side}: committed {len(md)} chars, got back {got.metadata!r:.80}"
        finally:
            c.close()


def _try_commit(consumer, tp) -> bool:
    try:
        consumer.commit(offsets=[tp], asynchronous=False)
        return True
    except KafkaException as e:
        if e.args[0].retriable():
            return False
        raise
