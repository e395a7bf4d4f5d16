"""A station against the app: verdicts offline from its bundle, passages synced once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phongdich.checkpoints.models import CheckpointNotice, Passage
from phongdich.credentials.status import HealthFact
from phongdich.station.runtime import Station
from tests.checkpoints.helpers import Gate, gate, officer, pass_text, station, transport
from tests.factories import HCM, TAN_DINH, make_person

__all__ = ["gate", "officer", "station"]


def stored(session: Session, gate: Gate) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Passage)
            .where(Passage.checkpoint_id == gate.checkpoint.id)
        )
        or 0
    )


def test_a_valid_pass_passes_and_is_synced_once(
    session: Session, gate: Gate, station: Station
) -> None:
    person = make_person(session)
    shown = station.scan(pass_text(session, person, gate.keys))
    assert shown is not None
    assert (shown.verdict, shown.reason) == ("pass", "Resident of the destination unit"), shown
    result = station.sync_once()
    assert (result.sent, result.stored, result.already) == (1, 1, 0)
    row = session.scalar(select(Passage).where(Passage.checkpoint_id == gate.checkpoint.id))
    assert row is not None
    assert row.person_id == person.id
    assert row.credential == "pass"
    assert row.officer == "officer1"


def test_the_same_code_twice_within_seconds_is_one_passage(
    session: Session, gate: Gate, station: Station
) -> None:
    text = pass_text(session, make_person(session), gate.keys)
    assert station.scan(text) is not None
    assert station.scan(text) is None
    assert station.scan("  " + text + "\n") is None
    assert station.queue.counts().queued == 1


def test_a_resent_batch_is_not_stored_twice(session: Session, gate: Gate, station: Station) -> None:
    """The server stored a batch but the station died before marking it sent."""
    for _ in range(3):
        station.scan(pass_text(session, make_person(session), gate.keys))
    batch = station.queue.pending(10)
    first = transport(station).send_passages(batch)  # the server stores it ...
    assert first["stored"] == 3
    # ... and the station, restarted, still holds it as unsent.
    result = station.sync_once()
    assert (result.sent, result.stored, result.already) == (3, 0, 3)
    assert stored(session, gate) == 3
    assert station.queue.counts().queued == 0


def test_offline_the_station_keeps_scanning_and_syncs_later(
    session: Session, gate: Gate, station: Station
) -> None:
    transport(station).down = True
    texts = [pass_text(session, make_person(session), gate.keys) for _ in range(5)]
    assert not station.refresh()
    verdicts = [station.scan(text) for text in texts]
    assert all(v is not None and v.verdict == "pass" for v in verdicts)
    assert station.sync_once().offline
    assert stored(session, gate) == 0
    transport(station).down = False
    assert station.sync_once().stored == 5
    assert stored(session, gate) == 5


def test_a_red_case_is_turned_back(session: Session, gate: Gate, station: Station) -> None:
    text = pass_text(
        session,
        make_person(session),
        gate.keys,
        colour="red",
        reasons=("Confirmed case, not yet recovered",),
        evidence={},
    )
    shown = station.scan(text)
    assert shown is not None
    assert (shown.verdict, shown.reason) == ("turn_back", "Confirmed case or contact in quarantine")


def test_a_forged_pass_is_turned_back(session: Session, gate: Gate, station: Station) -> None:
    text = pass_text(session, make_person(session), gate.keys)
    forged = text[:-6] + ("A" if text[-6] != "A" else "B") + text[-5:]
    shown = station.scan(forged)
    assert shown is not None
    assert shown.verdict == "turn_back"


def test_an_expired_pass_from_a_red_zone_needs_a_rapid_test(
    session: Session, gate: Gate, station: Station
) -> None:
    person = make_person(session, permanent_unit_code=TAN_DINH)
    old = datetime.now(UTC) - timedelta(days=5)
    text = pass_text(session, person, gate.keys, now=old, evidence={})
    station.start_vehicle(plate="51A-12345", origin_unit_code=HCM)
    offline = station.require_offline()
    offline.units[HCM] = offline.units[HCM].__class__(HCM, "HCM", None, 1, 4)
    shown = station.scan(text)
    assert shown is not None
    assert shown.verdict == "conditional"
    assert shown.condition == "Rapid test at the lane"


def test_a_rapid_test_after_the_crossing_reaches_the_driver_and_the_units(
    session: Session, gate: Gate, station: Station
) -> None:
    person = make_person(session, permanent_unit_code=TAN_DINH)
    station.set_lane(lane="driver")
    station.start_vehicle(plate="51C-99999", vehicle_type="truck", origin_unit_code=TAN_DINH)
    shown = station.scan(pass_text(session, person, gate.keys, evidence={}))
    assert shown is not None
    assert shown.passage_id is not None
    station.sync_once()
    station.rapid_test(shown.passage_id, "positive")
    result = station.sync_once()
    assert result.rapid_tests == 1
    units = set(
        session.scalars(
            select(CheckpointNotice.unit_code).where(CheckpointNotice.kind == "rapid_positive")
        )
    )
    assert units == {gate.checkpoint.unit_code, TAN_DINH}
    fact = session.scalar(
        select(HealthFact).where(
            HealthFact.person_id == person.id, HealthFact.kind == "test_result"
        )
    )
    assert fact is not None
    assert fact.value == {"method": "rapid_antigen", "result": "positive"}
    # Sent again (a retry), nothing doubles.
    station.queue.add_rapid_test(shown.passage_id, "positive", datetime.now(UTC).isoformat())
    station.sync_once()
    assert (
        session.scalar(
            select(func.count())
            .select_from(CheckpointNotice)
            .where(CheckpointNotice.kind == "rapid_positive")
        )
        == 2
    )


def test_a_passage_the_server_refuses_waits_and_the_rest_go_on(
    session: Session, gate: Gate, station: Station
) -> None:
    station.scan(pass_text(session, make_person(session), gate.keys))
    broken_clock = datetime(2100, 1, 1, tzinfo=UTC)
    station.queue.add(
        {"id": "00000000-0000-4000-8000-000000000001", "at": broken_clock.isoformat()}
    )
    result = station.sync_once()
    assert result.rejected == 1
    assert result.stored == 1
    assert station.queue.counts().rejected == 1
    # Not offered again at every sync (the reason stays shown) ...
    assert station.sync_once().rejected == 0
    assert station.queue.counts().rejected == 1
    # ... but again a day later, in case the server accepts it by then; still refused.
    station.queue._db.execute("UPDATE passages SET rejected_at = '2000-01-01T00:00:00+00:00'")
    assert station.sync_once().rejected == 1
    assert station.queue.counts().rejected == 1


def test_a_unit_the_server_no_longer_knows_does_not_cost_the_passage(
    session: Session, gate: Gate, station: Station
) -> None:
    station.start_vehicle(origin_unit_code="NOPE")
    station.scan(pass_text(session, make_person(session), gate.keys))
    passage = station.queue.pending(1)[0]
    passage["origin_unit_code"] = "NOPE"  # a unit merged away since the station's bundle
    transport(station).send_passages([passage])
    row = session.get(Passage, uuid.UUID(passage["id"]))
    assert row is not None
    assert row.origin_unit_code is None


def card_text(number: str, name: str = "Nguyễn Văn An") -> str:
    return f"{number}||{name}|02041985|Nam|Số 1 phố Hòe Nhai, Phúc Xá, Ba Đình, Hà Nội|01012021"


def test_a_cccd_card_is_looked_up_online_and_synced_without_its_number(
    session: Session, gate: Gate, station: Station
) -> None:
    person = make_person(session)
    number = person.documents[0].number
    shown = station.scan(card_text(number))
    assert shown is not None
    assert shown.credential == "cccd"
    assert shown.reason == "Resident of the destination unit"  # the server knew their unit
    assert "POST /api/station/lookup" in transport(station).calls
    station.sync_once()
    row = session.scalar(select(Passage).where(Passage.checkpoint_id == gate.checkpoint.id))
    assert row is not None
    assert row.person_id == person.id
    assert row.traveller == "NVA 1985"
    sent = station.queue.recent(1)[0]
    assert "card" not in sent  # the station keeps no ID numbers once sent


def test_offline_a_card_alone_is_unverified(session: Session, gate: Gate, station: Station) -> None:
    person = make_person(session)
    transport(station).down = True
    shown = station.scan(card_text(person.documents[0].number))
    assert shown is not None
    # No pass, no look-up, no origin: the officer must ask where they come from.
    assert (shown.verdict, shown.reason) == ("conditional", "Origin unknown")


def test_an_unknown_card_holder_is_neither_registered_nor_taken_for_a_resident(
    session: Session, gate: Gate, station: Station
) -> None:
    from phongdich.persons.models import Person
    from tests.factories import cccd

    before = session.scalar(select(func.count()).select_from(Person))
    station.start_vehicle(origin_unit_code=HCM)
    shown = station.scan(card_text(cccd(province="079"), "Trần Văn Lạ"))
    assert shown is not None
    assert shown.reason != "Resident of the destination unit"
    station.sync_once()
    assert session.scalar(select(func.count()).select_from(Person)) == before
    row = session.scalar(select(Passage).where(Passage.checkpoint_id == gate.checkpoint.id))
    assert row is not None
    assert (row.person_id, row.traveller) == (None, "TVL 1985")


def test_a_result_corrected_while_being_sent_is_sent_again(
    session: Session, gate: Gate, station: Station
) -> None:
    shown = station.scan(pass_text(session, make_person(session), gate.keys))
    assert shown is not None
    assert shown.passage_id is not None
    station.sync_once()
    station.rapid_test(shown.passage_id, "negative")
    sent = station.queue.pending_rapid_tests()
    station.rapid_test(shown.passage_id, "positive")  # corrected meanwhile
    station.queue.mark_rapid_sent(sent)
    assert [t["result"] for t in station.queue.pending_rapid_tests()] == ["positive"]
    station.sync_once()
    row = session.get(Passage, uuid.UUID(shown.passage_id))
    assert row is not None
    assert row.rapid_test == "positive"


def test_a_rapid_test_with_a_broken_clock_does_not_hold_back_the_others(
    session: Session, gate: Gate, station: Station
) -> None:
    first = station.scan(pass_text(session, make_person(session), gate.keys))
    second = station.scan(pass_text(session, make_person(session), gate.keys))
    assert first is not None
    assert second is not None
    assert first.passage_id is not None
    assert second.passage_id is not None
    station.sync_once()
    station.queue.add_rapid_test(first.passage_id, "negative", "2100-01-01T00:00:00+00:00")
    station.rapid_test(second.passage_id, "positive")
    assert station.sync_once().rapid_tests == 1
    row = session.get(Passage, uuid.UUID(second.passage_id))
    assert row is not None
    assert row.rapid_test == "positive"
    assert [t["passage_id"] for t in station.queue.pending_rapid_tests()] == [first.passage_id]
