"""The console: a downstream service that shows Rapport's published scores on a web page.

It subscribes to the published topics as any downstream team would (``ScoreView``), keeps its
own view in memory, and serves read-only pages and a JSON API. Standard-library WSGI, like the
services' health endpoints: a handful of routes do not justify a web framework and its
dependencies, and the pages are server-rendered (SVG charts, one inline script for the feed).
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from types import FrameType
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from services.console import pages
from services.console.view import ScoreView, Subscription, tenant_topics
from services.runtime.settings import Settings

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class PipelineHealth:
    """The pipeline services' readiness, as their /readyz says it: what an operator looks at
    first when the scores stop moving.

    Asked every ``interval_seconds`` by a thread of its own, so that a page never waits for a
    slow or dead service: pages read the last answer.
    """

    def __init__(self, service_urls: dict[str, str], interval_seconds: float = 5.0) -> None:
        self._urls = service_urls
        self._interval = interval_seconds
        self._line = "checking the services…"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pipeline-health", daemon=True)

    def start(self) -> PipelineHealth:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def line(self) -> str:
        return self._line  # replaced, never mutated: safe to read from any thread

    def refresh(self) -> str:
        self._line = " · ".join(
            f"{name} {self._readiness(url)}" for name, url in self._urls.items()
        )
        return self._line

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self._interval)

    @staticmethod
    def _readiness(url: str) -> str:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                return "ready" if json.loads(response.read()).get("ready") else "not ready"
        except urllib.error.HTTPError as error:
            try:
                reasons = json.loads(error.read() or b"{}").get("reasons", {})
            except (OSError, ValueError, AttributeError):
                reasons = {}
            why = str(next(iter(reasons.values()), "")) if isinstance(reasons, dict) else ""
            return f"not ready ({why[:80]})" if why else "not ready"
        except Exception:
            # Whatever went wrong, the service did not answer as a ready one does; the console
            # itself must never fail over it.
            return "down"


def default_service_urls() -> dict[str, str]:
    from services.registry import PIPELINE, SERVICES

    return {name: f"http://127.0.0.1:{SERVICES[name].default_port}" for name in PIPELINE}


class ConsoleApp:
    def __init__(
        self,
        view: ScoreView,
        subscription: Subscription | None = None,
        pipeline: PipelineHealth | None = None,
    ) -> None:
        self.view = view
        self.subscription = subscription
        self.pipeline = pipeline
        self.registry = CollectorRegistry()
        self._customers = Gauge(
            "rapport_console_customers", "Customers in the console's view", registry=self.registry
        )
        self._records = Gauge(
            "rapport_console_records",
            "Records read, by topic",
            ["topic"],
            registry=self.registry,
        )

    def health_line(self) -> str:
        health = self.view.health()
        records = health["records"]
        assert isinstance(records, dict)
        state = "reading the topics…" if not health["caught_up"] else "live"
        if self.subscription is not None and self.subscription.error:
            state = self.subscription.error
        line = (
            f"{state} · {health['customers']} customers · {sum(records.values())} records read "
            f"· {health['open_alerts']} open alerts"
        )
        if self.pipeline is not None:
            line += f" — pipeline: {self.pipeline.line()}"
        return line

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        # PEP 3333: PATH_INFO arrives percent-decoded, as latin-1 text of the raw bytes.
        path = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace")
        params = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            if path == "/":
                return self._html(start_response, "Customers", self._list(params))
            if path.startswith("/customers/"):
                customer_id = path.removeprefix("/customers/")
                latest, history, alerts = self.view.customer(customer_id)
                body = pages.customer_page(customer_id, latest, history, alerts)
                return self._html(start_response, customer_id, body)
            if path == "/api/alerts":
                return self._json(start_response, self._alerts(int(params.get("after", "0"))))
            if path == "/api/customers":
                rows = self.view.customers(params.get("q", ""), params.get("sort", "trust"))
                return self._json(
                    start_response, {"customers": [u.model_dump(mode="json") for u in rows]}
                )
            if path == "/healthz":
                return self._json(start_response, {"alive": True})
            if path == "/readyz":
                ready = self.view.caught_up
                return self._json(
                    start_response,
                    {"ready": ready, "checks": {"caught_up": ready}},
                    "200 OK" if ready else "503 Service Unavailable",
                )
            if path == "/metrics":
                self._customers.set(len(self.view.latest_scores()))
                for topic, count in self.view.records.items():
                    self._records.labels(topic).set(count)
                start_response("200 OK", [("Content-Type", "text/plain; version=0.0.4")])
                return [generate_latest(self.registry)]
        except ValueError:
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [b"bad request\n"]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    def _list(self, params: dict[str, str]) -> str:
        sort = params.get("sort", "trust")
        descending = params.get("desc", "0") == "1"
        segment = params.get("segment") or None
        query = params.get("q", "")
        rows = self.view.customers(query, sort, descending, segment)
        total = len(rows)
        return pages.customer_list(
            rows[:500],
            total=total,
            query=query,
            sort=sort,
            descending=descending,
            segment=segment,
            segments=dict(self.view.segment_counts()),
        )

    def _alerts(self, after: int) -> dict[str, Any]:
        return {
            "alerts": [
                {
                    "seq": item.seq,
                    "shown_state": item.alert.shown_state,
                    **item.alert.model_dump(mode="json"),
                }
                for item in self.view.alerts_after(after)
            ],
            "health": self.health_line(),
        }

    def _html(self, start_response: StartResponse, title: str, body: str) -> Iterable[bytes]:
        feed = pages.feed_panel(
            [(item.seq, item.alert) for item in self.view.alerts_after(0, limit=30)],
            self.health_line(),
        )
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [pages.layout(title, body, feed).encode()]

    @staticmethod
    def _json(
        start_response: StartResponse, document: object, status: str = "200 OK"
    ) -> Iterable[bytes]:
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(document).encode()]


DEFAULT_PORT = 9180


def run_console(settings: Settings) -> None:
    """Serve until SIGTERM/SIGINT."""
    from services.runtime.service import bootstrap_servers

    tenant = settings.console_tenant
    try:
        topics = tenant_topics(settings, tenant)
    except ValueError as exc:
        log.error("console: RAPPORT_CONSOLE_TENANT: %s", exc)
        raise SystemExit(2) from exc
    view = ScoreView(topics)
    subscription = Subscription(
        bootstrap_servers(settings), view, f"{settings.group_prefix}-console", tenant=tenant
    ).start()
    port = settings.http_port if settings.http_port is not None else DEFAULT_PORT
    urls = settings.console_service_urls or default_service_urls()
    pipeline = PipelineHealth(urls).start()
    app = ConsoleApp(view, subscription, pipeline)
    try:
        server = make_server(
            settings.http_host, port, app, server_class=_Server, handler_class=_QuietHandler
        )
    except OSError as exc:
        log.error(
            "console cannot listen on %s:%d (%s); set RAPPORT_HTTP_PORT to another port",
            settings.http_host,
            port,
            exc.strerror,
        )
        subscription.stop()
        raise SystemExit(2) from exc
    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("console received %s: stopping", signal.Signals(signum).name)
        stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    log.info("console serving http://%s:%d/", settings.http_host, port)
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
        subscription.stop()
        log.info("console stopped")
