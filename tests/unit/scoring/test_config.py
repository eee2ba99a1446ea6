from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from services.scoring.model import MODEL_VERSION, CustomerState, ScoringConfig, scores
from services.scoring.model.config import DEFAULT_PATH

# Every released version of scoring.yaml and the hash of all its settings (`settings_hash`).
# Changing a setting without bumping `version` fails test_the_version_is_bumped_with_every_change;
# after bumping, add the new pair here. (2025.11.1 had no currencies and alerts sections.)
KNOWN_VERSIONS = {
    "2025.11.1": "b72e5f9927f948201109e194d4e93f240850ffc94a83d636b17e1f3d736a6ff0",
    "2025.12.1": "06bfd62ae287fdc1b5ee5ae0a6100149504da675319721ce3f72555ca74be4dd",
    "2026.12.1": "a2ec7adf143d4105679d2bd2e4c548a291df46a36c7ad14dcd8cfb1689a24108",
    "2026.12.2": "c98d23c9d489a49b3fd788212ea90bfc11a355c7494c2e696820bc7769e969e2",
    "2026.12.3": "2c11ddf1d8732c2408559d482fb8f92dafccc068012084f179bfca934f12ec5c",
    # 2026.12.4: the retired publishing.duplicate_horizon_days removed (it was never read).
    "2026.12.4": "9eaa30e4b5a03aa12bd11eaebf130f9f646064e93d44dfb27b403f415347ffe9",
    # 2026.12.5: graded evidence centred on the scale's neutral (ratings.grading).
    "2026.12.5": "9b557a2aa4c2bd67a71525c92a248f1714a94a875451d1e199b265a5e9831ce4",
    # 2026.12.6: a promise kept after its deadline is kept late (events.promise_kept.late).
    "2026.12.6": "18f598129b7ba6ca18fcdb9cf0920768481d314a9eb2abf0cf43e40697bebfd8",
}


def _data() -> dict[str, Any]:
    data = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_the_packaged_configuration_loads(config: ScoringConfig) -> None:
    assert config.version == "2026.12.6"
    assert len(config.content_hash) == 64
    assert config.short_hash == config.content_hash[:12]


def test_the_version_is_bumped_with_every_change(config: ScoringConfig) -> None:
    assert config.version in KNOWN_VERSIONS, f"add {config.version!r} to KNOWN_VERSIONS"
    assert config.settings_hash == KNOWN_VERSIONS[config.version], (
        f"scoring.yaml settings changed but version {config.version!r} did not: bump `version` "
        f"and pin {config.settings_hash!r} for it"
    )


def test_the_hash_ignores_comments_layout_and_version(tmp_path: Path) -> None:
    original = ScoringConfig.load()
    data = _data()
    data["version"] = "something else"
    edited = tmp_path / "scoring.yaml"
    edited.write_text(
        "# another comment\n" + yaml.safe_dump(data, sort_keys=False, indent=4), encoding="utf-8"
    )
    reloaded = ScoringConfig.load(edited)
    assert reloaded.version == "something else"
    assert reloaded.content_hash == original.content_hash


def test_the_hash_changes_with_any_setting() -> None:
    original = ScoringConfig.load()
    data = _data()
    data["events"]["delivery_late"]["trust"] = -1.25
    assert ScoringConfig.from_mapping(data).content_hash != original.content_hash
    data = _data()
    data["half_life_days"]["trust"] = 121
    assert ScoringConfig.from_mapping(data).content_hash != original.content_hash
    data = _data()
    data["currencies"]["rates"]["USD"] = 0.9
    assert ScoringConfig.from_mapping(data).content_hash != original.content_hash


def test_alert_rules_change_the_settings_hash_but_not_the_state_hash() -> None:
    # Stored states do not depend on the alert rules: tuning them needs no rebuild, but it
    # still needs a version bump.
    original = ScoringConfig.load()
    data = _data()
    data["alerts"]["trust_drop"]["drop_points"] = 20
    edited = ScoringConfig.from_mapping(data)
    assert edited.content_hash == original.content_hash
    assert edited.settings_hash != original.settings_hash
    assert edited.alerts.trust_drop.drop_points == 20


def test_the_configuration_is_frozen(config: ScoringConfig) -> None:
    with pytest.raises(ValidationError):
        config.version = "tampered"  # type: ignore[misc]


def test_scores_are_stamped_with_the_versions(config: ScoringConfig) -> None:
    result = scores(CustomerState.empty("c"), config)
    assert result.config_version == config.version
    assert result.config_hash == config.content_hash
    assert result.model_version == MODEL_VERSION


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["loyalty"]["weights"].update(trust=0.5), "sum to 1"),
        (lambda d: d["events"].update(delivery_lost={"trust": -1}), "signal kind"),
        (lambda d: d["scales"]["nps"].update(neutral=11), "min < neutral < max"),
        (lambda d: d["ratings"]["csat"].update(satisfaction=-1), ">= 0"),
        (lambda d: d["support"].update(fast_resolution_hours=500), "fast_resolution_hours"),
        (lambda d: d["churn"]["levels"].update(medium=0.9), "medium < high"),
        (lambda d: d.update(content_hash="x"), "computed"),
        (lambda d: d.update(surprise=1), "Extra inputs"),
        (lambda d: d["half_life_days"].update(trust=0), "greater than 0"),
        (lambda d: d["currencies"]["rates"].update(EUR=2.0), "reference EUR to 1"),
        (lambda d: d["alerts"]["trust_drop"].update(recover_points=20), "recover_points"),
        (lambda d: d["alerts"]["segment_change"].update(segments=["gone"]), "unknown segments"),
        (lambda d: d["alerts"]["detractor_nps"].update(resolve_min_score=5), "resolve_min"),
        (lambda d: d["alerts"]["unresolved_complaints"].update(resolve_at=3), "resolve_at"),
    ],
)
def test_invalid_configurations_are_rejected(edit: Any, message: str) -> None:
    data = _data()
    edit(data)
    with pytest.raises(ValueError, match=message):
        ScoringConfig.from_mapping(data)


def test_a_retired_setting_still_loads_and_says_it_is_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = _data()
    data["publishing"]["duplicate_horizon_days"] = 30
    edited = tmp_path / "scoring.yaml"
    edited.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with caplog.at_level("WARNING"):
        loaded = ScoringConfig.load(edited)
    assert loaded.settings_hash == ScoringConfig.load().settings_hash
    assert "duplicate_horizon_days is ignored" in caplog.text
