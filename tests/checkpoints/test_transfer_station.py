"""A station at Ba Đình's gate matching arriving people against the manifests in its bundle."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.roles import Role
from phongdich.checkpoints import transfers
from phongdich.checkpoints.models import CheckpointNotice, Passage, TransferMember
from phongdich.persons.models import Person
from phongdich.station import assess
from phongdich.station.runtime import Station
from tests.checkpoints.helpers import Gate, gate, officer, pass_text, station
from tests.checkpoints.transfer_fixtures import file_to_ba_dinh, hcm_people, sender
from tests.factories import BA_DINH, HCM
from tests.web.pages import sign_in

__all__ = ["gate", "officer", "station"]


def passages_of(session: Session, gate: Gate) -> list[Passage]:
    return list(
        session.scalars(
            select(Passage).where(Passage.checkpoint_id == gate.checkpoint.id).order_by(Passage.at)
        )
    )


def scan_people(session: Session, gate: Gate, station: Station, people: list[Person]) -> list[str]:
    """Each person's pass scanned; the verdicts and flags the officer saw."""
    seen = []
    for person in people:
        shown = station.scan(pass_text(session, person, gate.keys))
        assert shown is not None
        seen.append(f"{shown.verdict}|{shown.flagged}")
    return seen


def test_a_group_on_an_accepted_manifest_passes_and_arrives(
    session: Session, gate: Gate, station: Station, officer: Actor
) -> None:
    _, sending = sender(session)
    people = hcm_people(session, 3)
    transfer = file_to_ba_dinh(session, sending, people)
    transfers.decide(session=session, actor=officer, code=transfer.code, accept=True)
    assert station.refresh()
    # The driver shows the manifest's code first: it attaches the vehicle to the manifest.
    attached = station.scan(transfers.code_text(session, transfer, gate.keys))
    assert attached is not None
    assert attached.verdict == "pass"
    assert transfer.code in attached.reason
    assert station.context.vehicle_plate == transfer.vehicle_plate
    assert scan_people(session, gate, station, people) == ["pass|"] * 3
    assert station.sync_once().stored == 3
    rows = passages_of(session, gate)
    assert {r.transfer_id for r in rows} == {transfer.id}
    assert len({r.group_id for r in rows}) == 1
    assert rows[0].group_id is not None
    assert all(r.vehicle_plate == transfer.vehicle_plate and not r.flagged for r in rows)
    arrived = dict(
        session.execute(
            select(TransferMember.person_id, TransferMember.arrived_at).where(
                TransferMember.transfer_id == transfer.id
            )
        ).all()
    )
    assert set(arrived) == {p.id for p in people}
    assert all(at is not None for at in arrived.values())


def test_people_on_an_accepted_manifest_match_without_the_vehicle_code(
    session: Session, gate: Gate, station: Station, officer: Actor
) -> None:
    _, sending = sender(session)
    people = hcm_people(session, 2)
    transfer = file_to_ba_dinh(session, sending, people)
    transfers.decide(session=session, actor=officer, code=transfer.code, accept=True)
    station.refresh()
    station.start_vehicle(plate="51B-12345", transfer_group=True)
    assert scan_people(session, gate, station, people) == ["pass|"] * 2
    station.sync_once()
    assert {r.transfer_id for r in passages_of(session, gate)} == {transfer.id}


def test_a_transfer_group_without_an_accepted_manifest_is_flagged_and_noticed(
    session: Session, gate: Gate, station: Station
) -> None:
    people = hcm_people(session, 2)
    station.start_vehicle(plate="14B-00001", origin_unit_code=HCM, transfer_group=True)
    seen = scan_people(session, gate, station, people)
    assert all(s.endswith("|" + assess.NO_MANIFEST) for s in seen), seen
    station.sync_once()
    rows = passages_of(session, gate)
    assert all(r.flagged == assess.NO_MANIFEST and r.transfer_id is None for r in rows)
    units = set(
        session.scalars(
            select(CheckpointNotice.unit_code).where(
                CheckpointNotice.kind == "flagged",
                CheckpointNotice.passage_id.in_([r.id for r in rows]),
            )
        )
    )
    assert units == {BA_DINH}


def test_people_on_a_refused_or_pending_manifest_are_turned_back(
    session: Session, gate: Gate, station: Station, officer: Actor
) -> None:
    _, sending = sender(session)
    refused_people, pending_people = hcm_people(session, 2), hcm_people(session, 2)
    refused = file_to_ba_dinh(session, sending, refused_people)
    transfers.decide(
        session=session, actor=officer, code=refused.code, accept=False, note="Hết chỗ cách ly"
    )
    pending = file_to_ba_dinh(session, sending, pending_people, plate="51B-22222")
    station.refresh()
    for transfer, people in ((refused, refused_people), (pending, pending_people)):
        attached = station.scan(transfers.code_text(session, transfer, gate.keys))
        assert attached is not None
        assert attached.verdict == "turn_back"
        seen = scan_people(session, gate, station, people)
        assert seen == ["turn_back|" + assess.MANIFEST_NOT_ACCEPTED] * 2, seen
        station.end_vehicle()
    # Without the vehicle's code, the person alone is recognised on the refused manifest too.
    station.start_vehicle(plate="30A-00001")
    alone = station.scan(pass_text(session, refused_people[0], gate.keys, colour="green"))
    assert alone is not None
    assert alone.verdict == "turn_back"


def test_the_seeds_bus_of_53_without_a_manifest_is_flagged(
    session: Session, gate: Gate, station: Station, client: TestClient
) -> None:
    """The 53 travellers from Quảng Ninh: a bus from another province, no manifest."""
    people = hcm_people(session, 53)
    station.start_vehicle(plate="14B-05353", vehicle_type="bus", origin_unit_code=HCM)
    seen = scan_people(session, gate, station, people)
    flagged = [s for s in seen if assess.LARGE_GROUP in s]
    first = assess.GROUP_WITHOUT_MANIFEST
    assert len(flagged) == 53 - first + 1
    assert all(assess.LARGE_GROUP in s for s in seen[first - 1 :])
    assert station.sync_once().stored == 53
    rows = passages_of(session, gate)
    assert len({r.group_id for r in rows}) == 1
    # The first passengers, scanned before the group was known large, are flagged too.
    assert sum(1 for r in rows if r.flagged == assess.LARGE_GROUP) == 53
    notices = session.scalars(
        select(CheckpointNotice).where(CheckpointNotice.passage_id.in_([r.id for r in rows]))
    ).all()
    assert {n.unit_code for n in notices} == {BA_DINH}
    assert len(notices) == 53
    # The destination reads the bus as one notice, and marks it read at once.
    sign_in(client, session, Role.DISTRICT_OFFICER, BA_DINH)
    page = client.get("/checkpoints/notices").text
    assert page.count('data-kind="flagged"') == 1
    assert 'data-count="53"' in page
    notice_id = page.split('data-id="')[1].split('"')[0]
    client.post(f"/checkpoints/notices/{notice_id}/read", data={"group": "1"})
    session.expire_all()
    assert all(n.read_at is not None for n in notices)
    assert 'id="no-notices"' in client.get("/checkpoints/notices").text
