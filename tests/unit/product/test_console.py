"""The console's view of the published topics and its pages, fed records directly."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any

import pytest

from schemas.identity import Tenancy, TenancyMode
from schemas.samples import alert_example, score_update_example
from services.console.service import ConsoleApp
from services.console.view import ScoreView, tenant_topics
from services.runtime.settings import Settings, Topics
from tests.support.alerts import escalated_alert

TOPICS = Topics()


def update(customer: str, trust: float, count: int, segment: str = "neutral") -> bytes:
    document = score_update_example().model_dump(mode="json")
    document.update(customer_id=customer, trust=trust, event_count=count, segment=segment)
    return json.dumps(document).encode()


def fed_view() -> ScoreView:
    view = ScoreView(TOPICS)
    for customer, trust, count in (("c-low", 20.0, 3), ("c-high", 80.0, 5), ("c-gone", 50.0, 1)):
        value = update(customer, trust, count)
        view.apply(TOPICS.score_updates, customer.encode(), value)
        view.apply(TOPICS.scores_latest, customer.encode(), value)
    view.apply(TOPICS.scores_latest, b"c-gone", None)  # erased: a tombstone
    alert = alert_example().model_dump(mode="json") | {"customer_id": "c-low"}
    view.apply(TOPICS.alerts, b"c-low", json.dumps(alert).encode())
    view.caught_up = True
    return view


def test_the_view_sorts_searches_and_forgets_erased_customers() -> None:
    view = fed_view()
    assert [u.customer_id for u in view.customers(sort="trust")] == ["c-low", "c-high"]
    assert [u.customer_id for u in view.customers(sort="trust", descending=True)] == [
        "c-high",
        "c-low",
    ]
    assert [u.customer_id for u in view.customers(query="HIGH")] == ["c-high"]
    assert view.customer("c-gone")[0] is None
    assert [item.seq for item in view.alerts_after(0)] == [1]
    assert view.alerts_after(1) == []
    view.apply(TOPICS.alerts, b"x", b"{not an alert")
    assert view.unreadable == 1


def get(app: ConsoleApp, path: str, query: str = "") -> tuple[str, str]:
    status: list[str] = []

    def start_response(code: str, _headers: list[tuple[str, str]]) -> None:
        status.append(code)

    environ: dict[str, Any] = {
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "wsgi.input": io.BytesIO(),
    }
    body: Iterable[bytes] = app(environ, start_response)
    return status[0], b"".join(body).decode()


def test_the_pages_and_the_feed() -> None:
    app = ConsoleApp(fed_view())
    status, page = get(app, "/", "sort=trust&desc=1")
    assert status == "200 OK"
    assert page.index("c-high") < page.index("c-low")
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")  # no CDN
    status, page = get(app, "/customers/c-low")
    assert status == "200 OK"
    assert page.count("<polyline") == 2
    status, body = get(app, "/api/alerts", "after=0")
    assert [a["customer_id"] for a in json.loads(body)["alerts"]] == ["c-low"]
    assert get(app, "/readyz")[0] == "200 OK"
    assert get(app, "/nope")[0].startswith("404")
    assert get(app, "/api/alerts", "after=x")[0].startswith("400")


def test_an_erased_customer_stays_gone_when_the_other_topics_are_read_again() -> None:
    """After a restart the view re-reads score updates and alerts, which keep an erased
    customer's records until retention: neither brings the customer back, a new latest does."""
    view = ScoreView(TOPICS)
    alert = alert_example().model_dump(mode="json") | {"customer_id": "c-gone"}
    view.apply(TOPICS.score_updates, b"c-gone", update("c-gone", 50.0, 1))
    view.apply(TOPICS.alerts, b"c-gone", json.dumps(alert).encode())
    view.apply(TOPICS.scores_latest, b"c-gone", update("c-gone", 50.0, 1))
    view.apply(TOPICS.scores_latest, b"c-gone", None)  # erased
    assert view.customer("c-gone") == (None, [], [])
    assert view.alerts_after(0) == []
    assert view.movers() == []
    # Read again (another partition's records arrive after the tombstone): still gone.
    view.apply(TOPICS.score_updates, b"c-gone", update("c-gone", 50.0, 1))
    view.apply(TOPICS.alerts, b"c-gone", json.dumps(alert).encode())
    assert view.customer("c-gone") == (None, [], [])
    assert view.alerts_after(0) == []
    # Events after the erasure start a fresh customer: a new latest score shows them again.
    view.apply(TOPICS.scores_latest, b"c-gone", update("c-gone", 55.0, 1))
    view.apply(TOPICS.score_updates, b"c-gone", update("c-gone", 55.0, 1))
    latest, history, _ = view.customer("c-gone")
    assert latest is not None
    assert len(history) == 1


