"""Invitations: signed for one person by one of the official's units, read back as a station
reads them, audited."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from phongdich.checkpoints import codes, invitations
from phongdich.config import Settings
from phongdich.credentials import passes
from phongdich.credentials.keys import keyring
from phongdich.credentials.verify import TrustStore
from phongdich.errors import Forbidden, Invalid, NotFound
from tests.factories import (
    BA_DINH,
    HOAN_KIEM,
    PHUC_XA,
    TAN_DINH,
    audit_entries,
    bearer,
    make_person,
    make_user,
)


def local_today() -> date:
    return datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()


def dates() -> tuple[str, str]:
    today = local_today()
    return (today.isoformat(), (today + timedelta(days=3)).isoformat())


def test_an_invitation_is_issued_and_read_back_bound_to_the_person(
    client: TestClient, session: Session, settings: Settings
) -> None:
    guest = make_person(session, full_name="Trần Thị Bình", permanent_unit_code=TAN_DINH)
    user, _ = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)
    start, end = dates()
    document = guest.documents[0].number
    response = client.post(
        "/api/invitations",
        json={
            "document_number": document,
            "unit_code": PHUC_XA,
            "valid_from": start,
            "valid_until": end,
            "reason": "Chuyên gia y tế hỗ trợ",
        },
        headers=bearer(session, user),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["code"].startswith("PDI1:")
    assert body["initials"] == "TTB"
    assert "<svg" in body["qr_svg"]
    store = TrustStore.from_database(session, keyring(settings))
    read = codes.read_invitation(body["code"], store)
    assert read.subject == passes.subject_of(guest.id, keyring(settings))
    assert (read.unit, read.valid_from.isoformat(), read.reason) == (
        PHUC_XA,
        start,
        "Chuyên gia y tế hỗ trợ",
    )
    assert str(read.invitation_id) == body["invitation_id"]
    created = audit_entries(session, action="create", object_id=read.invitation_id)
    assert [e.object_type for e in created] == ["invitation"]
    assert audit_entries(session, action="read", object_id=guest.id)
    png = client.get(
        "/api/invitations/qr.png", params={"code": body["code"]}, headers=bearer(session, user)
    )
    assert png.status_code == 200
    assert png.content.startswith(b"\x89PNG")
    forged = client.get(
        "/api/invitations/qr.png", params={"code": "PDI1:XYZ"}, headers=bearer(session, user)
    )
    assert forged.status_code == 422


def test_only_the_officials_own_units_invite(session: Session, settings: Settings) -> None:
    guest = make_person(session)
    _, district = make_user(session, Role.DISTRICT_OFFICER, HOAN_KIEM)
    today = local_today()
    _, staff = make_user(session, Role.CHECKPOINT_OFFICER, PHUC_XA)
    for actor, refusal in ((district, NotFound), (staff, Forbidden)):
        with pytest.raises(refusal):
            invitations.issue(
                session=session,
                actor=actor,
                document_number=guest.documents[0].number,
                unit_code=PHUC_XA,
                valid_from=today,
                valid_until=today,
                reason="Họp",
                keys=keyring(settings),
            )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"valid_until": -1}, "valid_until"),
        ({"valid_from": -40, "valid_until": 0}, "valid_until"),
        ({"valid_from": -5, "valid_until": -2}, "valid_until"),
        ({"reason": "   "}, "reason"),
        ({"document_number": "12"}, "document_number"),
    ],
)
def test_bad_invitations_are_refused_naming_the_field(
    session: Session, settings: Settings, change: dict[str, object], field: str
) -> None:
    _, district = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)
    today = local_today()

    def day(name: str) -> date:
        offset = change.get(name, 0)
        assert isinstance(offset, int)
        return today + timedelta(days=offset)

    with pytest.raises(Invalid) as refused:
        invitations.issue(
            session=session,
            actor=district,
            document_number=str(change.get("document_number", "001085000001")),
            unit_code=BA_DINH,
            valid_from=day("valid_from"),
            valid_until=day("valid_until"),
            reason=str(change.get("reason", "Họp")),
            keys=keyring(settings),
            today=today,
        )
    assert refused.value.field == field
