"""Dates an official types are bounded (no case traced from the year 1), and a contact living
outside the reader's units stays anonymous in the contact list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.auth.actor import system_actor
from phongdich.auth.roles import Role
from tests.cases.helpers import make_venue, visit
from tests.factories import PHUC_XA, TAN_DINH, bearer, cccd, make_person, make_user

API = "/api/cases"
NOW = datetime.now(UTC).replace(microsecond=0)


def officer(session: Session) -> dict[str, str]:
    user, _ = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    return bearer(session, user)


def opened(client: TestClient, session: Session, headers: dict[str, str]) -> str:
    number = cccd()
    make_person(session, document_number=number, permanent_unit_code=PHUC_XA)
    reply = client.post(
        API,
        json={"document_number": number, "reference_time": (NOW - timedelta(hours=3)).isoformat()},
        headers=headers,
    )
    assert reply.status_code == 201, reply.text
    return str(reply.json()["code"])


def test_dates_far_in_the_past_or_future_are_refused(client: TestClient, session: Session) -> None:
    headers = officer(session)
    code = opened(client, session, headers)
    year_one = "0001-01-02T00:00:00+00:00"
    onset = client.patch(f"{API}/{code}", json={"symptom_onset": year_one}, headers=headers)
    assert onset.status_code == 422
    assert "symptom_onset" in onset.text

    other = cccd()
    make_person(session, document_number=other, permanent_unit_code=PHUC_XA)
    for start, end, field in [
        (year_one, NOW.isoformat(), "start"),
        ((NOW - timedelta(hours=2)).isoformat(), (NOW + timedelta(days=3000)).isoformat(), "end"),
    ]:
        reply = client.post(
            f"{API}/{code}/contacts",
            json={"document_number": other, "start": start, "end": end},
            headers=headers,
        )
        assert reply.status_code == 422, reply.text
        assert field in reply.text
    old = cccd()
    make_person(session, document_number=old, permanent_unit_code=PHUC_XA)
    reply = client.post(
        API,
        json={"document_number": old, "reference_time": (NOW - timedelta(days=61)).isoformat()},
        headers=headers,
    )
    assert reply.status_code == 422
    assert "reference_time" in reply.text
    assert client.post(f"{API}/{code}/trace", headers=headers).status_code == 200


def test_contacts_outside_the_readers_units_are_anonymous(
    client: TestClient, session: Session
) -> None:
    headers = officer(session)
    system = system_actor("tests")
    venue = make_venue(session, system, default_visit_minutes=30)
    f0_number, near_number, far_number = cccd(), cccd(), cccd()
    f0 = make_person(session, document_number=f0_number, permanent_unit_code=PHUC_XA)
    near = make_person(
        session, document_number=near_number, full_name="Gần Nhà", permanent_unit_code=PHUC_XA
    )
    far = make_person(
        session, document_number=far_number, full_name="Ở Xa", permanent_unit_code=TAN_DINH
    )
    for person in (f0, near, far):
        visit(
            session,
            system,
            venue,
            person,
            NOW - timedelta(hours=5),
            NOW - timedelta(hours=4),
            now=NOW,
        )
    reply = client.post(
        API,
        json={
            "document_number": f0_number,
            "reference_time": (NOW - timedelta(hours=1)).isoformat(),
        },
        headers=headers,
    )
    assert reply.status_code == 201, reply.text
    traced = client.post(f"{API}/{reply.json()['code']}/trace", headers=headers).json()
    shown = {(c["document_number"], c["full_name"], c["unit_code"]) for c in traced["contacts"]}
    assert shown == {(near_number, "Gần Nhà", PHUC_XA), (None, None, TAN_DINH)}
    assert far_number not in str(traced)
