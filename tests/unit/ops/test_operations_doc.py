"""docs/operations.md's generated parts match the code: every metric the services export and
every setting, with its type, default and meaning."""

from __future__ import annotations

from services.runtime.opsdocs import DOC, render, settings_catalogue


def test_metrics_table_and_configuration_reference_are_up_to_date() -> None:
    current = DOC.read_text()
    assert render(current) == current, "run `python -m services.runtime.opsdocs`"


def test_every_setting_has_a_meaning() -> None:
    missing = [s.variable for s in settings_catalogue() if not s.meaning]
    assert not missing
