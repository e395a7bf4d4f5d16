"""Contacts beyond venues: the F0's household, the vehicles it crossed checkpoints in, and
contacts an official declares by hand."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.roles import Role
from phongdich.cases import service
from phongdich.cases.models import Exposure, QuarantineOrder
from phongdich.checkpoints.models import Checkpoint
from phongdich.checkpoints.registry import register_checkpoint
from phongdich.errors import Conflict, Invalid
from phongdich.persons.models import Person
from tests.cases.helpers import (
    NOW,
    contact_table,
    contacts,
    hm,
    import_stays,
    make_venue,
    open_case,
    stay,
    trace,
)
from tests.checkpoints.passages import NewPassage, record_passages
from tests.factories import BA_DINH, TRUC_BACH, make_person, make_user

WINDOW = (hm(-48), NOW)


@pytest.fixture
def officer(session: Session) -> Actor:
    return make_user(session, Role.DISTRICT_OFFICER, BA_DINH)[1]


@pytest.fixture
def checkpoint(session: Session, officer: Actor) -> Checkpoint:
    return register_checkpoint(
        session=session, actor=officer, code="CK-PHAP-VAN", name="Chốt Pháp Vân", unit_code=BA_DINH
    )


def crossing(
    session: Session,
    actor: Actor,
    checkpoint: Checkpoint,
    at: datetime,
    plate: str,
    *people: Person,
) -> None:
    """One vehicle through the checkpoint: everyone in it shares the crossing's group."""
    group = uuid.uuid4()
    record_passages(
        session=session,
        actor=actor,
        checkpoint=checkpoint,
        passages=[
            NewPassage(id=uuid.uuid4(), at=at, person_id=p.id, group_id=group, vehicle_plate=plate)
            for p in people
        ],
    )


def test_household_members_are_f1_and_an_f1s_household_f2(
    session: Session, officer: Actor, unique: str
) -> None:
    home, other_home = f"HH-{unique}-1", f"HH-{unique}-2"
    f0 = make_person(session, full_name="Nguyễn Văn Khởi", household_code=home)
    wife = make_person(session, full_name="Trần Thị Vợ", household_code=home)
    son = make_person(session, full_name="Nguyễn Văn Con", household_code=home)
    met = make_person(
        session, full_name="Lê Văn Gặp", household_code=other_home, permanent_unit_code=TRUC_BACH
    )
    his_mother = make_person(
        session, full_name="Phạm Thị Mẹ", household_code=other_home, permanent_unit_code=TRUC_BACH
    )
    make_person(session, full_name="Hoàng Văn Ngoài")  # no household in common
    market = make_venue(session, officer, "Chợ Châu Long", default_visit_minutes=30)
    import_stays(
        session, officer, [stay(market, f0, hm(-10), hm(-9)), stay(market, met, hm(-10), hm(-9))]
    )
    case = open_case(session, officer, f0)
    trace(session, officer, case)

    assert contact_table(session, case) == {
        "Trần Thị Vợ": (1, [(home, "household", *WINDOW, None)]),
        "Nguyễn Văn Con": (1, [(home, "household", *WINDOW, None)]),
        "Lê Văn Gặp": (1, [(market.code, "venue", hm(-10), hm(-9), 60)]),
        # From the F1's first exposure until their quarantine was issued.
        "Phạm Thị Mẹ": (2, [(other_home, "household", hm(-10), NOW, None)]),
    }
    orders = {o.person_id: (o.kind, o.unit_code) for o in session.scalars(select(QuarantineOrder))}
    assert orders == {
        wife.id: ("quarantine", wife.permanent_unit_code),
        son.id: ("quarantine", son.permanent_unit_code),
        met.id: ("quarantine", TRUC_BACH),
        his_mother.id: ("monitoring", TRUC_BACH),
    }


