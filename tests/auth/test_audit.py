from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from phongdich.auth import audit
from phongdich.auth.actor import system_actor
from phongdich.auth.roles import Role
from phongdich.config import get_settings
from phongdich.db import utcnow
from phongdich.errors import Forbidden
from tests.factories import HA_NOI, HANG_BAC, PHUC_XA, TAN_DINH, audit_entries, make_user


def test_record_keeps_who_what_where_and_masks_digits(session: Session) -> None:
    actor = system_actor("10.0.0.7 GET /api/persons")
    audit.record(
        session,
        actor,
        "read",
        "person",
        "p-1",
        unit_code=PHUC_XA,
        detail="q='001085012345' phone 0912345678 year 1985",
    )
    session.flush()
    [entry] = audit_entries(session, object_id="p-1")
    assert (entry.username, entry.role, entry.origin, entry.action, entry.object_type) == (
        "system",
        "national_admin",
        "10.0.0.7 GET /api/persons",
        "read",
        "person",
    )
    assert entry.unit_code == PHUC_XA
    assert entry.detail == "q='001*******45' phone 091*****78 year 1985"
    assert entry.at.tzinfo is not None
    assert abs(entry.at - utcnow()) < timedelta(minutes=1)


def test_record_many_writes_one_masked_row_per_record(session: Session) -> None:
    audit.record_many(
        session,
        system_actor("tests"),
        "import",
        "person",
        [("m-1", PHUC_XA), ("m-2", None)],
        detail="file 123456789",
    )
    audit.record_many(session, system_actor("tests"), "import", "person", [])
    rows = [e for e in audit_entries(session, action="import") if e.object_id in ("m-1", "m-2")]
    assert [(e.object_id, e.unit_code, e.detail) for e in rows] == [
        ("m-1", PHUC_XA, "file 123****89"),
        ("m-2", None, "file 123****89"),
    ]


def test_list_entries_is_scoped_to_the_jurisdiction(session: Session) -> None:
    admin = system_actor("tests")
    for object_id, unit in (("a-hn", PHUC_XA), ("a-hb", HANG_BAC), ("a-hcm", TAN_DINH)):
        audit.record(session, admin, "read", "person", object_id, unit_code=unit)
    session.flush()
    _, officer = make_user(session, Role.PROVINCE_OFFICER, HA_NOI)
    seen = {e.object_id for e in audit.list_entries(session=session, actor=officer)}
    assert {"a-hn", "a-hb"} <= seen
    assert "a-hcm" not in seen
    everything = {e.object_id for e in audit.list_entries(session=session, actor=admin)}
    assert {"a-hn", "a-hb", "a-hcm"} <= everything


def test_list_entries_filters_and_orders_newest_first(session: Session) -> None:
    admin = system_actor("tests")
    user, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    audit.record(session, admin, "read", "person", "f-1", unit_code=PHUC_XA)
    audit.record(session, officer, "update", "person", "f-1", unit_code=PHUC_XA)
    audit.record(session, officer, "read", "person", "f-2", unit_code=PHUC_XA)
    session.flush()
    by_record = audit.list_entries(session=session, actor=admin, object_id="f-1")
    assert [e.action for e in by_record] == ["update", "read"]
    by_user = audit.list_entries(session=session, actor=admin, username=user.username)
    assert [e.object_id for e in by_user] == ["f-2", "f-1"]
    assert len(audit.list_entries(session=session, actor=admin, username=user.username, limit=1))
    paged = audit.list_entries(session=session, actor=admin, username=user.username, offset=1)
    assert [e.object_id for e in paged] == ["f-1"]
    future = utcnow() + timedelta(hours=1)
    assert audit.list_entries(session=session, actor=admin, since=future) == []
    assert (
        len(
            audit.list_entries(
                session=session, actor=admin, object_id="f-1", since=future - timedelta(hours=2)
            )
        )
        == 2
    )


def test_list_entries_reads_a_naive_since_as_local_time(session: Session) -> None:
    admin = system_actor("tests")
    audit.record(session, admin, "read", "person", "tz-1")
    session.flush()
    local_now = datetime.now(get_settings().tz).replace(tzinfo=None)
    # Local time is UTC+7: read as UTC, "now minus 2 hours" would still lie in the future.
    since = local_now - timedelta(hours=2)
    assert [
        e.object_id
        for e in audit.list_entries(session=session, actor=admin, object_id="tz-1", since=since)
    ] == ["tz-1"]


@pytest.mark.parametrize("role", [Role.COMMUNE_OFFICER, Role.DISTRICT_OFFICER])
def test_only_auditors_list_entries(session: Session, role: Role) -> None:
    _, actor = make_user(session, role, PHUC_XA)
    with pytest.raises(Forbidden):
        audit.list_entries(session=session, actor=actor)
