"""The model's events as the registry records them: trainings, retrainings, gate verdicts, alias moves and deploys."""

from __future__ import annotations

from cml_mlops.monitoring.events import CHALLENGES_TAG, version_events
from cml_mlops.registry import ALIAS_SET_AT, GATED_AT
from cml_mlops.tracking import VALIDATION_STATUS


def test_a_versions_tags_tell_its_events() -> None:
    tags = {
        CHALLENGES_TAG: "3",
        GATED_AT: "1700000100.5",
        VALIDATION_STATUS: "failed",
        ALIAS_SET_AT.format(alias="challenger"): "1700000200",
        ALIAS_SET_AT.format(alias="champion"): "1700000300",
        "cml_mlops.threshold": "0.3",
    }
    events = version_events("4", 1_700_000_000_000, tags)
    assert [(e.at, e.kind, e.text) for e in sorted(events, key=lambda e: e.at)] == [
        (1_700_000_000.0, "retrained", "v4 retrained (challenging v3)"),
        (1_700_000_100.5, "gate", "gate failed on v4"),
        (1_700_000_200.0, "alias", "challenger -> v4"),
        (1_700_000_300.0, "deploy", "v4 deployed (champion)"),
    ]


def test_a_version_without_stamps_shows_only_its_training() -> None:
    events = version_events("1", 1_700_000_000_000, {VALIDATION_STATUS: "passed", GATED_AT: "not a time"})
    assert [(event.kind, event.text) for event in events] == [("trained", "v1 trained")]
