from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from phongdich.auth.actor import system_actor
from phongdich.auth.roles import Role
from phongdich.checkins import paper, presence, service
from phongdich.checkins.schemas import CheckinEventIn
from phongdich.venues.schemas import VenueInput
from phongdich.venues.service import register_venue
from tests.factories import PHUC_XA, make_person, make_user


def test_core(session: Session) -> None:
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    venue = register_venue(
        session=session,
        actor=officer,
        data=VenueInput(name="Chợ Hòe Nhai", category="market", unit_code=PHUC_XA),
    )
    a, b = make_person(session), make_person(session)
    now = datetime.now(UTC)
    events = [
        CheckinEventIn(id=uuid.uuid4(), venue_code=venue.code, person_id=a.id, at=now - timedelta(hours=2)),
        CheckinEventIn(id=uuid.uuid4(), venue_code=venue.code, person_id=b.id, at=now - timedelta(hours=1, minutes=50)),
        CheckinEventIn(id=uuid.uuid4(), venue_code=venue.code, person_id=a.id, at=now - timedelta(hours=1), direction="out"),
        CheckinEventIn(id=uuid.uuid4(), venue_code="NOPE1", person_id=a.id, at=now),
    ]
    report = service.ingest(session=session, actor=officer, events=events)
    assert report.statuses == ["accepted", "accepted", "accepted", "rejected"]
    again = service.ingest(session=session, actor=officer, events=events)
    assert again.statuses == ["duplicate", "duplicate", "duplicate", "rejected"]
    _, found = presence.who_was_there(
        session=session, actor=officer, venue_code=venue.code, start=now - timedelta(hours=3), end=now
    )
    assert {p.person.id for p in found} == {a.id, b.id}
    csv = (
        "venue_code,document_number,full_name,phone,checkin_at,checkout_at\n"
        f"{venue.code},001085000001,Trần Thị Bình,0912345678,{(now - timedelta(hours=3)).astimezone().strftime('%Y-%m-%d %H:%M')},\n"
        f"{venue.code},bad,Trần Thị Bình,0912345678,2021-01-01 08:00,\n"
    )
    r = paper.import_paper_log(session=session, actor=officer, source=csv)
    assert (r.created, len(r.errors), r.people_registered) == (1, 1, 1), r
    r = paper.import_paper_log(session=session, actor=officer, source=csv)
    assert (r.created, r.unchanged, r.people_registered) == (0, 1, 0), r
