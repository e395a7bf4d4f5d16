"""A form or request sent twice records once: a lockdown of the same areas, a zone override."""

from __future__ import annotations

import html

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from phongdich.cases import lockdowns, zones
from phongdich.cases.models import Lockdown, ZoneLevel
from phongdich.errors import Conflict
from tests.factories import PHUC_XA, make_user
from tests.web.pages import sign_in


def test_the_same_areas_are_not_closed_twice(client: TestClient, session: Session) -> None:
    officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)[1]
    areas = [lockdowns.AreaInput("street", PHUC_XA, "Phố Hòe Nhai")]
    first = lockdowns.declare(
        session=session, actor=officer, unit_code=PHUC_XA, reason="F0 ở Hòe Nhai", areas=areas
    )
    with pytest.raises(Conflict) as refused:
        lockdowns.declare(
            session=session,
            actor=officer,
            unit_code=PHUC_XA,
            reason="gửi lại",
            areas=[lockdowns.AreaInput("street", PHUC_XA, "pho hoe nhai")],
        )
    assert first.code in refused.value.message

    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    again = client.post(
        "/lockdowns",
        data={
            "unit_code": PHUC_XA,
            "reason": "F0 ở Hòe Nhai",
            "areas": f"street {PHUC_XA} Phố Hòe Nhai",
        },
    )
    assert again.status_code == 409
    assert f"đã bị phong tỏa trong lệnh {first.code}" in html.unescape(again.text)
    assert session.scalar(select(func.count()).select_from(Lockdown)) == 1

    # A narrower lockdown of the same street inside is a different set of areas: allowed.
    lockdowns.declare(
        session=session,
        actor=officer,
        unit_code=PHUC_XA,
        reason="một ngõ",
        areas=[lockdowns.AreaInput("address", PHUC_XA, "Ngõ 5 Hòe Nhai")],
    )


def test_an_override_sent_twice_is_one_row(session: Session) -> None:
    officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)[1]
    day = zones.today()
    rows = [
        zones.override(
            session=session, actor=officer, unit_code=PHUC_XA, day=day, level=3, reason="ổ dịch"
        )
        for _ in range(2)
    ]
    assert rows[0].id == rows[1].id
    assert session.scalar(select(func.count()).select_from(ZoneLevel)) == 1
    changed = zones.override(
        session=session, actor=officer, unit_code=PHUC_XA, day=day, level=4, reason="ổ dịch"
    )
    assert changed.id != rows[0].id
