"""Finding the ops tools the tests drive (promtool, helm, hadolint, podman).

`make test` installs every one of them (the `ops-tools` target), so CI must never skip: under
CI a missing tool is a failure; elsewhere (a developer's quick run) the test is skipped.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

TOOLS_DIR = Path.home() / ".cache" / "rapport" / "tools"


def require_tool(name: str) -> str:
    found = shutil.which(name) or _cached(name)
    if found is None:
        message = f"{name} is not installed (`make ops-tools` installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def _cached(name: str) -> str | None:
    for candidate in sorted(TOOLS_DIR.glob(f"*/{name}")):
        if os.access(candidate, os.X_OK):
            return str(candidate)
    venv_bin = Path(__file__).resolve().parents[3] / ".venv" / "bin" / name
    return str(venv_bin) if venv_bin.exists() else None
