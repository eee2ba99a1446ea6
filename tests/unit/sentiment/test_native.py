"""The compiled (mypyc) build of the annotator: used where built, identical to the sources,
never stale (``setup.py``, ``services/sentiment/native.py``)."""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

from services.sentiment import native

REPO = Path(__file__).resolve().parents[3]
DEVSET = REPO / "evaluation" / "sentiment" / "devset" / "customer_texts.jsonl"
compiled_only = pytest.mark.skipif(
    native.implementation() != "mypyc",
    reason=f"the compiled build is not in use ({native.PURE_PYTHON_ENV} set, or not built)",
)

# Annotates the JSON list of texts on stdin, prints the build and every result's repr (repr
# shows int/float and -0.0/0.0 differences that == would hide).
_ANNOTATE = """
import json, sys
from services.sentiment.cx import CxAnnotator
from services.sentiment.fastvader import FastVader
from services.sentiment.native import implementation
import services.sentiment.cx.annotator as module

texts = json.load(sys.stdin)
annotator, vader = CxAnnotator(), FastVader()
print(json.dumps({
    "build": implementation(),
    "module": module.__file__,
    "texts": [repr(annotator.annotate(text)) for text in texts],
    "vader": [repr(vader.polarity_scores(text)) for text in texts],
    "conversations": [
        repr(annotator.annotate_conversation(
            [("customer", texts[k]), ("agent", texts[k + 1]), ("customer", texts[k + 2])]
        ))
        for k in range(0, 300, 3)
    ],
}))
"""


def _corpus() -> list[str]:
    """The dev set, noisy variants of it, and texts that take the unusual paths."""
    texts = [json.loads(line)["text"] for line in DEVSET.read_text(encoding="utf-8").splitlines()]
    variants = []
    for k, text in enumerate(texts):
        variants.append(
            [
                f"@QuickCart {text} #fail",
                f"{text.upper()} ticket {40000 + k}",
                f"{text} 😡🙏",
                text.replace(". ", ".\n\n").replace(", ", "  ,\t"),
                f"  {text.lower()}!!! ??  ",
            ][k % 5]
        )
    edge = [
        "",
        " ",
        "\n\n",
        "ok",
        "🙃",
        "great. another delay. thanks a lot",
        "NOT happy AT ALL but the staff were LOVELY!!!",
        "no problems at all, never had an issue, can't fault them",
        "kind of ok, I guess?? not bad",
        "on hold for 2 hours\r\nstill waiting\u2028nobody called back",
    ]
    return texts + variants + edge


