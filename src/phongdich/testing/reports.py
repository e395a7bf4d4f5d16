"""What results tell people: a citizen's own results, a unit's new positives, positivity by day."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth import audit
from phongdich.auth.actor import Actor, in_jurisdiction
from phongdich.auth.roles import Permission
from phongdich.config import Settings
from phongdich.credentials.status import current_person
from phongdich.db import utcnow
from phongdich.persons.models import Person
from phongdich.persons.service import get_person
from phongdich.testing.models import Campaign, Sample, Tube
from phongdich.testing.schemas import PersonResult, PositivePublic

MAX_RESULTS = 200


def _results(session: Session, person_id: uuid.UUID) -> list[PersonResult]:
    found = session.execute(
        select(Sample, Tube, Campaign)
        .join(Tube, Tube.id == Sample.tube_id)
        .join(Campaign, Campaign.id == Sample.campaign_id)
        .where(Sample.person_id == person_id, Sample.removed_at.is_(None))
        .order_by(Sample.sampled_at.desc())
        .limit(MAX_RESULTS)
    ).all()
    return [
        PersonResult(
            sampled_at=sample.sampled_at,
            campaign_name=campaign.name,
            barcode=tube.barcode,
            pooled=tube.kind != "single",
            method=campaign.method,
            outcome=sample.outcome,
            outcome_at=sample.outcome_at,
            retest=sample.retest_order_id is not None,
        )
        for sample, tube, campaign in found
    ]


def own_results(*, session: Session, person_id: uuid.UUID) -> list[PersonResult]:
    """A citizen's own results, newest first (the caller has established who they are)."""
    person = current_person(session, person_id)
    return _results(session, person.id)


def person_results(*, session: Session, actor: Actor, person_id: uuid.UUID) -> list[PersonResult]:
    """An official reads a person's results: jurisdiction-scoped and audited."""
    actor.require(Permission.TESTING_READ)
    person = get_person(session=session, actor=actor, person_id=person_id, audit_read=False)
    audit.record(session, actor, "read", "test_results", person.id, unit_code=person.unit_code)
    return _results(session, person.id)


def new_positives(
    *,
    session: Session,
    actor: Actor,
    since: datetime | None = None,
    unit_code: str | None = None,
    limit: int = 500,
) -> list[PositivePublic]:
    """Every individual positive in the actor's area since a time (default: the last 3 days)."""
    actor.require(Permission.TESTING_READ)
    since = since or utcnow() - timedelta(days=3)
    query = (
        select(Sample, Person, Tube, Campaign)
        .join(Person, Person.id == Sample.person_id)
        .join(Tube, Tube.id == Sample.tube_id)
        .join(Campaign, Campaign.id == Sample.campaign_id)
        .where(
            Sample.outcome == "positive",
            Sample.outcome_at >= since,
            in_jurisdiction(actor, Sample.unit_code),
        )
        .order_by(Sample.outcome_at.desc(), Sample.id)
        .limit(limit)
    )
    if unit_code:
        query = query.where(Sample.unit_code == unit_code)
    found = session.execute(query).all()
    audit.record_many(
        session,
        actor,
        "read",
        "test_result",
        [(sample.person_id, sample.unit_code) for sample, *_ in found],
        detail="new positives",
    )
    return [
        PositivePublic(
            person_id=person.id,
            full_name=person.full_name,
            unit_code=sample.unit_code,
            barcode=tube.barcode,
            method=campaign.method,
            sampled_at=sample.sampled_at,
            outcome_at=sample.outcome_at,
            campaign_code=campaign.code,
        )
        for sample, person, tube, campaign in found
    ]


@dataclass(frozen=True)
class DayPositivity:
    unit_code: str
    day: date
    tested: int
    positive: int

    @property
    def rate(self) -> float:
        return self.positive / self.tested if self.tested else 0.0


def positivity_by_day(
    *, session: Session, actor: Actor, days: int = 14, now: datetime | None = None
) -> Sequence[DayPositivity]:
    """Individual results per unit (where the person lives) and local day: counts only."""
    if not (actor.can(Permission.TESTING_READ) or actor.can(Permission.TESTING_MANAGE)):
        actor.require(Permission.TESTING_READ)
    tz = Settings().tz
    now = now or utcnow()
    grouped: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
    found: list[Any] = list(
        session.execute(
            select(Sample.unit_code, Sample.outcome, Sample.outcome_at).where(
                Sample.outcome.in_(("negative", "positive")),
                Sample.outcome_at >= now - timedelta(days=days),
                in_jurisdiction(actor, Sample.unit_code),
            )
        )
    )
    for unit_code, outcome, at in found:
        counts = grouped[(unit_code or "", at.astimezone(tz).date())]
        counts[0] += 1
        counts[1] += outcome == "positive"
    return [
        DayPositivity(unit, day, tested, positive)
        for (unit, day), (tested, positive) in sorted(grouped.items())
    ]
