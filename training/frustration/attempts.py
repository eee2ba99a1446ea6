"""The pre-registered attempts at a trained frustration component (``PREREGISTRATION.md``,
``PREREGISTRATION-2.md``): their training data, grids and output files. Kept apart from
``train.py`` so that reading an attempt's weights needs no training library."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

HERE: Final = Path(__file__).resolve().parent
_REPO_ROOT: Final = HERE.parents[1]
SECOND_SET: Final = tuple(
    _REPO_ROOT / "evaluation" / "sentiment" / "emotionset" / part
    for part in ("part-a.jsonl", "part-b.jsonl")
)
# PREREGISTRATION-2.md: customer texts written for training under the blind sets' guideline.
CUSTOMERS: Final = tuple(HERE / "customers" / f"part-t{i}.jsonl" for i in range(1, 5))


@dataclass(frozen=True, slots=True)
class Attempt:
    """One pre-registered component: its customer data, its grid, where its outputs go.

    Training data are GoEmotions train (weight 1), the cross-validated customer texts
    (``cv_files``, weight from ``cv_weights``) and, if any, other customer texts always in
    training (``extra_files``, weight from ``extra_weights``; 0 leaves them out).
    """

    name: str
    cv_name: str
    cv_files: tuple[Path, ...]
    cv_weights: tuple[float, ...]
    extra_name: str = ""
    extra_files: tuple[Path, ...] = ()
    extra_weights: tuple[float, ...] = (0.0,)
    grid_c: tuple[float, ...] = (0.1, 0.3, 1.0)

    @property
    def directory(self) -> Path:
        return HERE / self.name

    @property
    def weights_file(self) -> Path:
        """Outside the lexicon directory: the annotator does not load it (neither attempt passed
        its pre-registered evaluation; one that passed would ship inside the lexicon)."""
        return self.directory / "weights.yaml"

    @property
    def selection_file(self) -> Path:
        return self.directory / "selection.json"


ATTEMPTS: Final = {
    "attempt-1": Attempt(
        name="attempt-1",
        cv_name="second_set",
        cv_files=SECOND_SET,
        cv_weights=(1.0, 10.0, 30.0),
    ),
    "attempt-2": Attempt(
        name="attempt-2",
        cv_name="customers",
        cv_files=CUSTOMERS,
        cv_weights=(3.0, 10.0, 30.0),
        extra_name="second_set",
        extra_files=SECOND_SET,
        extra_weights=(0.0, 10.0),
    ),
}