def test_a_multi_tenant_tombstone_erases_the_customer_of_its_key() -> None:
    view = ScoreView(TOPICS)
    value = update("12345", 50.0, 2)
    view.apply(TOPICS.scores_latest, b"acme|12345", value)
    assert view.customer("acme|12345")[0] is not None
    view.apply(TOPICS.scores_latest, b"acme|12345", None)
    assert view.customer("acme|12345")[0] is None


def test_two_tenants_customers_of_the_same_id_stay_two_customers() -> None:
    """A view of every tenant names customers by their key; one tenant's erasure leaves the
    other's customer of the same id (issue 16). A view scoped to one tenant shows plain ids."""
    view = ScoreView(TOPICS)
    for tenant, trust in (("acme", 20.0), ("globex", 80.0)):
        key = f"{tenant}|12345".encode()
        view.apply(TOPICS.score_updates, key, update("12345", trust, 1))
        view.apply(TOPICS.scores_latest, key, update("12345", trust, 1))
        alert = alert_example().model_dump(mode="json") | {
            "customer_id": "12345",
            "alert_id": f"{tenant}-a",
        }
        view.apply(TOPICS.alerts, key, json.dumps(alert).encode())
    listed = {u.customer_id: u.trust for u in view.customers()}
    assert listed == {"acme|12345": 20.0, "globex|12345": 80.0}
    assert {a.customer_id for a in view.open_alerts()} == {"acme|12345", "globex|12345"}
    view.apply(TOPICS.scores_latest, b"acme|12345", None)
    assert [u.customer_id for u in view.customers()] == ["globex|12345"]
    assert [item.alert.customer_id for item in view.alerts_after(0)] == ["globex|12345"]

    scoped = ScoreView(TOPICS)  # a tenant's subscription hands it the customer ids as keys
    scoped.apply(TOPICS.scores_latest, b"12345", update("12345", 20.0, 1))
    assert [u.customer_id for u in scoped.customers()] == ["12345"]


def test_a_view_of_one_tenant_reads_its_topics() -> None:
    multi = Tenancy(mode=TenancyMode.MULTI)
    isolated = Tenancy(mode=TenancyMode.MULTI, topics_per_tenant=True, tenants=("acme",))
    assert tenant_topics(Settings(), None) == Settings().topics
    assert tenant_topics(Settings(tenancy=multi), "acme") == Settings().topics  # shared, by key
    assert tenant_topics(Settings(tenancy=isolated), "acme").score_updates == (
        "rapport.score-updates.acme"
    )
    for settings, tenant, reason in (
        (Settings(), "acme", "multi-tenant"),
        (Settings(tenancy=isolated), None, "name one"),
        (Settings(tenancy=isolated), "globex", "not in RAPPORT_TENANCY__TENANTS"),
    ):
        with pytest.raises(ValueError, match=reason):
            tenant_topics(settings, tenant)


def test_the_report_keeps_two_tenants_customers_of_the_same_id_apart() -> None:
    from datetime import UTC, datetime, timedelta

    from services.product.report import ReportData

    now = datetime.now(UTC)
    data = ReportData(TOPICS, now - timedelta(hours=1), now + timedelta(hours=1))
    stamp = int(now.timestamp() * 1000)
    for tenant in ("acme", "globex"):
        data.apply(TOPICS.score_updates, f"{tenant}|12345".encode(), update("12345", 50, 1), stamp)
    assert set(data.latest()) == {"acme|12345", "globex|12345"}


def test_an_escalated_alert_is_not_shown_as_resolved() -> None:
    """An escalation resolves the open alert only because a worse one replaced it: the feed,
    the page and the customer page say "escalated", never "resolved"."""
    view = ScoreView(TOPICS)
    superseded = escalated_alert()
    view.apply(TOPICS.alerts, b"c", superseded.model_dump_json().encode())
    app = ConsoleApp(view)
    [fed] = json.loads(get(app, "/api/alerts", "after=0")[1])["alerts"]
    assert (fed["state"], fed["shown_state"]) == ("resolved", "escalated")
    page = get(app, "/")[1]
    assert "trust_drop · escalated" in page
    assert "trust_drop · resolved" not in page
