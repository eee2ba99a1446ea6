"""Build hook: compile the sentiment annotator's hot modules with mypyc.

Everything else about the package is declared in ``pyproject.toml``. The modules below are
ordinary, mypy-strict Python; mypyc turns them into C extensions that run the same code about
twice as fast (``bench/bench_annotator.py``), which is what lets the full customer-experience
annotation keep up with plain vaderSentiment on one core. The ``.py`` sources stay in the
package as the pure-Python build: ``RAPPORT_PURE_PYTHON=1`` at build time skips compilation
(a platform without a C compiler), at run time it ignores the compiled modules.

The build records a SHA-256 of each compiled source in ``native-build.json``, so that an edited
source is never shadowed by a stale extension (``services/sentiment/native.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

from setuptools import Extension, setup

COMPILED_SOURCES = [
    "services/sentiment/fastvader.py",
    "services/sentiment/cx/annotator.py",
    "services/sentiment/cx/normalize.py",
    "services/sentiment/cx/loader.py",
    "services/sentiment/cx/patterns.py",
]
C_MODULE = "services.sentiment.cx._construct"
C_MODULE_SOURCE = "services/sentiment/cx/_construct.c"
MANIFEST = Path("services/sentiment/native-build.json")

ext_modules = []
MANIFEST.unlink(missing_ok=True)
if os.environ.get("RAPPORT_PURE_PYTHON", "").strip().lower() in {"1", "true", "yes", "on"}:
    # An editable install builds in place: remove what an earlier compiled build left there.
    for path in COMPILED_SOURCES:
        for suffix in EXTENSION_SUFFIXES:
            Path(path.removesuffix(".py") + suffix).unlink(missing_ok=True)
    for library in Path().glob("rapport_sentiment__mypyc*"):
        library.unlink()
    for suffix in EXTENSION_SUFFIXES:
        Path(C_MODULE_SOURCE.removesuffix(".c") + suffix).unlink(missing_ok=True)
else:
    from mypyc.build import mypycify

    # An empty --config-file keeps mypyc away from pyproject.toml's [tool.mypy], whose pydantic
    # plugin is not installed in the isolated build environment (of third-party packages these
    # modules use only PyYAML, whose stubs pyproject.toml's build requirements bring);
    # --strict is what `make lint` checks them with anyway.
    ext_modules = mypycify(
        ["--config-file=", "--strict", *COMPILED_SOURCES],
        opt_level="3",
        group_name="rapport_sentiment",
    )
    if os.name == "posix":
        # One shared library holds every compiled module (group_name), and its functions
        # call each other directly. Built as position-independent code, GCC must assume any
        # exported function can be replaced at load time (symbol interposition), so it
        # neither inlines nor calls them directly; the modules only need their PyInit
        # symbol exported. 5% fewer instructions per text (callgrind, social corpus) and
        # about as much faster, measured interleaved (bench/bench_annotator.py).
        for extension in ext_modules:
            # A new list: mypyc's extensions share theirs.
            extension.extra_compile_args = [
                *extension.extra_compile_args,
                "-fno-semantic-interposition",
                "-fvisibility=hidden",
            ]
    # The result classes' C constructors (services/sentiment/cx/_construct.c says why C),
    # used only together with the mypyc modules.
    ext_modules.append(
        Extension(C_MODULE, [C_MODULE_SOURCE], extra_compile_args=["-O2", "-Werror", "-Wall"])
    )
    sources = {}
    for path in [*COMPILED_SOURCES, C_MODULE_SOURCE]:
        module = path.rpartition(".")[0].replace("/", ".")
        sources[module] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    MANIFEST.write_text(json.dumps({"compiler": "mypyc", "sources": sources}, indent=2) + "\n")

setup(ext_modules=ext_modules)
