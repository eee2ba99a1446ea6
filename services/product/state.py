"""The one directory of local state that ``rapport up`` keeps: broker data, database, logs.

Broker and database live side by side so that ``rapport up --reset`` wipes both at once: a
database that remembers offsets of topics the broker no longer has would be refused by scoring.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from services.localkafka.broker import PREFERRED_PORT, LocalKafkaBroker, pid_alive


@dataclass(frozen=True)
class StateDir:
    root: Path

    @property
    def kafka(self) -> Path:
        return self.root / "kafka"

    @property
    def database(self) -> Path:
        return self.root / "rapport.db"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.database}"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def log_file(self) -> Path:
        return self.logs / "rapport.log"

    @property
    def up_file(self) -> Path:
        return self.root / "up.json"

    def broker(
        self, cache_dir: Path | None = None, preferred_port: int = PREFERRED_PORT
    ) -> LocalKafkaBroker:
        return LocalKafkaBroker(
            state_dir=self.kafka, cache_dir=cache_dir, preferred_port=preferred_port
        )

    def reset(self) -> None:
        """Delete everything: the broker's topics, the database, the logs."""
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class ChildRecord:
    name: str
    pid: int | None
    port: int
    restarts: int = 0
    state: str = "starting"


@dataclass
class UpRecord:
    """What ``rapport up`` writes for ``rapport down`` and ``rapport status`` to read."""

    pid: int
    bootstrap_servers: str
    database_url: str
    log_file: str
    console_url: str | None
    broker_owned: bool
    started_at: str
    children: list[ChildRecord] = field(default_factory=list)

    def write(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(path)

    @classmethod
    def read(cls, path: Path) -> UpRecord | None:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        children = [ChildRecord(**child) for child in data.pop("children", [])]
        return cls(**data, children=children)

    def alive(self) -> bool:
        return pid_alive(self.pid)
