"""Throughput benchmark of PII redaction (``services.ingest.pii.redact``).

Not a test. Redacts the evaluation corpora in one process, on one core, and reports the best of
``--repeat`` timed passes (the minimum is the estimate least disturbed by other load):

* ``devset``: the 1,003 customer texts of the sentiment dev set (no PII; order numbers, prices);
* ``control``: generated customer texts without PII but full of look-alikes;
* ``labelled``: generated customer texts that all carry PII;
* ``mixed``: all of them together, the closest to real traffic (most texts carry no PII);
* ``adversarial``: seconds per 100,000-character input built to provoke backtracking.

Run from the repository root::

    .venv/bin/python bench/bench_pii.py --repeat 5
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

# The script is run as a file, not a module, so the repository root is not on sys.path.
_REPO_ROOT = Path(__file__).resolve().parent.parent
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from evaluation.pii.evaluate import DEVSET_PATH, load_jsonl  # noqa: E402
from evaluation.pii.generate import CONTROL_PATH, LABELLED_PATH  # noqa: E402
from services.ingest.pii import redact  # noqa: E402

_N = 100_000
ADVERSARIAL = {
    "digits": "1" * _N,
    "digits and spaces": "1 " * (_N // 2),
    "digit groups": "4111 " * (_N // 5),
    "phone numbers": "0176 1234 5678 " * (_N // 15),
    "at signs": "@" * _N,
    "local parts": "a@" * (_N // 2),
    "dots": "a." * (_N // 2),
    "digit colons": "1:" * (_N // 2),
    "IPv4": "1.2.3.4 " * (_N // 8),
    "IPv6-like": "1:2:3:4:5:6:7:8 " * (_N // 16),
    "plus signs": "+1 " * (_N // 3),
    "spelled dots": "a dot " * (_N // 6),
    "capitalised words": "Ab Cd Ef Street 1 " * (_N // 18),
    "French streets": "12 rue de la " * (_N // 13),
}


def _time_once(corpus: Sequence[str]) -> float:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for text in corpus:
            redact(text)
        return time.perf_counter() - start
    finally:
        gc.enable()


def _best(corpus: Sequence[str], repeat: int) -> float:
    return min(_time_once(corpus) for _ in range(repeat))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=5, help="timed passes; best is reported")
    parser.add_argument(
        "--cpu", type=int, default=None, help="pin the process to this CPU (Linux only)"
    )
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})

    corpora = {
        "devset": [row["text"] for row in load_jsonl(DEVSET_PATH)],
        "control": [row["text"] for row in load_jsonl(CONTROL_PATH)],
        "labelled": [row["text"] for row in load_jsonl(LABELLED_PATH)],
    }
    corpora["mixed"] = [text for texts in corpora.values() for text in texts]

    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    print(f"python {sys.version.split()[0]}, best of {args.repeat}, 1 core")
    print(f"{'corpus':<10}{'texts':>7}{'with PII':>10}{'chars':>7}{'texts/s':>11}{'us/text':>9}")
    for name, corpus in corpora.items():
        elapsed = _best(corpus, args.repeat)
        with_pii = sum(1 for text in corpus if redact(text).redacted) / len(corpus)
        chars = sum(map(len, corpus)) / len(corpus)
        rate = len(corpus) / elapsed
        print(
            f"{name:<10}{len(corpus):>7}{with_pii:>10.0%}{chars:>7.0f}"
            f"{rate:>11,.0f}{1e6 / rate:>9.1f}"
        )

    print(f"\nadversarial inputs of {_N:,} characters (seconds, best of {args.repeat}):")
    worst = 0.0
    for name, text in ADVERSARIAL.items():
        elapsed = _best([text], args.repeat)
        worst = max(worst, elapsed)
        print(f"  {name:<20}{elapsed:>8.3f}")
    print(f"  {'worst':<20}{worst:>8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
