"""Local broker timings: jar fetch (cold and cached) and start-up to the first metadata answer.

    .venv/bin/python bench/bench_broker.py [--starts 3]

"Cold" uses an empty Maven repository and an empty Rapport cache, so every jar comes from
Maven Central; "cached" is the second call, which finds the jars in the Rapport cache.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from services.localkafka.broker import KAFKA_VERSION, LocalKafkaBroker, fetch_jars


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="rapport-bench-"))
    os.environ["MAVEN_OPTS"] = f"-Dmaven.repo.local={scratch / 'm2'}"
    cache = scratch / "cache"
    try:
        started = time.perf_counter()
        fetch_jars(cache)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        fetch_jars(cache)
        cached = time.perf_counter() - started
        starts = []
        for _ in range(args.starts):
            broker = LocalKafkaBroker(cache_dir=cache)
            started = time.perf_counter()
            broker.start()
            starts.append(time.perf_counter() - started)
            broker.stop()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"Kafka {KAFKA_VERSION}, {os.cpu_count()} cores")
    print(f"jar fetch, cold (empty Maven repository): {cold:6.2f} s")
    print(f"jar fetch, cached:                        {cached:6.3f} s")
    print(
        "broker start to first metadata answer:    "
        + ", ".join(f"{s:.2f} s" for s in starts)
        + f" (best {min(starts):.2f} s)"
    )


if __name__ == "__main__":
    main()
