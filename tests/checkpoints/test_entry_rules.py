"""The entry rule language: validation naming the field, the default rules' verdicts for the
sample travellers, and which published set applies where."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from phongdich.checkpoints import entry_rules
from phongdich.checkpoints.entry_rules import CONDITIONAL, PASS, TURN_BACK
from phongdich.errors import Invalid

AT = datetime(2021, 9, 10, 8, 0, tzinfo=UTC)


def field_of(rules: object) -> str:
    with pytest.raises(Invalid) as refused:
        entry_rules.validate_rules(rules)
    return refused.value.field


def with_rule(index: int, **changes: Any) -> list[dict[str, Any]]:
    rules = copy.deepcopy(entry_rules.DEFAULT_RULES)
    rules[index].update(changes)
    return rules


def test_the_default_rules_are_valid() -> None:
    assert entry_rules.validate_rules(entry_rules.DEFAULT_RULES) == entry_rules.DEFAULT_RULES


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"verdict": "pass"}, "rules"),
        ([], "rules"),
        ([{"verdict": "pass", "reason": "x"}] * 51, "rules"),
        (["pass"], "rules.0"),
        (
            with_rule(3, **{"if": {"origin_zone_level_at_least": 5}}),
            "rules.3.if.origin_zone_level_at_least",
        ),
        (
            with_rule(3, **{"if": {"origin_zone_level_at_least": True}}),
            "rules.3.if.origin_zone_level_at_least",
        ),
        (with_rule(2, verdict="maybe"), "rules.2.verdict"),
        (with_rule(1, reason=""), "rules.1.reason"),
        (with_rule(0, colour="red"), "rules.0.colour"),
        (with_rule(11, condition=""), "rules.11.condition"),
        (with_rule(4, condition="x"), "rules.4.condition"),
        (
            with_rule(7, **{"if": {"vaccinated_at_least_ago": "two weeks"}}),
            "rules.7.if.vaccinated_at_least_ago",
        ),
        (with_rule(5, **{"if": {"credential": ["valid", "stolen"]}}), "rules.5.if.credential"),
        (with_rule(5, **{"if": {"weather": "rain"}}), "rules.5.if.weather"),
        (
            with_rule(5, **{"if": {"any": [{"lane": "driver"}, {"colour": "blue"}]}}),
            "rules.5.if.any.1.colour",
        ),
        (with_rule(5, **{"if": {"any": []}}), "rules.5.if.any"),
        (with_rule(5, **{"if": {}}), "rules.5.if"),
        (
            with_rule(len(entry_rules.DEFAULT_RULES) - 1, **{"if": {"lane": "driver"}}),
            f"rules.{len(entry_rules.DEFAULT_RULES) - 1}",
        ),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field(rules: object, field: str) -> None:
    assert field_of(rules) == field


def test_nesting_is_bounded() -> None:
    condition: dict[str, Any] = {"lane": "driver"}
    for _ in range(5):
        condition = {"any": [condition]}
    rules = [
        {"verdict": "pass", "reason": "x", "if": condition},
        {"verdict": "pass", "reason": "y"},
    ]
    assert field_of(rules).startswith("rules.0.if.any")


EXPECTED = {
    "Fully vaccinated, from a level 4 zone": PASS,
    "Vaccinated 5 days ago, from a level 3 zone": CONDITIONAL,
    "Negative PCR yesterday, from a level 3 zone": PASS,
    "No vaccination or test, from a level 4 zone": CONDITIONAL,
    "No vaccination or test, from a level 1 zone": PASS,
    "Resident of the destination, from a level 4 zone": PASS,
    "Contact in quarantine": TURN_BACK,
    "Confirmed case": TURN_BACK,
    "Revoked pass": TURN_BACK,
    "Forged pass": TURN_BACK,
    "Expired pass, from a level 3 zone": CONDITIONAL,
    "CCCD card only, from a level 2 zone": PASS,
    "In an accepted transfer, from a level 4 zone": PASS,
    "Driver with a negative rapid test at the lane": PASS,
    "Driver with a positive rapid test at the lane": TURN_BACK,
}


def test_the_default_rules_give_the_verdicts_the_gateways_applied() -> None:
    """Zone 3–4 with a full course ≥ 14 days passes, without one takes a rapid test at the
    lane; residents pass; confirmed cases and contacts in quarantine are turned back."""
    got = {
        label: entry_rules.evaluate(entry_rules.DEFAULT_RULES, t, AT)
        for label, t in entry_rules.sample_travellers(AT)
    }
    assert {label: v.verdict for label, v in got.items()} == EXPECTED
    late = got["Vaccinated 5 days ago, from a level 3 zone"]
    assert late.condition == entry_rules.RAPID_TEST_AT_LANE
    assert got["Fully vaccinated, from a level 4 zone"].reason == (
        "Fully vaccinated at least 14 days ago"
    )
    assert got["Resident of the destination, from a level 4 zone"].reason == (
        "Resident of the destination unit"
    )
    assert got["Contact in quarantine"].reason == "Confirmed case or contact in quarantine"


def test_an_any_condition_and_a_lane_apply() -> None:
    rules = entry_rules.validate_rules(
        [
            {
                "verdict": "conditional",
                "reason": "Driver",
                "condition": "Rapid test at the lane",
                "if": {
                    "lane": "driver",
                    "any": [{"colour": "red"}, {"origin_zone_level_at_least": 4}],
                },
            },
            {"verdict": "pass", "reason": "Everyone else"},
        ]
    )
    driver = entry_rules.Traveller("valid", "green", origin_zone_level=4, lane="driver")
    assert entry_rules.evaluate(rules, driver, AT).verdict == CONDITIONAL
    driver.origin_zone_level = 2
    assert entry_rules.evaluate(rules, driver, AT).rule_index == 1


PUBLISHED = {
    "default": {"version": 3, "rules": [{"verdict": "pass", "reason": "default"}]},
    "checkpoint:CK1": {"version": 2, "rules": [{"verdict": "pass", "reason": "checkpoint"}]},
    "unit:01": {"version": 1, "rules": [{"verdict": "pass", "reason": "city"}]},
    "unit:001": {"version": 5, "rules": [{"verdict": "pass", "reason": "district"}]},
}


@pytest.mark.parametrize(
    ("rule_sets", "checkpoint", "path", "scope"),
    [
        (PUBLISHED, "CK1", ["01", "001", "00001"], "unit:001"),
        (PUBLISHED, "CK1", ["01", "002"], "unit:01"),
        (
            {k: v for k, v in PUBLISHED.items() if k.startswith(("c", "d"))},
            "CK1",
            ["01"],
            "checkpoint:CK1",
        ),
        (
            {k: v for k, v in PUBLISHED.items() if k.startswith(("c", "d"))},
            "CK2",
            ["01"],
            "default",
        ),
        ({}, "CK1", ["01"], "default"),
    ],
)
def test_choose_prefers_the_nearest_unit_then_the_checkpoint_then_the_default(
    rule_sets: dict[str, dict[str, Any]], checkpoint: str, path: list[str], scope: str
) -> None:
    chosen, published = entry_rules.choose(rule_sets, checkpoint, path)
    assert chosen == scope
    if not rule_sets:
        assert published["rules"] == entry_rules.DEFAULT_RULES
