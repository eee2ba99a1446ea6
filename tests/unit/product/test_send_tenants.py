"""`rapport send` keys events by customer in the documented format and takes --tenant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from schemas.identity import Tenancy, TenancyMode
from schemas.topics import Topics
from services.cli import app
from services.product.send import plan

EXAMPLE = Path(__file__).resolve().parents[3] / "schemas" / "examples" / "upstream" / "chat.json"
MULTI = Tenancy(mode=TenancyMode.MULTI)


def files(*documents: dict[str, object]) -> list[tuple[str, bytes]]:
    return [("events.ndjson", b"\n".join(json.dumps(d).encode() for d in documents))]


def example(**changes: object) -> dict[str, object]:
    document: dict[str, object] = {**json.loads(EXAMPLE.read_text()), **changes}
    return {name: value for name, value in document.items() if value is not None}


def test_single_tenant_keys_by_customer_id_alone() -> None:
    outgoing, rejected = plan(files(example()), Topics())
    assert rejected == []
    assert [o.key for o in outgoing] == [b"cust-48213"]


def test_multi_tenant_keys_by_tenant_and_customer() -> None:
    outgoing, _ = plan(files(example()), Topics(), tenancy=MULTI)
    assert [o.key for o in outgoing] == [b"acme-de|cust-48213"]


def test_multi_tenant_rejects_an_event_without_tenant_as_ingest_would() -> None:
    outgoing, rejected = plan(files(example(tenant_id=None)), Topics(), tenancy=MULTI)
    assert outgoing == []
    assert [r.reason for r in rejected] == ["missing_tenant"]


@pytest.mark.parametrize("validate", [True, False])
def test_tenant_sends_every_event_as_that_tenants(validate: bool) -> None:
    outgoing, rejected = plan(
        files(example(), example(tenant_id=None)),
        Topics(),
        validate=validate,
        tenancy=MULTI,
        tenant="acme-fr",
    )
    assert rejected == []
    assert [o.key for o in outgoing] == [b"acme-fr|cust-48213"] * 2
    assert {json.loads(o.value)["tenant_id"] for o in outgoing} == {"acme-fr"}


def test_the_cli_passes_tenant_and_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_TENANCY__MODE", "multi")
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("RAPPORT_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    # An empty state directory: a local stack the developer has running is not found.
    monkeypatch.setenv("RAPPORT_STATE_DIR", str(tmp_path / "state"))
    file = tmp_path / "events.ndjson"
    file.write_bytes(files(example(tenant_id=None))[0][1])
    result = CliRunner().invoke(app, ["send", "--json", str(file)])
    assert json.loads(result.stdout)["rejected_by_reason"] == {"missing_tenant": 1}
    # With --tenant it would be sent: no broker here, so the command says it needs one.
    result = CliRunner().invoke(app, ["send", "--json", "--tenant", "acme-fr", str(file)])
    assert result.exit_code == 2
    assert "rapport up" in result.stderr
