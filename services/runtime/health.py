"""Liveness, readiness and the /metrics endpoint of one service, on a small HTTP server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

ReadinessCheck = Callable[[], "bool | str"]
"""True when ready; False, or a string saying why not, when not."""


class Liveness:
    """The loop beats once per iteration; a loop that stopped beating is stuck or dead."""

    def __init__(self, timeout_seconds: float, clock: Callable[[], float] = time.monotonic):
        self._timeout = timeout_seconds
        self._clock = clock
        self._last_beat = clock()

    def beat(self) -> None:
        self._last_beat = self._clock()

    def seconds_since_beat(self) -> float:
        return self._clock() - self._last_beat

    def alive(self) -> bool:
        return self.seconds_since_beat() < self._timeout


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # Prometheus scrapes every few seconds; access logs would drown the service's own.


class HealthServer:
    def __init__(
        self,
        host: str,
        port: int,
        registry: CollectorRegistry,
        liveness: Liveness,
        readiness: dict[str, ReadinessCheck],
    ) -> None:
        self._metrics_app = make_wsgi_app(registry)
        self._liveness = liveness
        self._readiness = readiness
        self._server = make_server(
            host, port, self._app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="rapport-http", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def readiness(self) -> dict[str, bool | str]:
        """Each check's verdict: True, or why it is not ready (a string, or False)."""
        results: dict[str, bool | str] = {}
        for name, check in self._readiness.items():
            try:
                verdict = check()
            except Exception as exc:
                # A check that cannot even be evaluated (the broker is gone) is not ready.
                verdict = f"check failed: {exc}"
            results[name] = verdict if isinstance(verdict, str) and verdict else bool(verdict)
        return results

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            body: Iterable[bytes] = self._metrics_app(environ, start_response)
            return body
        if path == "/healthz":
            ok = self._liveness.alive()
            payload: dict[str, Any] = {
                "alive": ok,
                "seconds_since_progress": round(self._liveness.seconds_since_beat(), 3),
            }
        elif path == "/readyz":
            verdicts = self.readiness()
            ok = all(v is True for v in verdicts.values())
            payload = {
                "ready": ok,
                "checks": {name: v is True for name, v in verdicts.items()},
                "reasons": {n: v for n, v in verdicts.items() if isinstance(v, str)},
            }
        else:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        status = "200 OK" if ok else "503 Service Unavailable"
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(payload).encode() + b"\n"]
