"""Colour rules as data: the shipped default, validation, and evaluation over a person's facts.

A rule set is an ordered list of rules; the first rule whose condition holds gives the colour
and the reason. A condition looks at one kind of health fact:

- ``{"fact": K, "open_until": E}``: the latest fact K has no fact E at or after it (a case not
  yet recovered, an isolation not yet ended);
- ``{"fact": K, "at_least_ago": "14d"}``: a fact K happened that long ago or longer;
- ``{"fact": K, "within": "72h"}``: a fact K happened within that time before now;

optionally narrowed by ``"where"`` on the fact's value (``{"full_course": true}``); or at the
person's place of residence:

- ``{"zone_level_at_least": 3}``: the unit they live in has that zone level or higher (levels
  1–4 are set daily by the cases domain), so a province can turn passes of a red zone yellow.

A rule with
no ``"if"`` matches everyone; every rule set ends with one, so everyone gets a colour.
Provinces publish their own versions of this data; nothing here is code they must change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from phongdich.errors import Invalid
from phongdich.web.reasons import N_

COLOURS = ("green", "yellow", "red")

# Fact kinds and the values each carries (name -> allowed values, or the type).
FACT_VALUES: dict[str, dict[str, tuple[object, ...] | type]] = {
    "vaccination_dose": {"dose_number": int, "full_course": bool},
    "test_result": {"method": ("pcr", "rapid_antigen"), "result": ("negative", "positive")},
    "case_confirmed": {},
    "case_recovered": {},
    "isolation_started": {},
    "isolation_ended": {},
    "quarantine_started": {},
    "quarantine_ended": {},
}
FACT_KINDS = tuple(FACT_VALUES)
MAX_RULES = 50
MAX_REASON = 200
MAX_DOSE = 20
_DURATION = re.compile(r"^([1-9][0-9]{0,4})([dh])$")
_TESTS = ("open_until", "at_least_ago", "within")

# The rules PC-Covid applied in 2021, installed as version 1 of the default rule set.
# The quarantine rule's colour is the one provinces changed most often (red or yellow).
DEFAULT_RULES: list[dict[str, Any]] = [
    {
        "colour": "red",
        "reason": N_("Confirmed case, not yet recovered"),
        "if": {"fact": "case_confirmed", "open_until": "case_recovered"},
    },
    {
        "colour": "red",
        "reason": N_("In isolation"),
        "if": {"fact": "isolation_started", "open_until": "isolation_ended"},
    },
    {
        "colour": "red",
        "reason": N_("Contact in quarantine"),
        "if": {"fact": "quarantine_started", "open_until": "quarantine_ended"},
    },
    {
        "colour": "red",
        "reason": N_("Positive test within the last 14 days"),
        "if": {"fact": "test_result", "where": {"result": "positive"}, "within": "14d"},
    },
    {
        "colour": "green",
        "reason": N_("Fully vaccinated at least 14 days ago"),
        "if": {"fact": "vaccination_dose", "where": {"full_course": True}, "at_least_ago": "14d"},
    },
    {
        "colour": "green",
        "reason": N_("Recovered within the last 180 days"),
        "if": {"fact": "case_recovered", "within": "180d"},
    },
    {
        "colour": "yellow",
        "reason": N_("First vaccine dose at least 14 days ago"),
        "if": {"fact": "vaccination_dose", "at_least_ago": "14d"},
    },
    {
        "colour": "yellow",
        "reason": N_("Negative PCR test within the last 72 hours"),
        "if": {
            "fact": "test_result",
            "where": {"method": "pcr", "result": "negative"},
            "within": "72h",
        },
    },
    {"colour": "red", "reason": N_("No vaccination, recovery or recent negative test on record")},
]


@dataclass(frozen=True)
class Fact:
    """What the rules see of a health fact."""

    kind: str
    occurred_at: datetime
    value: Mapping[str, object]


def parse_duration(text: object, field: str) -> timedelta:
    """'14d' or '72h': whole days or hours, at least one."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None:
        raise Invalid(field, "a duration such as 14d or 72h (whole days or hours, at least 1)")
    amount = int(match.group(1))
    return timedelta(days=amount) if match.group(2) == "d" else timedelta(hours=amount)


def check_value(kind: str, value: object, field: str = "value") -> dict[str, object]:
    """A fact's value: only the names its kind carries, each of the right type or choice."""
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise Invalid(field, "an object")
    allowed = FACT_VALUES[kind]
    out: dict[str, object] = {}
    for name, item in value.items():
        if name not in allowed:
            names = ", ".join(allowed) or "nothing"
            raise Invalid(f"{field}.{name}", f"a {kind} fact carries only: {names}")
        expected = allowed[name]
        if expected is int:
            if not isinstance(item, int) or isinstance(item, bool) or not 1 <= item <= MAX_DOSE:
                raise Invalid(f"{field}.{name}", f"a whole number from 1 to {MAX_DOSE}")
        elif expected is bool:
            if not isinstance(item, bool):
                raise Invalid(f"{field}.{name}", "true or false")
        elif isinstance(expected, tuple) and item not in expected:
            raise Invalid(f"{field}.{name}", "one of " + ", ".join(map(str, expected)))
        out[str(name)] = item
    return out


