"""Scheduled tests of quarantined contacts appear on the sampling team's page."""

from __future__ import annotations

import html
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.auth.actor import system_actor
from phongdich.auth.roles import Role
from phongdich.cases import quarantine
from phongdich.credentials.status import record_fact
from phongdich.testing import orders
from tests.cases.helpers import NOW, at, make_venue, open_case, trace, visit
from tests.factories import PHUC_XA, TRUC_BACH, make_person, make_user
from tests.testing.factories import make_campaign
from tests.web.pages import sign_in


def test_quarantine_tests_are_sampling_orders_of_the_contacts_commune(
    client: TestClient, session: Session
) -> None:
    officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)[1]
    venue = make_venue(session, officer)
    f0 = make_person(session, permanent_unit_code=PHUC_XA)
    here = make_person(session, full_name="Lê Văn Gần", permanent_unit_code=PHUC_XA)
    there = make_person(session, full_name="Trần Thị Xa", permanent_unit_code=TRUC_BACH)
    visit(session, officer, venue, f0, at(-5), at(-4))
    for contact in (here, there):
        visit(session, officer, venue, contact, at(-4.8), at(-4.2))
    trace(session, officer, open_case(session, officer, f0))
    make_campaign(session)

    due_on = quarantine.local_day(at(-4.2)) + timedelta(days=1)
    listed = orders.due(session, officer, due_on)
    assert [(o.person.id, o.due_on, o.detail) for o in listed] == [(here.id, due_on, "1")]
    assert orders.due(session, officer, due_on - timedelta(days=1)) == []

    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    page = html.unescape(client.get("/testing/sample").text)
    assert "Lê Văn Gần" in page
    assert "Trần Thị Xa" not in page

    # The day-1 test comes back: nothing is due until day 7.
    record_fact(
        session=session,
        actor=system_actor("tests"),
        person_id=here.id,
        kind="test_result",
        occurred_at=NOW + timedelta(days=1),
        value={"method": "pcr", "result": "negative"},
    )
    quarantine.apply_results(session, [here.id])
    assert orders.due(session, officer, due_on + timedelta(days=5)) == []
    assert [o.detail for o in orders.due(session, officer, due_on + timedelta(days=6))] == ["7"]
