#!/usr/bin/env python3
"""Gregor beside Apache Kafka: one run, same machine, same client.

Starts a Gregor broker and the reference Apache Kafka (single-node KRaft,
from the jar cache that scripts/setup.sh fills), then for each broker runs
`gregor bench produce` / `gregor bench consume` (librdkafka) over the matrix
record size {100 B, 1 KiB} x partitions {1, 16} x acks {1, all}, measures
end-to-end latency (produce -> consume, confluent-kafka) and resident memory
(idle and after the load), and prints a Markdown report for
docs/benchmarks.md.

Durability is not identical by default: Gregor fsyncs before it answers an
acks=all produce, Apache Kafka relies on replication and does not fsync on
the request path. Both are run with their defaults; the report says so, and
a second acks=all table puts Gregor beside Kafka with the topic config
flush.messages=1 (Kafka then fsyncs every write before answering), the
same durability.

Usage: python3 bench/compare.py [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from gregor_broker import Broker  # noqa: E402
from kafka_ref import KafkaRef  # noqa: E402

GREGOR = os.environ.get("GREGOR_BIN", str(ROOT / "build" / "gregor"))


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def gregor_cli(bootstrap: str, *args: str, timeout: float = 600) -> str:
    r = subprocess.run([GREGOR, "--brokers", bootstrap, *args], capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"gregor {' '.join(args)} failed: {r.stderr.strip()}")
    return r.stdout


def bench_json(bootstrap: str, *args: str) -> dict:
    out = gregor_cli(bootstrap, "bench", *args, "--json")
    return json.loads(out.strip().splitlines()[-1])


def e2e_latency(bootstrap: str, topic: str, count: int) -> dict:
    """Produce count records one at a time, ~1 ms apart; the consumer notes
    when each arrives. Returns latency percentiles in ms."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    gregor_cli(bootstrap, "topic", "create", topic, "--partitions", "1")
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-e2e",
                  "enable.auto.commit": False, "fetch.wait.max.ms": 100,
                  "fetch.min.bytes": 1})
    c.assign([TopicPartition(topic, 0, 0)])
    got: list[float] = []
    done = threading.Event()

    def consume() -> None:
        deadline = time.monotonic() + 120
        while len(got) < count and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            sent = float(m.value().decode())
            got.append((time.monotonic() - sent) * 1000)
        done.set()

    t = threading.Thread(target=consume)
    t.start()
    # Let the consumer's first fetch reach the broker before producing.
    time.sleep(1.0)
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": "1"})
    for _ in range(count):
        p.produce(topic, value=repr(time.monotonic()).encode())
        p.poll(0)
        time.sleep(0.001)
    p.flush(30)
    done.wait(130)
    t.join()
    c.close()
    got.sort()

    def pct(q: float) -> float:
        return got[min(len(got) - 1, int(q * len(got)))] if got else float("nan")

    return {"count": len(got), "p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99),
            "max": got[-1] if got else float("nan"),
            "avg": statistics.mean(got) if got else float("nan")}


