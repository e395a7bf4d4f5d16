from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.actor import system_actor
from phongdich.auth.models import ApiToken, User
from phongdich.auth.passwords import hash_token, verify_password
from phongdich.auth.roles import Role
from phongdich.auth.service import (
    actor_for_token,
    authenticate,
    create_user,
    get_user_by_username,
    issue_token,
    parse_role,
    revoke_token,
)
from phongdich.db import utcnow
from phongdich.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from tests.factories import (
    BA_DINH,
    HA_NOI,
    HCM,
    PHUC_XA,
    TAN_DINH,
    audit_entries,
    make_user,
)

PASSWORD = "correct horse"


def create(session: Session, **overrides: object) -> User:
    values: dict[str, object] = {
        "session": session,
        "actor": system_actor("tests"),
        "username": "lan.nguyen",
        "password": PASSWORD,
        "role": Role.COMMUNE_OFFICER,
        "unit_code": PHUC_XA,
    }
    values.update(overrides)
    return create_user(**values)  # type: ignore[arg-type]


def test_create_user_stores_an_argon2_hash_and_audits(session: Session) -> None:
    user = create(session, username="  Lan.Nguyen ", full_name="Nguyễn Thị Lan")
    assert (user.username, user.role, user.unit_code, user.full_name, user.active) == (
        "lan.nguyen",
        "commune_officer",
        PHUC_XA,
        "Nguyễn Thị Lan",
        True,
    )
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert verify_password(user.password_hash, PASSWORD)
    assert not verify_password(user.password_hash, "wrong horse")
    [entry] = audit_entries(session, action="create", object_id=user.id)
    assert (entry.username, entry.object_type, entry.unit_code) == ("system", "user", PHUC_XA)
    assert entry.detail == "username=lan.nguyen role=commune_officer"


def test_citizens_and_national_admins_need_no_unit(session: Session) -> None:
    assert create(session, username="citizen1", role=Role.CITIZEN, unit_code=None).unit_code is None
    admin = create(session, username="admin1", role=Role.NATIONAL_ADMIN, unit_code="")
    assert admin.unit_code is None


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"username": "ab"}, "username", "3-64 characters"),
        ({"username": "lan nguyen"}, "username", "3-64 characters"),
        ({"username": "_lan"}, "username", "3-64 characters"),
        ({"username": "lan@x"}, "username", "3-64 characters"),
        ({"password": "short"}, "password", "at least 8 characters"),
        ({"unit_code": "99999"}, "unit", "no admin unit with code '99999'"),
        ({"unit_code": None}, "unit", "a commune_officer must belong to an admin unit"),
        ({"role": Role.PROVINCE_OFFICER, "unit_code": None}, "unit", "must belong"),
    ],
)
def test_create_user_rejects_bad_input(
    session: Session, overrides: dict[str, object], field: str, reason: str
) -> None:
    with pytest.raises(Invalid) as exc:
        create(session, **overrides)
    assert exc.value.field == field
    assert reason in exc.value.reason


def test_username_taken_is_a_conflict(session: Session) -> None:
    create(session)
    with pytest.raises(Conflict, match=r"username 'lan\.nguyen' is taken"):
        create(session, username="LAN.NGUYEN")


def test_province_officer_creates_users_only_inside_the_province(session: Session) -> None:
    _, officer = make_user(session, Role.PROVINCE_OFFICER, HA_NOI)
    user = create(session, actor=officer, username="phucxa.officer", unit_code=PHUC_XA)
    assert user.unit_code == PHUC_XA
    create(
        session,
        actor=officer,
        username="badinh.officer",
        role=Role.DISTRICT_OFFICER,
        unit_code=BA_DINH,
    )
    with pytest.raises(Invalid) as exc:
        create(session, actor=officer, username="tandinh.officer", unit_code=TAN_DINH)
    assert (exc.value.field, exc.value.reason) == ("unit", "outside your jurisdiction")
    with pytest.raises(Invalid):
        create(
            session,
            actor=officer,
            username="hcm.officer",
            role=Role.PROVINCE_OFFICER,
            unit_code=HCM,
        )
    with pytest.raises(Forbidden, match="only a national admin"):
        create(
            session, actor=officer, username="new.admin", role=Role.NATIONAL_ADMIN, unit_code=None
        )


