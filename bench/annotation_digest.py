"""SHA-256 of the annotator's output on the dev, blind and bench corpora: proof that a speed
change left every annotation identical.

Not a test. Hashes ``repr`` of ``CxAnnotator.annotate(text)`` and of
``annotate_english(text, text.split(), languages)`` (the service's path, language included) on
the dev set, the blind set and the ``dev`` and ``social`` bench corpora (5,000 texts each).
Run it before and after a change and compare the lines::

    PYTHONPATH=. .venv/bin/python bench/annotation_digest.py
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parent.parent
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from bench_annotator import build_dev_corpus, build_social_corpus  # noqa: E402

from evaluation.sentiment.blindset import evaluate as blindset  # noqa: E402
from services.sentiment.cx import CxAnnotator  # noqa: E402
from services.sentiment.language import LanguageDetector  # noqa: E402
from services.sentiment.native import implementation  # noqa: E402

DEVSET = _REPO_ROOT / "evaluation" / "sentiment" / "devset" / "customer_texts.jsonl"


def _devset_texts() -> list[str]:
    lines = DEVSET.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()]


def digest(texts: Iterable[str], annotator: CxAnnotator, languages: LanguageDetector) -> str:
    sha = hashlib.sha256()
    for text in texts:
        sha.update(repr(annotator.annotate(text)).encode())
        sha.update(repr(annotator.annotate_english(text, text.split(), languages)).encode())
    return sha.hexdigest()


def main() -> int:
    annotator = CxAnnotator()
    languages = LanguageDetector()
    corpora = {
        "devset": _devset_texts(),
        "blindset": [example.text for example in blindset.load()],
        "bench-dev": build_dev_corpus(5000),
        "bench-social": build_social_corpus(5000),
    }
    print(f"build {implementation()}, {annotator.model_version}")
    for name, texts in corpora.items():
        print(f"{name:<13} {len(texts):>5} texts  {digest(texts, annotator, languages)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
