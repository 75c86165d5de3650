"""Tests of the Broker fixture machinery itself, run against fake_broker.py (a stand-in that
only answers ApiVersions), so they pass without a built Gregor binary."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from gregor_broker import Broker, BrokerError
from kafka_wire import api_versions

FAKE = Path(__file__).with_name("fake_broker.py")


def test_broker_start_stop_restart(tmp_path):
    b = Broker(tmp_path / "b", binary=FAKE, config={"num.partitions": 3})
    b.start()
    try:
        assert b.running()
        assert b.bootstrap == f"127.0.0.1:{b.port}"
        assert b.api_versions.versions[18] == (0, 4)
        assert "--set" in b.command() and "num.partitions=3" in b.command()
        assert b.stop() == 0
        assert not b.running()
        b.restart()
        assert api_versions("127.0.0.1", b.port).error_code == 0
        assert b.kill9() == -signal.SIGKILL
        b.restart()
        assert b.running()
        assert b.stderr_text().count("===== start #") == 3
        assert b.data_dir.is_dir()
    finally:
        b.kill9()


def test_broker_that_exits_at_start_is_reported(tmp_path):
    b = Broker(tmp_path / "b", binary=FAKE, env={"FAKE_BROKER_FAIL": "1"}, start_timeout=10)
    with pytest.raises(BrokerError, match="failing on purpose"):
        b.start()


def test_broker_ignoring_sigterm_is_killed_and_reported(tmp_path):
    b = Broker(tmp_path / "b", binary=FAKE, env={"FAKE_BROKER_IGNORE_SIGTERM": "1"})
    b.start()
    with pytest.raises(BrokerError, match="did not exit"):
        b.stop(timeout=1)
    assert not b.running()


def test_missing_binary_is_reported(tmp_path):
    with pytest.raises(BrokerError, match="not found"):
        Broker(tmp_path / "b", binary=tmp_path / "nope").start()


def test_broker_factory_fixture(broker_factory, free_port):
    port = free_port()
    a = broker_factory(binary=FAKE, port=port, node_id=1)
    b = broker_factory(binary=FAKE, node_id=2)
    assert a.port == port and b.port != port
    assert a.workdir != b.workdir
    assert api_versions("127.0.0.1", b.port).error_code == 0