def run_matrix(name: str, bootstrap: str, pid_fn, quick: bool, synced_rows: bool = False) -> dict:
    """synced_rows: also produce with acks=all to topics with flush.messages=1 (fsync before
    every answer), for a comparison at Gregor's durability."""
    results = {"name": name, "produce": [], "consume": [], "synced": [], "rss_idle_kib": rss_kib(pid_fn())}
    sizes = [(100, 200_000 if quick else 1_000_000), (1024, 50_000 if quick else 200_000)]
    # Warm up (the JVM's JIT, page cache, client) before anything is measured.
    gregor_cli(bootstrap, "topic", "create", "bench-warmup", "--partitions", "4")
    bench_json(bootstrap, "produce", "--topic", "bench-warmup", "--records", "300000",
               "--record-size", "512", "--acks", "1")
    bench_json(bootstrap, "consume", "--topic", "bench-warmup", "--records", "300000")
    for size, records in sizes:
        for parts in (1, 16):
            for acks in ("1", "all"):
                topic = f"bench-{size}-{parts}-{acks}"
                gregor_cli(bootstrap, "topic", "create", topic, "--partitions", str(parts))
                r = bench_json(bootstrap, "produce", "--topic", topic, "--records", str(records),
                               "--record-size", str(size), "--acks", acks)
                r.update(size=size, partitions=parts, acks=acks)
                results["produce"].append(r)
                print(f"{name} produce {size}B p={parts} acks={acks}: "
                      f"{r['records_per_sec']:.0f} rec/s {r['mb_per_sec']:.1f} MB/s", file=sys.stderr)
            if synced_rows:
                topic = f"bench-{size}-{parts}-all-synced"
                gregor_cli(bootstrap, "topic", "create", topic, "--partitions", str(parts),
                           "--config", "flush.messages=1")
                r = bench_json(bootstrap, "produce", "--topic", topic, "--records", str(records),
                               "--record-size", str(size), "--acks", "all")
                r.update(size=size, partitions=parts, acks="all")
                results["synced"].append(r)
                print(f"{name} produce {size}B p={parts} acks=all flush.messages=1: "
                      f"{r['records_per_sec']:.0f} rec/s", file=sys.stderr)
            # The data consumed is written apart, with full batches of a fixed size spread
            # evenly over the partitions, so both brokers serve the same batch layout (batches
            # written during the produce runs are as large as each broker's speed lets the
            # producer make them).
            ctopic = f"bench-consume-{size}-{parts}"
            gregor_cli(bootstrap, "topic", "create", ctopic, "--partitions", str(parts))
            gregor_cli(bootstrap, "-X", "linger.ms=200", "-X", "sticky.partitioning.linger.ms=0",
                       "-X", "batch.num.messages=5000", "bench", "produce", "--topic", ctopic,
                       "--records", str(records), "--record-size", str(size), "--acks", "1", "--json")
            c = bench_json(bootstrap, "consume", "--topic", ctopic, "--records", str(records))
            c.update(size=size, partitions=parts)
            c["java"] = java_consume(bootstrap, ctopic, records)
            results["consume"].append(c)
            print(f"{name} consume {size}B p={parts}: {c['records_per_sec']:.0f} rec/s; "
                  f"kafka-consumer-perf-test fetch {c['java']['fetch_nmsg_sec']:.0f} rec/s", file=sys.stderr)
    results["rss_loaded_kib"] = rss_kib(pid_fn())
    results["e2e"] = e2e_latency(bootstrap, "bench-e2e", 500 if quick else 2000)
    print(f"{name} e2e: {results['e2e']}", file=sys.stderr)
    return results


def java_consume(bootstrap: str, topic: str, records: int) -> dict:
    """Kafka's own kafka-consumer-perf-test (the Java consumer, in a group). Its fetch
    columns leave out the group join, whose length is group.initial.rebalance.delay.ms
    (3 s by default) rather than anything the broker does."""
    from kafka_tools import run_tool
    r = run_tool("consumer-perf-test", "--bootstrap-server", bootstrap, "--topic", topic,
                 "--messages", str(records), "--timeout", "60000", timeout=300)
    f = [x.strip() for x in r.stdout.strip().splitlines()[-1].split(",")]
    return {"mb_sec": float(f[3]), "nmsg_sec": float(f[5]), "rebalance_ms": float(f[6]),
            "fetch_mb_sec": float(f[8]), "fetch_nmsg_sec": float(f[9])}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.platform()}"


