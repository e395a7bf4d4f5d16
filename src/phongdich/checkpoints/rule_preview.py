"""What a rule set would say, before it is published, and which published set applies where.

Shared by the API and the rules page: both validate the edited rules the way `publish` will,
then run them over sample travellers, so an official sees the verdicts before a station does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import Actor
from phongdich.checkpoints import entry_rules, rulesets
from phongdich.checkpoints.registry import managed_checkpoint
from phongdich.checkpoints.schemas import SampleTraveller
from phongdich.credentials.status import EVIDENCE
from phongdich.errors import Invalid, NotFound


@dataclass(frozen=True)
class PreviewRow:
    label: str
    verdict: entry_rules.EntryVerdict


def aware(value: datetime, tz: tzinfo) -> datetime:
    """A time typed without a zone is local time; comparisons need zones on both sides."""
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def traveller(sample: SampleTraveller, index: int, tz: tzinfo) -> entry_rules.Traveller:
    """A sample as the rules see it, refusing values no station would ever produce."""
    where = f"sample.{index}"
    checks: tuple[tuple[str, object, Sequence[object]], ...] = (
        ("credential", sample.credential, entry_rules.CREDENTIAL_STATES),
        ("transfer", sample.transfer, entry_rules.TRANSFER_STATES),
        ("colour", sample.colour, (None, "green", "yellow", "red")),
        ("rapid_test", sample.rapid_test, ("", "positive", "negative")),
    )
    for name, value, allowed in checks:
        if value not in allowed:
            shown = ", ".join(str(a) for a in allowed if a)
            raise Invalid(f"{where}.{name}", f"one of: {shown}")
    for name in sample.evidence:
        if name not in EVIDENCE:
            raise Invalid(f"{where}.evidence.{name}", "one of: " + ", ".join(EVIDENCE))
    return entry_rules.Traveller(
        credential=sample.credential,
        colour=sample.colour,
        reasons=tuple(sample.reasons),
        resident_of_destination=sample.resident_of_destination,
        invited=sample.invited,
        transfer=sample.transfer,
        origin_zone_level=sample.origin_zone_level,
        evidence={k: aware(v, tz) for k, v in sample.evidence.items()},
        rapid_test=sample.rapid_test,
        lane=sample.lane or "general",
    )


def preview(
    rules: object,
    at: datetime,
    sample: Sequence[SampleTraveller] | None = None,
    tz: tzinfo = UTC,
) -> tuple[list[dict[str, Any]], list[PreviewRow]]:
    """The validated rules and the verdict for each traveller (the built-in ones by default)."""
    checked = entry_rules.validate_rules(rules)
    at = aware(at, tz)
    if not 1900 <= at.year <= 2200:
        raise Invalid("at", "a time between 1900 and 2200")
    travellers = (
        [(s.label or f"#{i + 1}", traveller(s, i, tz)) for i, s in enumerate(sample)]
        if sample is not None
        else entry_rules.sample_travellers(at)
    )
    return checked, [
        PreviewRow(label, entry_rules.evaluate(checked, t, at)) for label, t in travellers
    ]


@dataclass(frozen=True)
class Applying:
    scope: str
    published: Mapping[str, Any]


def applying(*, session: Session, actor: Actor, checkpoint_code: str, destination: str) -> Applying:
    """The set a station of the checkpoint applies to someone going to `destination`."""
    checkpoint = managed_checkpoint(session, actor, checkpoint_code)
    unit = session.get(AdminUnit, (destination or "").strip()[:16])
    if unit is None:
        raise NotFound("admin unit", destination[:16])
    scope, published = entry_rules.choose(
        rulesets.for_station(session, checkpoint), checkpoint.code, unit.path.split("/")
    )
    return Applying(scope, published)
