"""Labs, shipments of closed tubes, receiving with missing and extra tubes, and the load."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from phongdich.db import utcnow
from phongdich.errors import Conflict, Forbidden, Invalid, NotFound
from phongdich.testing import labs
from phongdich.testing.models import Tube
from phongdich.testing.schemas import LabInput
from tests.factories import HANG_BAC, PHUC_XA, TAN_DINH, TRUC_BACH, make_person, make_user
from tests.testing.factories import SYSTEM, enter, fill_tube, make_campaign, make_lab, ship


def lab_input(**overrides: object) -> LabInput:
    values: dict[str, object] = {
        "code": "cdc-hn",
        "name": "CDC Hà Nội",
        "unit_code": PHUC_XA,
        "daily_capacity": 500,
        "methods": ["RT-PCR", "test nhanh"],
    }
    values.update(overrides)
    return LabInput.model_validate(values)


def test_an_official_registers_a_lab(session: Session) -> None:
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    lab = labs.create_lab(session=session, actor=officer, data=lab_input())
    assert (lab.code, lab.unit_code, lab.methods) == ("CDC-HN", PHUC_XA, ["pcr", "rapid_antigen"])
    with pytest.raises(Conflict):
        labs.create_lab(session=session, actor=officer, data=lab_input())
    with pytest.raises(Invalid) as caught:
        labs.create_lab(
            session=session, actor=officer, data=lab_input(code="X2", unit_code=TRUC_BACH)
        )
    assert caught.value.field == "code"
    with pytest.raises(Invalid) as caught:
        labs.create_lab(
            session=session, actor=officer, data=lab_input(code="CDC-2", unit_code=TRUC_BACH)
        )
    assert caught.value.field == "unit_code"
    with pytest.raises(Invalid) as caught:
        labs.create_lab(session=session, actor=officer, data=lab_input(code="CDC-3", methods=["x"]))
    assert caught.value.field == "methods.0"
    _, technician = make_user(session, Role.LAB_TECHNICIAN, PHUC_XA)
    with pytest.raises(Forbidden):
        labs.create_lab(session=session, actor=technician, data=lab_input(code="CDC-4"))


def test_only_closed_tubes_are_shipped_and_only_once(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    people = [make_person(session) for _ in range(2)]
    closed = fill_tube(session, campaign, site, people[:1])
    still_open = fill_tube(session, campaign, site, people[1:], close=False)
    with pytest.raises(Invalid) as caught:
        labs.create_shipment(
            session=session, actor=SYSTEM, lab_code=lab.code, barcodes=[closed, still_open]
        )
    assert caught.value.field == "barcodes.1"
    assert "is open" in caught.value.reason
    assert session.scalar(select(Tube.status).where(Tube.barcode == closed)) == "closed"
    shipment, warnings = labs.create_shipment(
        session=session, actor=SYSTEM, lab_code=lab.code.lower(), barcodes=[closed, closed.lower()]
    )
    assert warnings == []
    assert shipment.code.startswith("VC-")
    assert shipment.unit_code == PHUC_XA
    view = labs.view(session, shipment)
    assert (view.tubes, view.received, view.missing, view.extra) == (1, 0, [], [])
    with pytest.raises(Invalid) as caught:
        labs.create_shipment(session=session, actor=SYSTEM, lab_code=lab.code, barcodes=[closed])
    assert "is shipped" in caught.value.reason
    with pytest.raises(Invalid) as caught:
        labs.create_shipment(session=session, actor=SYSTEM, lab_code="NOLAB", barcodes=[closed])
    assert caught.value.field == "lab_code"
    with pytest.raises(Invalid) as caught:
        labs.create_shipment(session=session, actor=SYSTEM, lab_code=lab.code, barcodes=[])
    assert caught.value.field == "barcodes"


def test_a_team_ships_only_its_own_sites_tubes(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    code = fill_tube(session, campaign, site, [make_person(session)])
    _, stranger = make_user(session, Role.SAMPLING_STAFF, TAN_DINH)
    with pytest.raises(Invalid) as caught:
        labs.create_shipment(session=session, actor=stranger, lab_code=lab.code, barcodes=[code])
    assert caught.value.reason == f"no tube {code} at your sites"
    _, technician = make_user(session, Role.LAB_TECHNICIAN, PHUC_XA)
    with pytest.raises(Forbidden):
        labs.create_shipment(session=session, actor=technician, lab_code=lab.code, barcodes=[code])
    _, local = make_user(session, Role.SAMPLING_STAFF, PHUC_XA)
    shipment, _ = labs.create_shipment(
        session=session, actor=local, lab_code=lab.code, barcodes=[code]
    )
    assert shipment.sent_by == local.username


def test_receiving_reports_missing_and_extra_and_a_late_tube_arrives(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session, unit=TRUC_BACH)
    tubes = [fill_tube(session, campaign, site, [make_person(session)]) for _ in range(3)]
    stray = fill_tube(session, campaign, site, [make_person(session)])
    code = ship(session, lab, tubes)
    _, technician = make_user(session, Role.LAB_TECHNICIAN, TRUC_BACH)
    shipment = labs.receive(
        session=session,
        actor=technician,
        code=code.lower(),
        barcodes=[tubes[0], tubes[2], stray, "ZZ-0001"],
    )
    view = labs.view(session, shipment)
    assert (view.tubes, view.received, view.missing, view.extra) == (
        3,
        2,
        [tubes[1]],
        [stray, "ZZ-0001"],
    )
    first_received_at = shipment.received_at
    assert shipment.received_by == technician.username
    # The same scan again changes nothing; the late tube turns up the next time.
    labs.receive(session=session, actor=technician, code=code, barcodes=[tubes[0], stray])
    assert labs.view(session, shipment).extra == [stray, "ZZ-0001"]
    assert labs.view(session, shipment).received == 2
    again = labs.receive(session=session, actor=technician, code=code, barcodes=[tubes[1]])
    view = labs.view(session, again)
    assert (view.received, view.missing, view.extra) == (3, [], [stray, "ZZ-0001"])
    assert again.received_at == first_received_at
    statuses = {
        t.barcode: t.status
        for t in session.scalars(select(Tube).where(Tube.barcode.in_([*tubes, stray])))
    }
    assert statuses == {
        tubes[0]: "received",
        tubes[1]: "received",
        tubes[2]: "received",
        stray: "closed",
    }


def test_only_the_labs_own_staff_receive(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session, unit=TRUC_BACH)
    code = ship(session, lab, [fill_tube(session, campaign, site, [make_person(session)])])
    _, elsewhere = make_user(session, Role.LAB_TECHNICIAN, HANG_BAC)
    _, sampler = make_user(session, Role.SAMPLING_STAFF, PHUC_XA)
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    with pytest.raises(NotFound):
        labs.receive(session=session, actor=elsewhere, code=code, barcodes=["TB-0001"])
    with pytest.raises(NotFound):
        labs.get_shipment(session=session, actor=elsewhere, code=code)
    with pytest.raises(Forbidden):
        labs.receive(session=session, actor=sampler, code=code, barcodes=["TB-0001"])
    # The sending side sees the shipment; the lab of another area does not.
    assert labs.get_shipment(session=session, actor=sampler, code=code).code == code
    assert labs.get_shipment(session=session, actor=officer, code=code).code == code
    with pytest.raises(NotFound):
        labs.get_shipment(session=session, actor=SYSTEM, code="VC-NOPE")
    with pytest.raises(NotFound):
        labs.lab_for_staff(session=session, actor=elsewhere, code=lab.code)


def test_capacity_warnings_name_the_labs_with_room(session: Session) -> None:
    campaign, site = make_campaign(session)
    small = make_lab(session, capacity=5)
    roomy = make_lab(session, capacity=100)
    full = make_lab(session, capacity=1)
    ship(session, full, [fill_tube(session, campaign, site, [make_person(session)])])
    tubes = [fill_tube(session, campaign, site, [make_person(session)]) for _ in range(6)]
    _, none = labs.create_shipment(
        session=session, actor=SYSTEM, lab_code=small.code, barcodes=tubes[:3]
    )
    assert none == []
    _, near = labs.create_shipment(
        session=session, actor=SYSTEM, lab_code=small.code, barcodes=tubes[3:4]
    )
    assert near == [f"lab {small.code}: 4 tubes waiting for 5 a day; room at {roomy.code}"]
    _, over = labs.create_shipment(
        session=session, actor=SYSTEM, lab_code=small.code, barcodes=tubes[4:]
    )
    assert over == [f"lab {small.code}: 6 tubes waiting for 5 a day; room at {roomy.code}"]
    figures = {load.lab.code: load for load in labs.loads(session, [small, roomy, full])}
    assert figures[small.code].warning == "over capacity: send new tubes to another lab"
    assert (figures[small.code].in_transit, figures[small.code].pending) == (6, 6)
    # A lab exactly at its capacity is near it, not over it.
    assert figures[full.code].warning == "near capacity"
    assert figures[roomy.code].warning is None
    assert labs.capacity_warnings(session, roomy) == []


def test_load_counts_transit_waiting_and_todays_results(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session, capacity=10)
    tubes = [fill_tube(session, campaign, site, [make_person(session)]) for _ in range(4)]
    code = ship(session, lab, tubes)
    labs.receive(session=session, actor=SYSTEM, code=code, barcodes=tubes[:3])
    enter(session, tubes[0], "negative")
    (load,) = labs.loads(session, [lab])
    assert (load.in_transit, load.waiting, load.resulted_today) == (1, 2, 1)
    assert load.share == pytest.approx(0.3)
    assert load.warning is None
    assert load.turnaround_p50_h is not None
    assert 0 <= load.turnaround_p50_h < 1
    days = labs.turnaround_by_day(session, [lab])
    assert [(d.lab_code, d.tubes) for d in days] == [(lab.code, 1)]
    assert labs.turnaround_by_day(session, [lab], now=utcnow() + timedelta(days=20)) == []
    assert [s.code for s in labs.shipments_of(session, lab)] == [code]
