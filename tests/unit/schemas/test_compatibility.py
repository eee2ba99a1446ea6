"""The versioning policy: within a major version the schemas only grow."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from schemas import export
from schemas.compatibility import VERSION_KEY, breaking_changes, contract_breaks


def test_fresh_schemas_are_an_additive_change_of_the_committed_ones(
    committed: dict[str, Any],
) -> None:
    problems = contract_breaks(committed, export.json_schemas())
    assert problems == [], (
        "non-additive change within the major version; make it additive or bump "
        "CONTRACT_VERSION's major:\n" + "\n".join(problems)
    )


@pytest.fixture
def canonical(committed: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = copy.deepcopy(committed["canonical_event"])
    return schema


def test_the_check_accepts_additions(canonical: dict[str, Any]) -> None:
    grown = copy.deepcopy(canonical)
    defs = grown["$defs"]
    defs["Channel"]["enum"].append("carrier_pigeon")
    defs["Purchase"]["properties"]["coupon"] = {"type": "string"}
    defs["Purchase"]["properties"]["item_count"] = {
        "anyOf": [{"type": "number", "minimum": 0}, {"type": "null"}]
    }
    defs["SurveyNps"]["properties"]["score"]["maximum"] = 11
    defs["Purchase"]["title"] = "Order"
    assert breaking_changes(canonical, grown) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: s["$defs"]["Purchase"]["properties"].pop("order_id"), "was removed"),
        (lambda s: s["$defs"]["Review"]["required"].append("title"), "became required"),
        (lambda s: s["$defs"]["Channel"]["enum"].remove("sms"), "enum values removed"),
        (lambda s: s["$defs"]["SurveyNps"]["properties"]["score"].update(maximum=9), "maximum"),
        (lambda s: s["properties"].update(text={"type": "string"}), "no longer accepted"),
        (lambda s: s["properties"]["event_id"].update(pattern="^[a-z]+$"), "pattern changed"),
        (lambda s: s["properties"]["event_id"].update(type="integer"), "type changed"),
        (lambda s: s["$defs"]["Purchase"].pop("if"), None),  # dropping a condition widens
    ],
)
def test_the_check_finds_non_additive_changes(
    canonical: dict[str, Any], change: Any, expected: str | None
) -> None:
    changed = copy.deepcopy(canonical)
    change(changed)
    problems = breaking_changes(canonical, changed)
    if expected is None:
        assert problems == []
    else:
        assert any(expected in problem for problem in problems), problems


def test_a_major_version_bump_allows_breaking_changes(committed: dict[str, Any]) -> None:
    fresh = copy.deepcopy(committed)
    fresh["purchase"]["properties"].pop("order_id")
    assert contract_breaks(committed, fresh) == ["purchase: order_id: the field was removed"]
    fresh["purchase"][VERSION_KEY] = "2.0"
    assert contract_breaks(committed, fresh) == []


def test_a_removed_schema_is_breaking(committed: dict[str, Any]) -> None:
    fresh = {name: schema for name, schema in committed.items() if name != "refund"}
    assert contract_breaks(committed, fresh) == ["refund: the schema was removed"]


def test_export_refuses_to_write_a_breaking_change(
    committed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pretend the committed purchase schema had a field the models no longer have.
    pretended = copy.deepcopy(committed)
    pretended["purchase"]["properties"]["voucher_code"] = {"type": "string"}
    monkeypatch.setattr(export, "committed_schemas", lambda: pretended)
    written: list[object] = []

    with pytest.raises(export.BreakingChangeError, match="voucher_code: the field was removed"):
        export.write_artifacts(on_write=written.append)
    assert written == []
