#!/usr/bin/env python3
"""The log cleaner's cost: how fast it compacts, and what it takes from producers.

1. Cleaner throughput. A compacted topic (segment.bytes = 1 MiB) is filled with --mb MiB of
   updates of --keys keys (1 KiB values) by a broker with log.cleaner.enable=false; the broker is
   stopped and started again with the cleaner on, and the first cleaning (the whole log) is timed
   from the cleaner's own log line: MiB of log compacted per second, and MiB read + written per
   second (the map pass and the rewrite both read the log).
2. Produce throughput beside the cleaner. For --seconds, one confluent-kafka producer (acks=1,
   linger.ms=5, 1 KiB values, --keys keys) writes to a compacted topic with
   min.cleanable.dirty.ratio=0.01 and log.cleaner.backoff.ms=100, so the cleaner works all the
   time; once with the cleaner off, once on, once on and throttled by
   log.cleaner.io.max.bytes.per.second.

Prints a Markdown report (for docs/benchmarks.md) on stdout; progress on stderr.

Usage: python3 bench/cleaner.py [--quick] [--mb N] [--keys K] [--seconds S]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from gregor_broker import Broker  # noqa: E402

CLEANED = re.compile(r"\[cleaner\] (?P<tp>\S+): cleaned offsets \[(?P<a>\d+), (?P<b>\d+)\).*?: "
                     r"(?P<sin>\d+) segments -> (?P<sout>\d+), (?P<rd>[\d.]+) MB read, "
                     r"(?P<wr>[\d.]+) MB written, (?P<kept>\d+) of (?P<recs>\d+) records kept, "
                     r"\d+ tombstones dropped, (?P<ms>\d+) ms")
VALUE = 1024


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def create_compacted(bootstrap: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    fut = admin.create_topics([NewTopic(topic, 1, 1, config={
        "cleanup.policy": "compact", "segment.bytes": "1048576",
        "min.cleanable.dirty.ratio": "0.01"})], operation_timeout=10)
    fut[topic].result(timeout=20)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        t = admin.list_topics(topic=topic, timeout=5).topics.get(topic)
        if t is not None and t.error is None and t.partitions and t.partitions[0].leader >= 0:
            return
        time.sleep(0.05)
    raise RuntimeError(f"topic {topic} not ready")


def produce(bootstrap: str, topic: str, keys: int, count: int | None = None,
            seconds: float | None = None, compression: str = "none") -> tuple[int, float]:
    """Produces count records, or as many as fit in seconds; returns (records, elapsed s)."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "1", "linger.ms": 5,
                  "compression.type": compression, "queue.buffering.max.messages": 200000,
                  "batch.size": 262144})
    # Distinct values (hex of random bytes, so compressed about 2:1, like text).
    payloads = [os.urandom(VALUE // 2).hex().encode() for _ in range(1024)]
    n = 0
    t0 = time.monotonic()
    while True:
        if count is not None and n >= count:
            break
        if seconds is not None and (n & 1023) == 0 and time.monotonic() - t0 >= seconds:
            break
        try:
            p.produce(topic, key=b"key-%d" % (n % keys), value=payloads[n & 1023])
            n += 1
        except BufferError:
            p.poll(0.01)
        if (n & 255) == 0:
            p.poll(0)
    p.flush(120)
    return n, time.monotonic() - t0


def dir_log_bytes(d: Path) -> int:
    return sum(f.stat().st_size for f in d.glob("*.log"))


def cleanings(broker: Broker) -> list[dict]:
    return [m.groupdict() for m in CLEANED.finditer(broker.stderr_text())]


def cleaner_throughput(work: Path, mb: int, keys: int, compression: str) -> dict:
    topic = f"clean-{compression}"
    b = Broker(work / f"tp-{compression}", config={"log.cleaner.enable": "false"}).start()
    try:
        create_compacted(b.bootstrap, topic)
        records = mb * 1024 * 1024 // VALUE
        produce(b.bootstrap, topic, keys, count=records, compression=compression)
        # One more record after a roll would need segment.ms; with segment.bytes the log's last
        # segment stays active and is left out: it is at most 1 MiB.
    finally:
        b.stop()
    d = b.data_dir / f"{topic}-0"
    before = dir_log_bytes(d)
    segs = len(list(d.glob("*.log")))
    log(f"{compression}: {before / 2**20:.1f} MiB in {segs} segments; starting the cleaner")
    if segs < 2:
        raise RuntimeError("the log has no closed segment to clean: raise --mb")
    b.config = {"log.cleaner.enable": "true", "log.cleaner.backoff.ms": "100"}
    b.start()
    try:
        deadline = time.monotonic() + 600
        while not cleanings(b):
            if time.monotonic() > deadline:
                raise RuntimeError("no cleaning within 600 s")
            time.sleep(0.2)
        c = cleanings(b)[0]
    finally:
        b.stop()
    after = dir_log_bytes(d)
    ms = max(int(c["ms"]), 1)
    cleaned_mib = before / 2**20  # all closed segments went through the cleaner
    return {
        "compression": compression, "log_mib": before / 2**20, "segments_in": int(c["sin"]),
        "segments_out": int(c["sout"]), "after_mib": after / 2**20, "ms": ms,
        "log_mib_s": cleaned_mib / (ms / 1000), "io_mib_s": (float(c["rd"]) + float(c["wr"])) / (ms / 1000),
        "records": int(c["recs"]), "kept": int(c["kept"]),
    }


def produce_beside(work: Path, name: str, config: dict, keys: int, seconds: float) -> dict:
    topic = "beside"
    b = Broker(work / ("pb-" + re.sub(r"[^a-zA-Z0-9]+", "-", name)), config=config).start()
    try:
        create_compacted(b.bootstrap, topic)
        produce(b.bootstrap, topic, keys, seconds=1.0)  # warm-up: client, page cache
        n, el = produce(b.bootstrap, topic, keys, seconds=seconds)
        time.sleep(0.5)
        cl = cleanings(b)
    finally:
        b.stop()
    return {"name": name, "records": n, "seconds": el, "rec_s": n / el, "mib_s": n * VALUE / el / 2**20,
            "cleanings": len(cl), "cleaner_read_mib": sum(float(c["rd"]) for c in cl)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--mb", type=int, default=256, help="MiB of updates for the cleaner run")
    ap.add_argument("--keys", type=int, default=10000, help="distinct keys")
    ap.add_argument("--seconds", type=float, default=15, help="length of each produce run")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each produce configuration")
    args = ap.parse_args()
    if args.quick:
        args.mb, args.seconds, args.repeat = 32, 4, 1
    work = Path(tempfile.mkdtemp(prefix="gregor-bench-cleaner-"))
    log(f"work dir {work}")

    thr = [cleaner_throughput(work, args.mb, args.keys, c) for c in ("none", "lz4")]
    throttle = 20 * 2**20
    configs = [
        ("cleaner off", {"log.cleaner.enable": "false"}),
        ("cleaner on", {"log.cleaner.backoff.ms": "100"}),
        ("cleaner on, 20 MiB/s throttle", {"log.cleaner.backoff.ms": "100",
                                           "log.cleaner.io.max.bytes.per.second": str(throttle)}),
    ]
    # Each configuration --repeat times, in turn, with the page cache written back before each
    # run, so that one run's writeback does not slow the next; the median run counts.
    by_name: dict[str, list[dict]] = {name: [] for name, _ in configs}
    for rep in range(args.repeat):
        for name, config in configs:
            os.sync()
            time.sleep(1)
            r = produce_beside(work, f"{name}-{rep}", config, args.keys, args.seconds)
            r["name"] = name
            by_name[name].append(r)
            log(f"{name}: {r['rec_s']:.0f} records/s, {r['cleanings']} cleanings")
    runs = []
    for name, _ in configs:
        rs = sorted(by_name[name], key=lambda r: r["rec_s"])
        med = dict(rs[len(rs) // 2])
        med["all"] = [r["rec_s"] for r in by_name[name]]
        runs.append(med)
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    print(f"### Log cleaner ({time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} CPUs, {cpu})\n")
    print(f"Cleaner throughput: the first cleaning of a compacted log of {args.keys} keys "
          f"(1 KiB values, segment.bytes 1 MiB), one cleaner thread, no throttle.\n")
    print("| producer compression | log | segments in -> out | records kept | after | time | log compacted | read + written |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for t in thr:
        print(f"| {t['compression']} | {t['log_mib']:.0f} MiB | {t['segments_in']} -> {t['segments_out']} | "
              f"{t['kept']} of {t['records']} | {t['after_mib']:.1f} MiB | {t['ms'] / 1000:.2f} s | "
              f"{t['log_mib_s']:.0f} MiB/s | {t['io_mib_s']:.0f} MiB/s |")
    print()
    print(f"Produce throughput beside the cleaner: one confluent-kafka producer, acks=1, 1 KiB values, "
          f"{args.keys} keys, {args.seconds:.0f} s, compacted topic with min.cleanable.dirty.ratio 0.01 "
          f"and log.cleaner.backoff.ms 100; median of {args.repeat} runs taken in turn.\n")
    print("| run | records/s | MiB/s | vs off | cleanings | cleaner read | all runs (records/s) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    base = runs[0]["rec_s"]
    for r in runs:
        print(f"| {r['name']} | {r['rec_s']:.0f} | {r['mib_s']:.1f} | {100 * r['rec_s'] / base:.0f}% | "
              f"{r['cleanings']} | {r['cleaner_read_mib']:.0f} MiB | "
              f"{', '.join(f'{x:.0f}' for x in r['all'])} |")


if __name__ == "__main__":
    main()
