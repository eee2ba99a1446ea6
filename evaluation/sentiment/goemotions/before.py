#!/usr/bin/env python3
"""Print what ``evaluate.BEFORE`` records: another checkout's annotator on the GoEmotions set.

    git worktree add /tmp/pre15 a89ee7b
    RAPPORT_PURE_PYTHON=1 .venv/bin/python -m evaluation.sentiment.goemotions.before /tmp/pre15

The checkout's ``services`` package is imported instead of this one's (it comes first on
``sys.path`` before anything imports ``services``); the texts, the mapping and the counting are
this checkout's. Prints ``{emotion: [predicted, true positives]}`` as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    checkout = str(Path(args[0]).resolve())
    if any(name == "services" or name.startswith("services.") for name in sys.modules):
        raise SystemExit("services is already imported; run this module on its own")
    sys.path.insert(0, checkout)
    # The other checkout's package: it is first on sys.path now.
    import services.sentiment.cx

    if not str(services.sentiment.cx.__file__).startswith(checkout):
        raise SystemExit(f"imported {services.sentiment.cx.__file__}, not {checkout}'s")
    from evaluation.sentiment.goemotions import evaluate

    rows = evaluate.load()
    golds = [evaluate.gold(label) for _, label in rows]
    predicted = evaluate.predict_all([text for text, _ in rows])
    print(json.dumps(evaluate.counts(golds, predicted)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
