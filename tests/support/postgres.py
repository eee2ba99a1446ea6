"""A throwaway PostgreSQL cluster from the Debian binaries, for tests and benchmarks."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from services.localkafka.broker import free_port


def find_bin_dir() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(os.path.realpath(initdb)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


class TempPostgres:
    """initdb + pg_ctl in a temporary directory on a free loopback port; trust auth.

    Durable commits (fsync, synchronous_commit on) as in production: scoring refuses a database
    that is not (``services.scoring.service.require_durable``), and the tests must run what
    production runs. Full-page writes stay off: they protect against torn pages on power loss,
    which a throwaway cluster does not need and which cost write volume.
    """

    def __init__(self, bin_dir: Path) -> None:
        self._bin = bin_dir
        self._dir = Path(tempfile.mkdtemp(prefix="rapport-pg-"))
        self._data = self._dir / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://rapport@127.0.0.1:{self.port}/postgres"
        # PostgreSQL refuses to run as root; as root we hand the directory to 'postgres'.
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            self._as_user = ["runuser", "-u", "postgres", "--"]
            pw = pwd.getpwnam("postgres")
            os.chown(self._dir, pw.pw_uid, pw.pw_gid)

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_user, *args], check=True, capture_output=True, cwd=self._dir)

    def start(self) -> TempPostgres:
        self._run(
            str(self._bin / "initdb"),
            "-D",
            str(self._data),
            "-U",
            "rapport",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = (
            f"-p {self.port} -k {self._dir} -c listen_addresses=127.0.0.1 "
            "-c full_page_writes=off "
            "-c max_connections=200"
        )
        self._run(
            str(self._bin / "pg_ctl"),
            "-D",
            str(self._data),
            "-o",
            options,
            "-l",
            str(self._dir / "postgres.log"),
            "-w",
            "start",
        )
        return self

    def stop(self) -> None:
        try:
            self._run(str(self._bin / "pg_ctl"), "-D", str(self._data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)
