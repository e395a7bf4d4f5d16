"""Corner cases of a case's own dates: an outcome before the opening, and the household of a
case whose isolation began before its infectious window (a contact quarantined at home)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from phongdich.cases import service
from phongdich.cases.models import Contact, Exposure
from phongdich.errors import Invalid
from tests.cases.helpers import NOW, T0, at, open_case, trace
from tests.factories import PHUC_XA, make_person, make_user


def test_an_outcome_before_the_opening_is_refused(session: Session) -> None:
    officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)[1]
    case = open_case(session, officer, make_person(session))
    with pytest.raises(Invalid) as refused:
        service.update_case(
            session=session,
            actor=officer,
            code=case.code,
            change=service.CaseChange(outcome="recovered", outcome_at=NOW - timedelta(minutes=30)),
            now=NOW + timedelta(days=10),
        )
    assert refused.value.field == "outcome_at"
    assert case.outcome is None


def test_a_household_is_exposed_even_when_isolation_came_before_the_window(
    session: Session,
) -> None:
    officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)[1]
    f0 = make_person(session, household_code="HH-ISOLATED-EARLY")
    mother = make_person(session, household_code="HH-ISOLATED-EARLY")
    case = open_case(session, officer, f0)
    case.isolated_at = at(-100)  # confined at home days before the sample
    session.flush()
    trace(session, officer, case)
    contact = session.scalars(select(Contact).where(Contact.case_id == case.id)).one()
    exposure = session.scalars(select(Exposure).where(Exposure.contact_id == contact.id)).one()
    assert (contact.person_id, exposure.via) == (mother.id, "household")
    assert (exposure.start, exposure.end) == (T0 - timedelta(hours=48), T0)


def test_a_positive_delivered_again_to_an_open_case_is_noted_once(session: Session) -> None:
    officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)[1]
    person = make_person(session)
    case = open_case(session, officer, person)  # by hand: no sample of its own
    for sample in ("S-1", "S-1", "S-2", "S-2"):
        again, created = service.open_case(
            session=session,
            actor=officer,
            person_id=person.id,
            reference_time=T0,
            sample_id=sample,
            now=NOW,
        )
        assert (again.id, created) == (case.id, False)
    notes = [e.detail for e in service.timeline(session=session, case=case) if e.kind == "positive"]
    assert notes == ["positive sample S-1", "another positive sample S-2"]
    assert case.sample_id == "S-1"
