"""The demo city's vaccinations and recent tests, so its health passes show every colour.

Without them everyone would be red (no vaccination, recovery or test on record) and a venue's
scanner would turn the whole city away. Shares roughly follow Hà Nội in late 2021: most adults
fully vaccinated, some with one dose, a few with only a recent negative PCR test.
Dates are relative to the real clock, so the colours hold on the day the demo runs.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from phongdich.credentials.status import HealthFact
from phongdich.db import utcnow
from phongdich.persons.models import Person

ADULT_FROM = 18
FULL_COURSE, ONE_DOSE, RECENT_TEST = 0.65, 0.15, 0.05
CHUNK = 5000
RECORDED_BY = "demo"


def _fact(
    person_id: uuid.UUID, kind: str, at: datetime, value: dict[str, Any], n: int
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "person_id": person_id,
        "kind": kind,
        "occurred_at": at,
        "value": value,
        "source_domain": "demo",
        "source_id": f"{person_id.hex}:{n}",
        "recorded_by": RECORDED_BY,
        "created_at": at,
    }


def add_health_facts(session: Session, *, seed: int, ages_on_year: int) -> int:
    """Doses and tests for the demo's adults; returns how many facts were written."""
    rng = random.Random(seed * 7 + 3)
    now = utcnow().replace(microsecond=0)
    people = session.execute(
        select(Person.id, Person.birth_year).order_by(Person.created_at, Person.id)
    ).all()
    rows: list[dict[str, Any]] = []
    written = 0
    for person_id, birth_year in people:
        if birth_year is None or ages_on_year - birth_year < ADULT_FROM:
            continue
        draw = rng.random()
        if draw < FULL_COURSE:
            second = now - timedelta(days=rng.randint(20, 120), hours=rng.randint(7, 16))
            first = second - timedelta(days=rng.choice((21, 28, 56)))
            rows.append(
                _fact(
                    person_id,
                    "vaccination_dose",
                    first,
                    {"dose_number": 1, "full_course": False},
                    1,
                )
            )
            rows.append(
                _fact(
                    person_id,
                    "vaccination_dose",
                    second,
                    {"dose_number": 2, "full_course": True},
                    2,
                )
            )
        elif draw < FULL_COURSE + ONE_DOSE:
            first = now - timedelta(days=rng.randint(15, 60), hours=rng.randint(7, 16))
            rows.append(
                _fact(
                    person_id,
                    "vaccination_dose",
                    first,
                    {"dose_number": 1, "full_course": False},
                    1,
                )
            )
        elif draw < FULL_COURSE + ONE_DOSE + RECENT_TEST:
            tested = now - timedelta(hours=rng.randint(2, 60))
            rows.append(
                _fact(person_id, "test_result", tested, {"method": "pcr", "result": "negative"}, 1)
            )
        if len(rows) >= CHUNK:
            session.execute(insert(HealthFact), rows)
            written += len(rows)
            rows = []
    if rows:
        session.execute(insert(HealthFact), rows)
        written += len(rows)
    return written
