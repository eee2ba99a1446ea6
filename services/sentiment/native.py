"""Which build of the annotator's hot modules runs: compiled with mypyc, or pure Python.

``setup.py`` compiles a few modules of this package (VADER, the normaliser, the CX pattern
matcher and annotator) into C extensions with mypyc. An extension sits next to its ``.py``
source and Python's import system prefers it, which is a trap for a developer: after an edit
to ``annotator.py`` the old compiled module would keep running. So the build records a SHA-256
of every compiled source in ``native-build.json``, and :func:`select` (run once, from this
package's ``__init__``, before any of those modules is imported) uses the extensions only
when every one of them was built from the source that is there now. Otherwise, or when
``RAPPORT_PURE_PYTHON=1`` is set, it puts a finder first on ``sys.meta_path`` that loads
those modules from their sources. It is all or nothing: compiled modules reach into each
other's native classes, so a compiled annotator cannot run on a pure-Python loader.

Both builds give identical results (``tests/unit/sentiment/test_native.py`` compares them on
the dev set); only the speed differs.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Final, Literal

__all__ = ["MANIFEST_NAME", "PURE_PYTHON_ENV", "Implementation", "implementation", "select"]

PURE_PYTHON_ENV: Final = "RAPPORT_PURE_PYTHON"
MANIFEST_NAME: Final = "native-build.json"
Implementation = Literal["mypyc", "python"]

_PACKAGE_DIR: Final = Path(__file__).resolve().parent
_PACKAGE: Final = __name__.rpartition(".")[0]
_selected: Implementation | None = None


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _extension_modules() -> dict[str, Path]:
    """Module name -> source, for every source that has a compiled extension beside it: a
    ``.py`` compiled by mypyc, or the ``.c`` of a C module (``cx/_construct.c``)."""
    found: dict[str, Path] = {}
    for directory in (_PACKAGE_DIR, *(p for p in _PACKAGE_DIR.iterdir() if p.is_dir())):
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            for extension in directory.glob(f"*{suffix}"):
                stem = extension.name[: -len(suffix)]
                for source in (extension.with_name(stem + ".py"), extension.with_name(stem + ".c")):
                    if source.is_file():
                        relative = source.relative_to(_PACKAGE_DIR).with_suffix("")
                        found[".".join((_PACKAGE, *relative.parts))] = source
                        break
    return found


def _built_from_these_sources(modules: dict[str, Path]) -> bool:
    try:
        manifest = json.loads((_PACKAGE_DIR / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    recorded = manifest.get("sources") if isinstance(manifest, dict) else None
    if not isinstance(recorded, dict) or set(recorded) != set(modules):
        return False
    return all(
        hashlib.sha256(source.read_bytes()).hexdigest() == recorded[name]
        for name, source in modules.items()
    )


class _SourcesFirst(importlib.abc.MetaPathFinder):
    """Loads the named modules from their ``.py`` files, whatever sits beside them."""

    def __init__(self, sources: dict[str, Path]) -> None:
        self.sources = sources

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        source = self.sources.get(fullname)
        return None if source is None else importlib.util.spec_from_file_location(fullname, source)


def select() -> Implementation:
    """Choose the build once per process (see the module docstring); returns the choice."""
    global _selected  # noqa: PLW0603 - one decision per process, made at package import
    if _selected is not None:
        return _selected
    modules = _extension_modules()
    if not modules:
        _selected = "python"
        return _selected
    if _truthy(os.environ.get(PURE_PYTHON_ENV)):
        reason = None
    elif _built_from_these_sources(modules):
        _selected = "mypyc"
        return _selected
    else:
        reason = (
            "the compiled sentiment modules were built from other sources than the ones "
            "beside them; running the pure-Python sources (about 2.5x slower). "
            "Rebuild with `make setup` (or `pip install -e .`)."
        )
    # The Python sources load instead of their extensions; a C module has none and is not
    # imported in the pure-Python build (cx/results.py asks implementation() first).
    python_sources = {name: path for name, path in modules.items() if path.suffix == ".py"}
    already = sorted(name for name in python_sources if name in sys.modules)
    if already:  # pragma: no cover - only if something imported them around the package
        raise ImportError(f"cannot switch to the pure-Python sources of imported {already}")
    sys.meta_path.insert(0, _SourcesFirst(python_sources))
    if reason is not None:
        warnings.warn(reason, RuntimeWarning, stacklevel=2)
    _selected = "python"
    return _selected


def implementation() -> Implementation:
    """The build in use: ``"mypyc"`` (compiled) or ``"python"``."""
    return select()