def _environment(**extra: str) -> dict[str, str]:
    """This process's environment without the pure-Python switch, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k != native.PURE_PYTHON_ENV}
    return {**env, **extra}


def _annotate(texts: list[str], *, pure: bool) -> dict[str, object]:
    env = _environment(**{native.PURE_PYTHON_ENV: "1"}) if pure else _environment()
    done = subprocess.run(
        [sys.executable, "-c", _ANNOTATE],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=True,
        timeout=300,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_ci_runs_the_compiled_build() -> None:
    if not os.environ.get("CI"):
        pytest.skip("CI only: locally a pure or not yet rebuilt build is the developer's choice")
    assert native.implementation() == "mypyc", "make setup should have compiled the annotator"


@compiled_only
def test_compiled_and_pure_python_builds_give_identical_results() -> None:
    texts = _corpus()
    compiled = _annotate(texts, pure=False)
    pure = _annotate(texts, pure=True)
    assert (compiled["build"], pure["build"]) == ("mypyc", "python")
    assert str(compiled["module"]).endswith(".so")
    assert str(pure["module"]).endswith("annotator.py")
    for key in ("texts", "vader", "conversations"):
        assert compiled[key] == pure[key], key


@compiled_only
@pytest.mark.parametrize("edited", ["normalize.py", "_construct.c"])
def test_an_edited_source_is_run_instead_of_its_stale_compiled_module(
    tmp_path: Path, edited: str
) -> None:
    shutil.copytree(
        REPO / "services", tmp_path / "services", ignore=shutil.ignore_patterns("__pycache__")
    )
    # The compiled modules' shared part sits at the top level of the install.
    for library in REPO.glob("rapport_sentiment__mypyc*"):
        shutil.copy2(library, tmp_path)
    probe = (
        "import services.sentiment.cx.annotator as m, services.sentiment.native as n; "
        "import services.sentiment.cx.results as r; "
        "print(n.implementation(), r.BUILDERS, m.__file__)"
    )

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            env=_environment(PYTHONPATH=str(tmp_path)),
            cwd=tmp_path,
            check=True,
            timeout=120,
        )

    intact = run()
    assert intact.stdout.startswith("mypyc c "), intact.stdout + intact.stderr
    assert intact.stdout.strip().endswith(".so")
    assert "RuntimeWarning" not in intact.stderr

    # A Python source or the C constructors' source: either makes the whole build stale.
    source = tmp_path / "services" / "sentiment" / "cx" / edited
    comment = "\n# edited\n" if edited.endswith(".py") else "\n/* edited */\n"
    source.write_text(source.read_text(encoding="utf-8") + comment, encoding="utf-8")
    stale = run()
    assert stale.stdout.startswith("python draft "), stale.stdout + stale.stderr
    assert stale.stdout.strip().endswith("annotator.py")
    assert "built from other sources" in stale.stderr


@compiled_only
def test_the_c_constructors_check_their_arguments() -> None:
    from services.sentiment.cx import _construct
    from services.sentiment.cx.results import VaderScores, build_vader_scores

    with pytest.raises(TypeError, match="takes 4 positional arguments"):
        build_vader_scores(0.1, 0.2, 0.3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="takes no keyword arguments"):
        build_vader_scores(0.1, 0.2, 0.3, neg=0.4)  # type: ignore[call-arg]

    class Unslotted:
        pass

    for cls in (dict, Unslotted):
        with pytest.raises(TypeError, match="not a slotted class"):
            _construct.constructor(cls, ("a",), (0,))
    slots = ("compound", "pos", "neu", "neg")
    for names, args, message in [
        (slots[:3], (0, 1, 2), "has 4 slots, 3 given"),
        (("compound", "pos", "neu", "nope"), (0, 1, 2, 3), "no slot nope"),
        (("compound", "compound", "neu", "neg"), (0, 1, 2, 3), "no slot compound"),
        (slots, (0, 1, 2, 5), "bad argument index"),
        (slots, (0, 0, 1, 3), "argument 2 fills no slot"),
        (slots, (0, 1, 2, True), "bad argument index"),  # an index is an int, not a bool
    ]:
        with pytest.raises(ValueError, match=message):
            _construct.constructor(VaderScores, names, args)


@compiled_only
def test_the_c_constructors_own_exactly_one_reference_per_slot() -> None:
    from services.sentiment.cx.results import (
        SentenceAnnotation,
        build_sentence_annotation,
        build_vader_scores,
    )

    text = "".join(["a sentence of its own"])  # a new object, referenced only here
    vader = build_vader_scores(0.1, 0.2, 0.3, 0.4)
    before = (sys.getrefcount(text), sys.getrefcount(vader), sys.getrefcount(SentenceAnnotation))
    built = [build_sentence_annotation(text, vader, 0.5, "positive") for _ in range(100)]
    after = (sys.getrefcount(text), sys.getrefcount(vader), sys.getrefcount(SentenceAnnotation))
    assert after == tuple(count + 100 for count in before)
    del built
    assert (
        sys.getrefcount(text),
        sys.getrefcount(vader),
        sys.getrefcount(SentenceAnnotation),
    ) == before


@compiled_only
def test_a_constructor_and_its_class_are_collected_together() -> None:
    """A constructor refers to its class, and a class can refer back to it (through its
    module's globals): the garbage collector sees that cycle."""
    from services.sentiment.cx import _construct

    class Point:
        __slots__ = ("x", "y")

    point_class = weakref.ref(Point)
    Point.make = _construct.constructor(Point, ("x", "y"), (0, 1))  # type: ignore[attr-defined]
    point = Point.make(1, 2)  # type: ignore[attr-defined]
    assert (type(point), point.x, point.y) == (Point, 1, 2)
    del Point, point
    gc.collect()
    assert point_class() is None
