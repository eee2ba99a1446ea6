"""Which Kafka a command talks to, and one clear line when it cannot be reached."""

from __future__ import annotations

import socket

from services.product.state import StateDir, UpRecord
from services.runtime.settings import Settings


class BrokerUnreachableError(RuntimeError):
    pass


def find_bootstrap(explicit: str | None, settings: Settings) -> str | None:
    """``--bootstrap``, else KAFKA_BOOTSTRAP_SERVERS, else the local stack of the state
    directory (``rapport up`` or ``rapport kafka start``), else None."""
    if explicit:
        return explicit
    if settings.kafka_bootstrap_servers:
        return settings.kafka_bootstrap_servers
    state = StateDir(settings.state_dir)
    record = UpRecord.read(state.up_file)
    if record is not None and record.alive():
        return record.bootstrap_servers
    running = state.broker().running_state()
    return running.bootstrap_servers if running else None


def find_database_url(settings: Settings) -> str:
    """RAPPORT_DATABASE_URL when set, else the database of the local stack running from the
    state directory (``rapport up``), else the default: the tools read what the services
    write, like ``find_bootstrap`` finds their broker."""
    if "database_url" in settings.model_fields_set:
        return settings.database_url
    record = UpRecord.read(StateDir(settings.state_dir).up_file)
    if record is not None and record.alive() and record.database_url:
        return record.database_url
    return settings.database_url


def require_bootstrap(explicit: str | None, settings: Settings, timeout: float = 3.0) -> str:
    """The bootstrap address, checked to accept connections, or ``BrokerUnreachableError`` with a
    one-line message (instead of 30 s of retries and a traceback from the client library)."""
    servers = find_bootstrap(explicit, settings)
    if servers is None:
        raise BrokerUnreachableError(
            "no Kafka broker: run `rapport up` (or `rapport kafka start`), or pass --bootstrap "
            "HOST:PORT / set KAFKA_BOOTSTRAP_SERVERS"
        )
    problems = []
    for address in servers.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
                return servers
        except ValueError:
            problems.append(f"{address}: not HOST:PORT")
        except OSError as exc:
            problems.append(f"{address}: {exc.strerror or exc}")
    raise BrokerUnreachableError(
        f"cannot reach Kafka at {servers} ({'; '.join(problems)}); is it running? "
        "(`rapport status`, `rapport up`)"
    )
