"""One Kafka broker and one PostgreSQL cluster per test session, shared by all xdist workers.

The xdist controller (or the single pytest process) starts them in ``pytest_configure`` and
exports their addresses; workers inherit the environment when they are spawned.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text

from services.localkafka.selection import RunningBroker, select_broker
from tests.support.postgres import TempPostgres, find_bin_dir

POSTGRES_URL_ENV = "RAPPORT_TEST_POSTGRES_URL"

# Hypothesis checks behaviour, not speed: on a shared 2-core machine its per-example deadline
# and too_slow health check fail good properties at random. Speed lives in bench/.
settings.register_profile("rapport", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("rapport")
_started: list[RunningBroker | TempPostgres] = []


def _wanted(config: pytest.Config, marker: str) -> bool:
    return f"not {marker}" not in (config.getoption("markexpr") or "")


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return  # a worker: the controller has started everything
    if _wanted(config, "kafka") and not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        broker = select_broker()
        _started.append(broker)
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap_servers
    if _wanted(config, "postgres") and not os.environ.get(POSTGRES_URL_ENV):
        bin_dir = find_bin_dir()
        if bin_dir is not None:
            postgres = TempPostgres(bin_dir).start()
            _started.append(postgres)
            os.environ[POSTGRES_URL_ENV] = postgres.url
        elif os.environ.get("CI"):
            raise pytest.UsageError("CI must test PostgreSQL, but no initdb was found")


def pytest_unconfigure(config: pytest.Config) -> None:
    while _started:
        _started.pop().stop()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not servers:
        pytest.skip("no Kafka broker in this session (-m 'not kafka')")
    return servers


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'rapport.db'}"
        return
    server_url = os.environ.get(POSTGRES_URL_ENV)
    if not server_url:
        pytest.skip("PostgreSQL binaries not installed (CI installs them)")
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield server_url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()