def report(g: dict, k: dict, kafka_version: str, quick: bool) -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [f"## Run of {now}", "",
           f"- Machine: {machine()}",
           f"- Brokers: Gregor `{GREGOR}` (this commit) and Apache Kafka {kafka_version} "
           "(single-node KRaft, JVM heap 1 GiB), each with its default settings, one at a time "
           "on the same machine.",
           "- Client: `gregor bench` (librdkafka) for throughput, Kafka's kafka-consumer-perf-test "
           "for the second consume table, confluent-kafka for end-to-end latency; the same for "
           "both brokers.",
           "- Each broker first takes a 300,000-record warm-up load that is not measured.",
           "- Durability: Gregor fsyncs before answering acks=all; Kafka does not fsync on the "
           "request path (it relies on replication), so Gregor's acks=all rows do more work.",
           f"- Matrix size: {'quick' if quick else 'full'} (`python3 bench/compare.py"
           f"{' --quick' if quick else ''}`).", "",
           "### Produce", "",
           "| record | partitions | acks | Gregor rec/s | Gregor MB/s | Gregor p99 ms | Kafka rec/s | Kafka MB/s | Kafka p99 ms |",
           "|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    for a, b in zip(g["produce"], k["produce"]):
        out.append(f"| {a['size']} B | {a['partitions']} | {a['acks']} | {a['records_per_sec']:.0f} | "
                   f"{a['mb_per_sec']:.1f} | {a['latency_ms']['p99']:.1f} | {b['records_per_sec']:.0f} | "
                   f"{b['mb_per_sec']:.1f} | {b['latency_ms']['p99']:.1f} |")
    if k.get("synced"):
        out += ["", "### Produce acks=all at the same durability", "",
                "Kafka's topics here have `flush.messages=1`, so Kafka, like Gregor, fsyncs the "
                "data before it answers.", "",
                "| record | partitions | Gregor rec/s | Gregor p99 ms | Kafka rec/s | Kafka p99 ms |",
                "|---:|---:|---:|---:|---:|---:|"]
        gall = [a for a in g["produce"] if a["acks"] == "all"]
        for a, b in zip(gall, k["synced"]):
            out.append(f"| {a['size']} B | {a['partitions']} | {a['records_per_sec']:.0f} | "
                       f"{a['latency_ms']['p99']:.1f} | {b['records_per_sec']:.0f} | "
                       f"{b['latency_ms']['p99']:.1f} |")
    out += ["", "### Consume (from the beginning, one consumer)", "",
            "| record | partitions | Gregor rec/s | Gregor MB/s | Kafka rec/s | Kafka MB/s |",
            "|---:|---:|---:|---:|---:|---:|"]
    for a, b in zip(g["consume"], k["consume"]):
        out.append(f"| {a['size']} B | {a['partitions']} | {a['records_per_sec']:.0f} | "
                   f"{a['mb_per_sec']:.1f} | {b['records_per_sec']:.0f} | {b['mb_per_sec']:.1f} |")
    out += ["", "### Consume with Kafka's kafka-consumer-perf-test (Java consumer)", "",
            "Fetch rate after the consumer has joined its group (the tool's fetch.* columns); "
            "the join itself waits group.initial.rebalance.delay.ms on each broker.", "",
            "| record | partitions | Gregor rec/s | Gregor MB/s | Kafka rec/s | Kafka MB/s |",
            "|---:|---:|---:|---:|---:|---:|"]
    for a, b in zip(g["consume"], k["consume"]):
        ja, jb = a["java"], b["java"]
        out.append(f"| {a['size']} B | {a['partitions']} | {ja['fetch_nmsg_sec']:.0f} | "
                   f"{ja['fetch_mb_sec']:.1f} | {jb['fetch_nmsg_sec']:.0f} | {jb['fetch_mb_sec']:.1f} |")
    ge, ke = g["e2e"], k["e2e"]
    out += ["", "### End-to-end latency (produce to consume, acks=1, one record per ms)", "",
            "| broker | records | p50 ms | p95 ms | p99 ms | max ms |", "|---|---:|---:|---:|---:|---:|",
            f"| Gregor | {ge['count']} | {ge['p50']:.2f} | {ge['p95']:.2f} | {ge['p99']:.2f} | {ge['max']:.2f} |",
            f"| Kafka | {ke['count']} | {ke['p50']:.2f} | {ke['p95']:.2f} | {ke['p99']:.2f} | {ke['max']:.2f} |",
            "", "### Resident memory", "",
            "| broker | idle | after the runs |", "|---|---:|---:|",
            f"| Gregor | {g['rss_idle_kib'] / 1024:.1f} MiB | {g['rss_loaded_kib'] / 1024:.1f} MiB |",
            f"| Kafka | {k['rss_idle_kib'] / 1024:.1f} MiB | {k['rss_loaded_kib'] / 1024:.1f} MiB |", ""]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller record counts")
    ap.add_argument("--out", help="also write the report to this file")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gregor-bench-"))
    try:
        g = Broker(work / "gregor")
        g.start()
        try:
            gres = run_matrix("gregor", g.bootstrap, lambda: g.pid, args.quick)
        finally:
            g.stop()
        os.environ.setdefault("GREGOR_KAFKA_JVM_OPTS", "-XX:TieredStopAtLevel=4")
        k = KafkaRef(work / "kafka", heap="1g")
        k.start()
        try:
            kres = run_matrix("kafka", k.bootstrap, lambda: k.proc.pid, args.quick, synced_rows=True)
        finally:
            k.stop(check=False)
        text = report(gres, kres, k.version, args.quick)
        print(text)
        if args.out:
            Path(args.out).write_text(text)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
