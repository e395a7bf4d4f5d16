"""One vehicle's occupants scanned at a station are one group: a later F0 among them makes the
others contacts, through the same tracing as check-ins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.cases import service, tracing
from phongdich.checkpoints.models import Passage
from phongdich.station.queue import Queue
from phongdich.station.runtime import Station
from tests.cases.helpers import contact_table
from tests.checkpoints.helpers import Gate, TestClientTransport, gate, officer, pass_text
from tests.factories import make_person

__all__ = ["gate", "officer"]


def test_a_later_f0_in_a_car_makes_the_other_occupants_f1(
    session: Session, client: TestClient, gate: Gate, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    crossed = now - timedelta(hours=20)
    queue = Queue(tmp_path / "station.sqlite3")
    station = Station(TestClientTransport(client, gate.token), queue, clock=lambda: crossed)
    assert station.refresh()
    f0, driver, passenger, behind = (
        make_person(session, full_name=name)
        for name in ("Nguyễn Văn Khởi", "Trần Văn Lái", "Lê Thị Ngồi", "Phạm Văn Sau")
    )
    texts = {
        p.id: pass_text(session, p, gate.keys, now=crossed - timedelta(hours=1))
        for p in (f0, driver, passenger, behind)
    }
    group = station.start_vehicle(plate="29a-123.45", vehicle_type="car")
    for person in (driver, f0, passenger):
        assert station.scan(texts[person.id]) is not None
    station.start_vehicle(plate="30B-678.90")  # the next car in the queue
    assert station.scan(texts[behind.id]) is not None
    assert station.sync_once().stored == 4
    queue.close()

    rows = session.scalars(select(Passage).where(Passage.group_id == group)).all()
    assert {row.person_id for row in rows} == {f0.id, driver.id, passenger.id}
    assert {row.vehicle_plate for row in rows} == {"29A-123.45"}
    case, _ = service.open_case(
        session=session, actor=gate.officer, person_id=f0.id, reference_time=now, now=now
    )
    tracing.trace(session=session, actor=gate.officer, case=case, now=now)
    assert contact_table(session, case) == {
        "Trần Văn Lái": (1, [("29A-123.45", "vehicle", crossed, crossed, None)]),
        "Lê Thị Ngồi": (1, [("29A-123.45", "vehicle", crossed, crossed, None)]),
    }
