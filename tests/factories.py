"""Plain factory functions for tests."""

from __future__ import annotations

import itertools
import random
import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.adminunits import service as units_service
from phongdich.auth.actor import Actor, system_actor
from phongdich.auth.models import AuditEntry, User
from phongdich.auth.roles import Role
from phongdich.auth.service import actor_for_user, create_user, issue_token
from phongdich.importing import ImportReport
from phongdich.persons.models import Person
from phongdich.persons.schemas import PersonInput
from phongdich.persons.service import register_person

# Two provinces; Hà Nội with two districts; Ba Đình with two communes; one commune in Hoàn Kiếm.
REFERENCE_TREE = """code,name,level,parent_code,population
01,Thành phố Hà Nội,1,,8246600
001,Quận Ba Đình,2,01,221893
00001,Phường Phúc Xá,3,001,18000
00004,Phường Trúc Bạch,3,001,9000
002,Quận Hoàn Kiếm,2,01,135618
00037,Phường Hàng Bạc,3,002,
79,Thành phố Hồ Chí Minh,1,,9166800
760,Quận 1,2,79,
26734,Phường Tân Định,3,760,
"""

PHUC_XA, TRUC_BACH, HANG_BAC, TAN_DINH = "00001", "00004", "00037", "26734"
BA_DINH, HOAN_KIEM, HA_NOI, HCM = "001", "002", "01", "79"

_serial = itertools.count(random.randrange(10**5))
_users = itertools.count(1)


def cccd(*, province: str = "001", sex: str = "male", born: int = 1985) -> str:
    """A structurally valid CCCD number, different on every call."""
    marker = (born // 100 - 19) * 2 + (0 if sex == "male" else 1)
    return f"{province}{marker}{born % 100:02d}{next(_serial) % 10**6:06d}"


def person_input(**overrides: object) -> PersonInput:
    sex = overrides.pop("sex", "male")
    born = overrides.pop("born", date(1985, 4, 2))
    assert isinstance(born, date)
    assert sex is None or isinstance(sex, str)
    values: dict[str, object] = {
        "document_number": cccd(
            sex="female" if sex in ("female", "Nữ") else "male", born=born.year
        ),
        "full_name": "Nguyễn Văn An",
        "birth_date": born.isoformat(),
        "sex": sex,
        "phone": f"09{next(_serial) % 10**8:08d}",
        "permanent_unit_code": PHUC_XA,
        "permanent_address": "Số 1 phố Hòe Nhai",
    }
    values.update(overrides)
    return PersonInput.model_validate(values)


def make_person(session: Session, actor: Actor | None = None, **overrides: object) -> Person:
    person, _ = register_person(
        session=session, actor=actor or system_actor("tests"), data=person_input(**overrides)
    )
    return person


def make_user(
    session: Session, role: Role, unit: str | None = None, *, person_id: uuid.UUID | None = None
) -> tuple[User, Actor]:
    username = f"user{next(_users)}_{random.randrange(10**6)}"
    user = create_user(
        session=session,
        actor=system_actor("tests"),
        username=username,
        password="correct horse",
        role=role,
        unit_code=unit,
        person_id=person_id,
    )
    return user, actor_for_user(session, user, origin="tests")


def bearer(session: Session, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(session=session, user=user, kind='api')}"}


def load_tree(session: Session, csv_text: str, actor: Actor | None = None) -> ImportReport:
    """Parse and load an admin-unit CSV, returning the combined report."""
    report = ImportReport()
    units = units_service.parse_csv(csv_text, report)
    units_service.load_units(
        session=session, actor=actor or system_actor("tests"), units=units, report=report
    )
    return report


def audit_entries(
    session: Session, *, action: str | None = None, object_id: object = None
) -> list[AuditEntry]:
    """Audit rows, oldest first, optionally for one action or record."""
    query = select(AuditEntry).order_by(AuditEntry.id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if object_id is not None:
        query = query.where(AuditEntry.object_id == str(object_id))
    return list(session.scalars(query))