def test_province_officer_may_create_a_citizen_of_their_province(session: Session) -> None:
    _, officer = make_user(session, Role.PROVINCE_OFFICER, HA_NOI)
    user = create(
        session, actor=officer, username="citizen.hn", role=Role.CITIZEN, unit_code=PHUC_XA
    )
    assert user.role == "citizen"


def test_province_officer_whose_unit_is_gone_may_create_nobody(session: Session) -> None:
    _, officer = make_user(session, Role.PROVINCE_OFFICER, HA_NOI)
    from dataclasses import replace

    lost = replace(officer, unit_path=None)
    with pytest.raises(Invalid) as exc:
        create(session, actor=lost, username="someone", unit_code=PHUC_XA)
    assert exc.value.reason == "outside your jurisdiction"


@pytest.mark.parametrize("role", [Role.DISTRICT_OFFICER, Role.COMMUNE_OFFICER, Role.CITIZEN])
def test_roles_without_user_management_are_forbidden(session: Session, role: Role) -> None:
    _, actor = make_user(session, role, None if role is Role.CITIZEN else PHUC_XA)
    with pytest.raises(Forbidden, match=r"may not users\.manage"):
        create(session, actor=actor, username="other.user")


def test_parse_role() -> None:
    assert parse_role("lab_technician") is Role.LAB_TECHNICIAN
    with pytest.raises(Invalid) as exc:
        parse_role("superuser")
    assert exc.value.field == "role"
    assert "unknown role 'superuser'" in exc.value.reason
    assert "national_admin" in exc.value.reason


def test_get_user_by_username(session: Session) -> None:
    user = create(session)
    assert get_user_by_username(session=session, username=" LAN.nguyen ").id == user.id
    with pytest.raises(NotFound, match="user nobody not found"):
        get_user_by_username(session=session, username="nobody")


def test_authenticate(session: Session) -> None:
    user = create(session)
    assert authenticate(session=session, username="Lan.Nguyen", password=PASSWORD).id == user.id
    for username, password in (("lan.nguyen", "wrong horse"), ("nobody", PASSWORD)):
        with pytest.raises(Unauthorized, match="wrong username or password"):
            authenticate(session=session, username=username, password=password)
    user.active = False
    with pytest.raises(Unauthorized):
        authenticate(session=session, username="lan.nguyen", password=PASSWORD)


def test_tokens_are_stored_only_as_hashes(session: Session) -> None:
    user = create(session)
    token = issue_token(session=session, user=user, kind="api", label="phone")
    assert token.startswith("pd_")
    assert len(token) > 40
    row = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    assert row.token_hash == hash_token(token)
    assert token not in row.token_hash
    assert (row.kind, row.label, row.expires_at) == ("api", "phone", None)
    assert issue_token(session=session, user=user, kind="api") != token
    with pytest.raises(Invalid) as exc:
        issue_token(session=session, user=user, kind="forever")
    assert exc.value.field == "kind"


def test_actor_for_token(session: Session) -> None:
    user = create(session)
    token = issue_token(session=session, user=user, kind="device")
    actor = actor_for_token(session=session, token=token, origin="1.2.3.4 GET /api/me")
    assert (actor.user_id, actor.username, actor.role, actor.unit_code, actor.unit_path) == (
        user.id,
        "lan.nguyen",
        Role.COMMUNE_OFFICER,
        PHUC_XA,
        "01/001/00001",
    )
    assert actor.origin == "1.2.3.4 GET /api/me"
    row = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    assert row.last_used_at is not None


@pytest.mark.parametrize("how", ["unknown", "revoked", "expired", "inactive user"])
def test_actor_for_token_refuses(session: Session, how: str) -> None:
    user = create(session)
    token = issue_token(session=session, user=user, kind="api", lifetime=timedelta(hours=1))
    row = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    if how == "unknown":
        token = token + "x"
    elif how == "revoked":
        revoke_token(session=session, token=token)
        assert row.revoked_at is not None
    elif how == "expired":
        row.expires_at = utcnow() - timedelta(seconds=1)
    else:
        user.active = False
    session.flush()
    with pytest.raises(Unauthorized, match="invalid or expired token"):
        actor_for_token(session=session, token=token)


def test_revoking_an_unknown_token_is_harmless(session: Session) -> None:
    revoke_token(session=session, token="pd_nothing")
