"""Entry rules as data: who passes a checkpoint, who passes on a condition, who is turned back.

A rule set is an ordered list; the first rule whose condition holds gives the verdict. Rules
read a `Traveller`: what the station knows of the person in front of it, offline, from the
credential shown, the cached unit tree (origin zone level, residence) and the manifests. This
module is pure (no database): the server validates and previews with it, the station applies it.

A rule is ``{"verdict": V, "reason": R, "if": C}`` (``"condition": T`` too when V is
``conditional``: what the traveller must do, such as a rapid test at the lane). Every key of a
condition must hold:

- ``"credential"``: one or a list of ``valid``, ``expired``, ``revoked``, ``forged``,
  ``unverified`` (a CCCD card: identity without a signature), ``none``;
- ``"status": "case_or_quarantine"``: a confirmed case, in isolation, or a contact in quarantine;
- ``"colour"``: one or a list of green, yellow, red;
- ``"resident_of_destination"``, ``"invited"``: true or false;
- ``"transfer"``: one or a list of ``accepted``, ``pending``, ``refused``, ``none``;
- ``"origin_zone_level_at_least"`` / ``"origin_zone_level_at_most"``: a level from 1 to 4;
- ``"origin_known"``: true or false (false: no origin set and none on the credential);
- ``"vaccinated_at_least_ago"``: full course at least that long ago (``"14d"``);
- ``"negative_pcr_within"``, ``"negative_rapid_within"``, ``"recovered_within"``: ``"72h"``…;
- ``"rapid_test"``: ``positive`` or ``negative``, taken at the lane on this crossing;
- ``"lane"``: one or a list of lane names;
- ``"any"``: a list of conditions, at least one of which holds.

The last rule has no ``"if"``: everyone gets a verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from phongdich.credentials.rules import parse_duration
from phongdich.errors import Invalid
from phongdich.web.reasons import N_

PASS, CONDITIONAL, TURN_BACK = "pass", "conditional", "turn_back"
VERDICTS = (PASS, CONDITIONAL, TURN_BACK)
CREDENTIAL_STATES = ("valid", "expired", "revoked", "forged", "unverified", "none")
TRANSFER_STATES = ("accepted", "pending", "refused", "none")
MAX_RULES = 50
MAX_TEXT = 200
MAX_DEPTH = 3

# The reasons that keep someone in isolation or quarantine, as the colour rules word them.
CASE_OR_QUARANTINE_REASONS = frozenset(
    {
        N_("Confirmed case, not yet recovered"),
        N_("In isolation"),
        N_("Contact in quarantine"),
        N_("Positive test within the last 14 days"),
    }
)

RAPID_TEST_AT_LANE = N_("Rapid test at the lane")

# Version 1 of the default: the rules Hà Nội's gateways applied in the autumn of 2021.
DEFAULT_RULES: list[dict[str, Any]] = [
    {
        "verdict": TURN_BACK,
        "reason": N_("Positive rapid test at the lane: isolate and confirm by PCR"),
        "if": {"rapid_test": "positive"},
    },
    {
        "verdict": TURN_BACK,
        "reason": N_("Confirmed case or contact in quarantine"),
        "if": {"status": "case_or_quarantine"},
    },
    {
        "verdict": TURN_BACK,
        "reason": N_("The pass is forged or revoked"),
        "if": {"credential": ["forged", "revoked"]},
    },
    {
        "verdict": TURN_BACK,
        "reason": N_("On a transfer the receiving unit has not accepted"),
        "if": {"transfer": ["pending", "refused"]},
    },
    {
        "verdict": PASS,
        "reason": N_("Transfer accepted by the receiving unit"),
        "if": {"transfer": "accepted"},
    },
    {
        "verdict": PASS,
        "reason": N_("Resident of the destination unit"),
        "if": {"resident_of_destination": True, "credential": ["valid", "unverified"]},
    },
    {
        "verdict": PASS,
        "reason": N_("Invited by the destination unit"),
        "if": {"invited": True},
    },
    {
        "verdict": PASS,
        "reason": N_("Fully vaccinated at least 14 days ago"),
        "if": {"vaccinated_at_least_ago": "14d"},
    },
    {
        "verdict": PASS,
        "reason": N_("Recovered within the last 180 days"),
        "if": {"recovered_within": "180d"},
    },
    {
        "verdict": PASS,
        "reason": N_("Negative PCR test within the last 72 hours"),
        "if": {"negative_pcr_within": "72h"},
    },
    {
        "verdict": PASS,
        "reason": N_("Negative rapid test within the last 24 hours"),
        "if": {"negative_rapid_within": "24h"},
    },
    {
        "verdict": CONDITIONAL,
        "reason": N_("From a zone of level 3–4 without vaccination or a recent negative test"),
        "condition": RAPID_TEST_AT_LANE,
        "if": {"origin_zone_level_at_least": 3},
    },
    {
        "verdict": CONDITIONAL,
        "reason": N_("No health pass or certificate shown"),
        "condition": N_("Show a health pass, or take a rapid test at the lane"),
        "if": {"credential": ["none", "expired"]},
    },
    {
        "verdict": CONDITIONAL,
        "reason": N_("Origin unknown"),
        "condition": N_(
            "Ask where they come from; rapid test at the lane if from a level 3–4 zone"
        ),
        "if": {"origin_known": False},
    },
    {"verdict": PASS, "reason": N_("From a zone of level 1–2")},
]


@dataclass
class Traveller:
    """What the rules see of one person at the gate."""

    credential: str = "none"  # one of CREDENTIAL_STATES
    colour: str | None = None
    reasons: tuple[str, ...] = ()
    resident_of_destination: bool = False
    invited: bool = False
    transfer: str = "none"
    origin_zone_level: int | None = None
    # Whether the origin unit is known at all (None: known when its zone level is).
    origin_known: bool | None = None
    # status.EVIDENCE names -> when (from the pass, a certificate, or the lane's rapid test)
    evidence: dict[str, datetime] = field(default_factory=dict)
    rapid_test: str = ""  # taken at the lane on this crossing
    lane: str = "general"

    @property
    def case_or_quarantine(self) -> bool:
        return any(reason in CASE_OR_QUARANTINE_REASONS for reason in self.reasons)


@dataclass(frozen=True)
class EntryVerdict:
    verdict: str
    reason: str
    condition: str
    rule_index: int


# Validation


def _one_or_list(value: object, allowed: Sequence[str], field_name: str) -> None:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v in allowed for v in values):
        raise Invalid(field_name, "one or a list of: " + ", ".join(allowed))


def _level(value: object, field_name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
        raise Invalid(field_name, "a zone level from 1 to 4")


def _flag(value: object, field_name: str) -> None:
    if not isinstance(value, bool):
        raise Invalid(field_name, "true or false")


def _lanes(value: object, field_name: str) -> None:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and 0 < len(v) <= 16 for v in values):
        raise Invalid(field_name, "a lane name or a list of them")


_CHECKS = {
    "credential": lambda v, f: _one_or_list(v, CREDENTIAL_STATES, f),
    "status": lambda v, f: _one_or_list(v, ("case_or_quarantine",), f),
    "colour": lambda v, f: _one_or_list(v, ("green", "yellow", "red"), f),
    "resident_of_destination": _flag,
    "invited": _flag,
    "origin_known": _flag,
    "transfer": lambda v, f: _one_or_list(v, TRANSFER_STATES, f),
    "origin_zone_level_at_least": _level,
    "origin_zone_level_at_most": _level,
    "vaccinated_at_least_ago": parse_duration,
    "negative_pcr_within": parse_duration,
    "negative_rapid_within": parse_duration,
    "recovered_within": parse_duration,
    "rapid_test": lambda v, f: _one_or_list(v, ("positive", "negative"), f),
    "lane": _lanes,
}
CONDITION_KEYS = (*_CHECKS, "any")


def _check_condition(condition: object, field_name: str, depth: int = 0) -> None:
    if not isinstance(condition, Mapping) or not condition:
        raise Invalid(field_name, "an object of tests: " + ", ".join(CONDITION_KEYS))
    for key, value in condition.items():
        where = f"{field_name}.{key}"
        if key == "any":
            if depth >= MAX_DEPTH:
                raise Invalid(where, f"nested at most {MAX_DEPTH} deep")
            if not isinstance(value, list) or not value:
                raise Invalid(where, "a list of conditions")
            for index, item in enumerate(value):
                _check_condition(item, f"{where}.{index}", depth + 1)
        elif key in _CHECKS:
            _CHECKS[key](value, where)
        else:
            raise Invalid(where, "not a test: " + ", ".join(CONDITION_KEYS))


def _text(value: object, field_name: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise Invalid(field_name, f"words, at most {MAX_TEXT} characters")
    return value.strip()


def validate_rules(rules: object, field_name: str = "rules") -> list[dict[str, Any]]:
    """Refuse anything a station could not apply; name the first bad field."""
    if not isinstance(rules, list):
        raise Invalid(field_name, "a list of rules")
    if not 1 <= len(rules) <= MAX_RULES:
        raise Invalid(field_name, f"from 1 to {MAX_RULES} rules")
    checked: list[dict[str, Any]] = []
    for index, rule in enumerate(rules):
        where = f"{field_name}.{index}"
        if not isinstance(rule, Mapping):
            raise Invalid(where, "an object with verdict, reason and an optional if")
        unknown = sorted(map(str, set(rule) - {"verdict", "reason", "condition", "if"}))
        if unknown:
            raise Invalid(f"{where}.{unknown[0]}", "not a rule field")
        if rule.get("verdict") not in VERDICTS:
            raise Invalid(f"{where}.verdict", "pass, conditional or turn_back")
        out: dict[str, Any] = {
            "verdict": rule["verdict"],
            "reason": _text(rule.get("reason"), f"{where}.reason"),
        }
        if rule["verdict"] == CONDITIONAL:
            out["condition"] = _text(rule.get("condition"), f"{where}.condition")
        elif "condition" in rule:
            raise Invalid(f"{where}.condition", "only a conditional verdict has a condition")
        if "if" in rule:
            _check_condition(rule["if"], f"{where}.if")
            out["if"] = rule["if"]
        checked.append(out)
    if "if" in checked[-1]:
        raise Invalid(f"{field_name}.{len(checked) - 1}", "the last rule has no condition")
    return checked


# Evaluation


def _among(value: str, wanted: object) -> bool:
    return value in wanted if isinstance(wanted, list) else value == wanted


def _since(traveller: Traveller, name: str, at: datetime) -> datetime | None:
    when = traveller.evidence.get(name)
    return when if when is not None and when <= at else None


def _within(traveller: Traveller, name: str, duration: object, at: datetime) -> bool:
    when = _since(traveller, name, at)
    return when is not None and when >= at - parse_duration(duration, name)


def _test(key: str, wanted: Any, t: Traveller, at: datetime) -> bool:
    if key == "credential":
        return _among(t.credential, wanted)
    if key == "status":
        return t.case_or_quarantine
    if key == "colour":
        return t.colour is not None and _among(t.colour, wanted)
    if key == "resident_of_destination":
        return t.resident_of_destination is wanted
    if key == "invited":
        return t.invited is wanted
    if key == "origin_known":
        known = t.origin_known if t.origin_known is not None else t.origin_zone_level is not None
        return known is wanted
    if key == "transfer":
        return _among(t.transfer, wanted)
    if key == "origin_zone_level_at_least":
        return t.origin_zone_level is not None and t.origin_zone_level >= wanted
    if key == "origin_zone_level_at_most":
        return t.origin_zone_level is not None and t.origin_zone_level <= wanted
    if key == "vaccinated_at_least_ago":
        when = _since(t, "vaccinated", at)
        return when is not None and when <= at - parse_duration(wanted, key)
    if key == "negative_pcr_within":
        return _within(t, "pcr_negative", wanted, at)
    if key == "negative_rapid_within":
        return _within(t, "rapid_negative", wanted, at)
    if key == "recovered_within":
        return _within(t, "recovered", wanted, at)
    if key == "rapid_test":
        return bool(t.rapid_test) and _among(t.rapid_test, wanted)
    if key == "lane":
        return _among(t.lane, wanted)
    if key == "any":
        return any(holds(item, t, at) for item in wanted)
    raise ValueError(f"unknown test {key}")  # validate_rules refuses it first


def holds(condition: Mapping[str, Any], traveller: Traveller, at: datetime) -> bool:
    return all(_test(key, wanted, traveller, at) for key, wanted in condition.items())


def evaluate(
    rules: Sequence[Mapping[str, Any]], traveller: Traveller, at: datetime
) -> EntryVerdict:
    for index, rule in enumerate(rules):
        condition = rule.get("if")
        if condition is None or holds(condition, traveller, at):
            return EntryVerdict(
                str(rule["verdict"]), str(rule["reason"]), str(rule.get("condition", "")), index
            )
    raise ValueError("a rule set without a final catch-all rule")  # validate_rules prevents it


def choose(
    rule_sets: Mapping[str, Mapping[str, Any]],
    checkpoint_code: str,
    destination_path: Sequence[str],
) -> tuple[str, Mapping[str, Any]]:
    """The rule set that applies: the destination unit's nearest published set (a district may
    be stricter than the city), else the checkpoint's, else the default.

    `rule_sets` maps scope ("unit:<code>", "checkpoint:<code>", "default") to a published set
    (with "version" and "rules"); `destination_path` lists the destination's unit codes from
    the top down.
    """
    for code in reversed(destination_path):
        scope = f"unit:{code}"
        if scope in rule_sets:
            return scope, rule_sets[scope]
    scope = f"checkpoint:{checkpoint_code}"
    if scope in rule_sets:
        return scope, rule_sets[scope]
    if "default" in rule_sets:
        return "default", rule_sets["default"]
    return "default", {"version": 0, "rules": DEFAULT_RULES}


# Sample travellers for the rules page's preview: each rule set is shown against all of them.
def sample_travellers(at: datetime) -> list[tuple[str, Traveller]]:
    from datetime import timedelta

    day = timedelta(days=1)
    return [
        (
            N_("Fully vaccinated, from a level 4 zone"),
            Traveller(
                "valid", "green", (), origin_zone_level=4, evidence={"vaccinated": at - 60 * day}
            ),
        ),
        (
            N_("Vaccinated 5 days ago, from a level 3 zone"),
            Traveller(
                "valid", "yellow", (), origin_zone_level=3, evidence={"vaccinated": at - 5 * day}
            ),
        ),
        (
            N_("Negative PCR yesterday, from a level 3 zone"),
            Traveller(
                "valid", "yellow", (), origin_zone_level=3, evidence={"pcr_negative": at - day}
            ),
        ),
        (
            N_("No vaccination or test, from a level 4 zone"),
            Traveller("valid", "red", (), origin_zone_level=4),
        ),
        (
            N_("No vaccination or test, from a level 1 zone"),
            Traveller("valid", "red", (), origin_zone_level=1),
        ),
        (
            N_("Resident of the destination, from a level 4 zone"),
            Traveller("valid", "red", (), resident_of_destination=True, origin_zone_level=4),
        ),
        (
            N_("Contact in quarantine"),
            Traveller("valid", "red", (N_("Contact in quarantine"),), origin_zone_level=2),
        ),
        (
            N_("Confirmed case"),
            Traveller("valid", "red", (N_("Confirmed case, not yet recovered"),)),
        ),
        (N_("Revoked pass"), Traveller("revoked", "green", (), origin_zone_level=1)),
        (N_("Forged pass"), Traveller("forged", None, (), origin_zone_level=1)),
        (
            N_("Expired pass, from a level 3 zone"),
            Traveller("expired", None, (), origin_zone_level=3),
        ),
        (
            N_("CCCD card only, from a level 2 zone"),
            Traveller("unverified", None, (), origin_zone_level=2),
        ),
        (
            N_("In an accepted transfer, from a level 4 zone"),
            Traveller("valid", "red", (), transfer="accepted", origin_zone_level=4),
        ),
        (
            N_("Driver with a negative rapid test at the lane"),
            Traveller(
                "valid",
                "red",
                (),
                origin_zone_level=3,
                rapid_test="negative",
                evidence={"rapid_negative": at},
                lane="driver",
            ),
        ),
        (
            N_("Driver with a positive rapid test at the lane"),
            Traveller(
                "valid", "green", (), origin_zone_level=2, rapid_test="positive", lane="driver"
            ),
        ),
    ]
