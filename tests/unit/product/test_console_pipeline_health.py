"""The console's pipeline health: each service's readiness as its /readyz says it."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from services.console.service import PipelineHealth
from services.localkafka.broker import free_port
from services.runtime.health import HealthServer, Liveness


def serve(ready: bool | str) -> HealthServer:
    server = HealthServer(
        "127.0.0.1", 0, CollectorRegistry(), Liveness(60), {"started": lambda: ready}
    )
    server.start()
    return server


def test_ready_not_ready_with_its_reason_and_down() -> None:
    ready, waiting = serve(True), serve("database unreachable: refused")
    try:
        health = PipelineHealth(
            {
                "ingest": f"http://127.0.0.1:{ready.port}",
                "scoring": f"http://127.0.0.1:{waiting.port}",
                "sentiment": f"http://127.0.0.1:{free_port()}",
            }
        )
        assert health.refresh() == (
            "ingest ready · scoring not ready (database unreachable: refused) · sentiment down"
        )
    finally:
        ready.stop()
        waiting.stop()