def check_kind(kind: object, field: str) -> str:
    if not isinstance(kind, str) or kind not in FACT_VALUES:
        raise Invalid(field, "a fact kind: " + ", ".join(FACT_KINDS))
    return kind


ZONE_TEST = "zone_level_at_least"


def _check_condition(condition: object, field: str) -> None:
    if not isinstance(condition, Mapping):
        raise Invalid(field, "an object with a fact and one test")
    if ZONE_TEST in condition:
        if set(condition) != {ZONE_TEST}:
            raise Invalid(field, f"{ZONE_TEST} stands alone in its condition")
        level = condition[ZONE_TEST]
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 4:
            raise Invalid(f"{field}.{ZONE_TEST}", "a zone level from 1 to 4")
        return
    unknown = set(condition) - {"fact", "where", *_TESTS}
    if unknown:
        raise Invalid(f"{field}.{sorted(map(str, unknown))[0]}", "not a condition field")
    kind = check_kind(condition.get("fact"), f"{field}.fact")
    tests = [t for t in _TESTS if t in condition]
    if len(tests) != 1:
        raise Invalid(field, "exactly one of: " + ", ".join(_TESTS))
    if "where" in condition:
        check_value(kind, condition["where"], f"{field}.where")
    test = tests[0]
    if test == "open_until":
        check_kind(condition[test], f"{field}.open_until")
    else:
        parse_duration(condition[test], f"{field}.{test}")


def validate_rules(rules: object, field: str = "rules") -> list[dict[str, Any]]:
    """Refuse anything the evaluator could not apply; name the first bad field."""
    if not isinstance(rules, Sequence) or isinstance(rules, str | bytes):
        raise Invalid(field, "a list of rules")
    if not 1 <= len(rules) <= MAX_RULES:
        raise Invalid(field, f"from 1 to {MAX_RULES} rules")
    for index, rule in enumerate(rules):
        where = f"{field}.{index}"
        if not isinstance(rule, Mapping):
            raise Invalid(where, "an object with colour, reason and an optional if")
        unknown = set(rule) - {"colour", "reason", "if"}
        if unknown:
            raise Invalid(f"{where}.{sorted(map(str, unknown))[0]}", "not a rule field")
        if rule.get("colour") not in COLOURS:
            raise Invalid(f"{where}.colour", "green, yellow or red")
        reason = rule.get("reason")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
            raise Invalid(
                f"{where}.reason", f"the reason in words, at most {MAX_REASON} characters"
            )
        if "if" in rule:
            _check_condition(rule["if"], f"{where}.if")
    if "if" in rules[-1]:
        raise Invalid(f"{field}.{len(rules) - 1}", "the last rule has no condition")
    return [dict(rule) for rule in rules]


def _matches(fact: Fact, where: Mapping[str, object]) -> bool:
    return all(fact.value.get(name) == wanted for name, wanted in where.items())


def holds(
    condition: Mapping[str, Any], facts: Sequence[Fact], at: datetime, zone_level: int | None = None
) -> bool:
    """Does the condition hold at `at`? Facts after `at` do not exist yet."""
    if ZONE_TEST in condition:
        return zone_level is not None and zone_level >= int(condition[ZONE_TEST])
    where = condition.get("where") or {}
    chosen = [
        f
        for f in facts
        if f.kind == condition["fact"] and f.occurred_at <= at and _matches(f, where)
    ]
    if not chosen:
        return False
    if "open_until" in condition:
        latest = max(f.occurred_at for f in chosen)
        return not any(
            f.kind == condition["open_until"] and latest <= f.occurred_at <= at for f in facts
        )
    if "at_least_ago" in condition:
        cutoff = at - parse_duration(condition["at_least_ago"], "at_least_ago")
        return any(f.occurred_at <= cutoff for f in chosen)
    since = at - parse_duration(condition["within"], "within")
    return any(f.occurred_at >= since for f in chosen)


def evaluate(
    rules: Sequence[Mapping[str, Any]],
    facts: Sequence[Fact],
    at: datetime,
    zone_level: int | None = None,
) -> Mapping[str, Any]:
    """The first rule that holds (validated rule sets always end with one that does).

    `zone_level`: the current level of the unit the person lives in, if known."""
    for rule in rules:
        condition = rule.get("if")
        if condition is None or holds(condition, facts, at, zone_level):
            return rule
    raise ValueError("a rule set without a final catch-all rule")  # validate_rules prevents it