def test_vehicle_companions_inside_the_window_are_f1(
    session: Session, officer: Actor, checkpoint: Checkpoint
) -> None:
    f0, driver, passenger, last_week, on_foot, later_rider = (
        make_person(session, full_name=name)
        for name in (
            "Nguyễn Văn Khởi",
            "Trần Văn Lái",
            "Lê Thị Ngồi",
            "Phạm Văn Cũ",
            "Hoàng Thị Bộ",
            "Vũ Văn Sau",
        )
    )
    crossing(session, officer, checkpoint, hm(-20), "29a-123.45", f0, driver, passenger)
    crossing(session, officer, checkpoint, hm(-60), "30B-678.90", f0, last_week)  # before
    record_passages(
        session=session,
        actor=officer,
        checkpoint=checkpoint,
        passages=[NewPassage(id=uuid.uuid4(), at=hm(-20), person_id=on_foot.id)],
    )
    # The F1 driver's next trip, after their exposure: its passenger is an F2.
    crossing(session, officer, checkpoint, hm(-5), "29A-123.45", driver, later_rider)
    case = open_case(session, officer, f0)
    trace(session, officer, case)

    assert contact_table(session, case) == {
        "Trần Văn Lái": (1, [("29A-123.45", "vehicle", hm(-20), hm(-20), None)]),
        "Lê Thị Ngồi": (1, [("29A-123.45", "vehicle", hm(-20), hm(-20), None)]),
        "Vũ Văn Sau": (2, [("29A-123.45", "vehicle", hm(-5), hm(-5), None)]),
    }
    found = contacts(session, case)
    assert found[later_rider.id].via_contact_id == found[driver.id].id
    assert set(found) == {driver.id, passenger.id, later_rider.id}
    assert {last_week.id, on_foot.id}.isdisjoint(found)


def test_an_official_declares_a_contact_by_hand(session: Session, officer: Actor) -> None:
    f0 = make_person(session, full_name="Nguyễn Văn Khởi")
    colleague = make_person(session, full_name="Đặng Thị Đồng")
    case = open_case(session, officer, f0)

    contact = service.add_contact(
        session=session,
        actor=officer,
        code=case.code,
        person_id=colleague.id,
        start=hm(-30),
        end=hm(-28, -15),
        note="ăn trưa cùng bàn",
    )
    again = service.add_contact(
        session=session,
        actor=officer,
        code=case.code,
        person_id=colleague.id,
        start=hm(-30),
        end=hm(-28, -15),
    )
    assert again.id == contact.id
    assert contact.degree == 1
    [exposure] = session.scalars(select(Exposure).where(Exposure.contact_id == contact.id)).all()
    assert (
        exposure.via,
        exposure.start,
        exposure.end,
        exposure.overlap_minutes,
        exposure.note,
    ) == (
        "declared",
        hm(-30),
        hm(-28, -15),
        105,
        "ăn trưa cùng bàn",
    )
    order = session.scalars(
        select(QuarantineOrder).where(QuarantineOrder.person_id == colleague.id)
    ).one()
    assert (order.kind, order.starts_at) == ("quarantine", hm(-28, -15))
    # Tracing later keeps the declared contact and adds nothing to it.
    traced = trace(session, officer, case)
    assert (traced.new_contacts, traced.new_exposures) == (0, 0)
    assert contact_table(session, case) == {
        "Đặng Thị Đồng": (1, [("", "declared", hm(-30), hm(-28, -15), 105)])
    }


def test_a_declared_contact_is_refused_with_the_field_named(
    session: Session, officer: Actor
) -> None:
    f0, colleague, other_case = (
        make_person(session, full_name=name)
        for name in ("Nguyễn Văn Khởi", "Đặng Thị Đồng", "Bùi Văn Bệnh")
    )
    case = open_case(session, officer, f0)
    open_case(session, officer, other_case)
    declare = {"session": session, "actor": officer, "code": case.code, "start": hm(-30)}
    with pytest.raises(Invalid) as backwards:
        service.add_contact(**declare, person_id=colleague.id, end=hm(-31))  # type: ignore[arg-type]
    assert backwards.value.field == "end"
    with pytest.raises(Invalid) as itself:
        service.add_contact(**declare, person_id=f0.id, end=hm(-29))  # type: ignore[arg-type]
    assert itself.value.field == "person_id"
    with pytest.raises(Invalid) as naive:
        service.add_contact(
            session=session,
            actor=officer,
            code=case.code,
            person_id=colleague.id,
            start=datetime(2021, 9, 8, 9, 0),  # noqa: DTZ001  (no offset: refused)
            end=hm(-29),
        )
    assert naive.value.field == "start"
    with pytest.raises(Conflict):
        service.add_contact(**declare, person_id=other_case.id, end=hm(-29))  # type: ignore[arg-type]
    assert contacts(session, case) == {}
