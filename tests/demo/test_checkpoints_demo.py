"""The demo's checkpoints: gateways with a week of passages, transfers from Quảng Ninh, a station
token that works, and a folder of QR frames a station reads with the verdicts it promises.

`build_demo` commits, so these tests use databases of their own (see conftest.py). The demo
writes its keys and images to the data directory, here a temporary one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from phongdich.adminunits.models import AdminUnit
from phongdich.app import create_app
from phongdich.checkpoints.models import (
    Checkpoint,
    CheckpointNotice,
    DailyReport,
    Passage,
    Station,
    Transfer,
    TransferMember,
)
from phongdich.config import Settings, get_settings
from phongdich.db import Database
from phongdich.demo import checkpoints as demo_checkpoints
from phongdich.demo.city import DemoResult, build_demo
from phongdich.persons.models import Person
from phongdich.station import frames
from phongdich.station.queue import Queue
from phongdich.station.runtime import Station as StationClient
from tests.checkpoints.helpers import TestClientTransport
from tests.demo.helpers import rolled_back

PEOPLE = 1500
SEED = 11


@dataclass(frozen=True)
class Built:
    database: Database
    result: DemoResult
    settings: Settings

    @property
    def summary(self) -> demo_checkpoints.CheckpointsDemo:
        assert self.result.checkpoints is not None
        return self.result.checkpoints


@pytest.fixture(scope="module")
def built(
    fresh_database: Callable[[], Database], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Built]:
    data = tmp_path_factory.mktemp("demo-data")
    database = fresh_database()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PHONGDICH_DATA_DIR", str(data))
        get_settings.cache_clear()
        try:
            result = build_demo(database, people=PEOPLE, seed=SEED)
            yield Built(database, result, Settings(data_dir=data, database_url="sqlite://"))
        finally:
            get_settings.cache_clear()


@pytest.fixture(scope="module")
def client(built: Built) -> Iterator[TestClient]:
    app = create_app(built.settings, built.database, migrate=False, run_worker=False)
    with TestClient(app) as test_client:
        yield test_client


def test_the_gateways_have_lanes_officers_and_one_station_each(built: Built) -> None:
    with rolled_back(built.database) as session:
        gates = session.scalars(select(Checkpoint).order_by(Checkpoint.code)).all()
        assert len(gates) == len(demo_checkpoints.GATES) == built.summary.checkpoints
        assert {g.unit_code for g in gates} == {demo_checkpoints.CITY}
        assert any("Pháp Vân" in g.name for g in gates)
        assert all("general" in g.lanes for g in gates)
        assert sum("driver" in g.lanes for g in gates) >= 8
        stations = Counter(session.scalars(select(Station.checkpoint_id)))
        assert set(stations.values()) == {1}
        assert set(stations) == {g.id for g in gates}


def test_a_week_of_passages_in_vehicles_with_every_kind_of_verdict(built: Built) -> None:
    summary = built.summary
    with rolled_back(built.database) as session:
        rows = session.execute(
            select(
                Passage.at,
                Passage.verdict,
                Passage.group_id,
                Passage.vehicle_plate,
                Passage.person_id,
                Passage.flagged,
                Passage.rapid_test,
                Passage.lane,
                Passage.origin_unit_code,
            )
        ).all()
        assert len(rows) == summary.passages > 2000
        tz = built.settings.tz
        days = {r.at.replace(tzinfo=r.at.tzinfo or tz).astimezone(tz).date() for r in rows}
        assert len(days) == demo_checkpoints.DAYS
        verdicts = Counter(r.verdict for r in rows)
        assert set(verdicts) == {"pass", "conditional", "turn_back"}
        assert verdicts["turn_back"] == summary.turned_back > 0
        assert all(r.group_id is not None and r.vehicle_plate for r in rows)
        assert len({r.group_id for r in rows}) == summary.vehicles
        assert all(r.person_id is not None for r in rows)
        assert Counter(r.rapid_test for r in rows)["positive"] == 1
        assert sum(bool(r.rapid_test) for r in rows) == summary.rapid_tests
        assert {r.lane for r in rows if r.rapid_test} == {"driver"}
        flagged = {r.group_id for r in rows if r.flagged}
        assert len(flagged) == summary.flagged_groups >= 1
        origins = {r.origin_unit_code for r in rows if r.origin_unit_code}
        provinces = {
            path.split("/")[0]
            for path in session.scalars(select(AdminUnit.path).where(AdminUnit.code.in_(origins)))
        }
        assert len(provinces) >= 10
        levels = dict(
            session.execute(
                select(AdminUnit.code, AdminUnit.zone_level).where(AdminUnit.code.in_(provinces))
            ).all()
        )
        assert levels["79"] == 4
        assert levels["22"] == 1
        kinds = Counter(session.scalars(select(CheckpointNotice.kind)))
        assert kinds["rapid_positive"] >= 2  # destination and origin units, at once
        assert kinds["flagged"] >= 1
        reports = session.scalar(select(func.count()).select_from(DailyReport))
        assert reports == summary.reports == len(demo_checkpoints.GATES) * demo_checkpoints.DAYS


def test_a_transfer_from_quang_ninh_waits_and_another_was_accepted(built: Built) -> None:
    with rolled_back(built.database) as session:
        pending = session.scalars(
            select(Transfer).where(Transfer.code == built.summary.pending_transfer)
        ).one()
        accepted = session.scalars(
            select(Transfer).where(Transfer.code == built.summary.accepted_transfer)
        ).one()
        assert (pending.status, accepted.status) == ("pending", "accepted")
        for transfer in (pending, accepted):
            assert session.get_one(AdminUnit, transfer.from_unit_code).path.startswith("22/")
            assert session.get_one(AdminUnit, transfer.to_unit_code).path.startswith("01/")
            homes = session.scalars(
                select(AdminUnit.path)
                .join(Person, Person.permanent_unit_code == AdminUnit.code)
                .join(TransferMember, TransferMember.person_id == Person.id)
                .where(TransferMember.transfer_id == transfer.id)
            ).all()
            # Migrant workers of the demo city, registered at home outside Hà Nội.
            assert homes
            assert not any(path.startswith("01/") for path in homes)


def test_the_printed_token_fetches_the_bundle(built: Built, client: TestClient) -> None:
    summary = built.summary
    response = client.get(
        "/api/station/bundle", headers={"Authorization": f"Bearer {summary.token}"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["checkpoint"]["code"] == summary.station
    assert summary.accepted_transfer in {t["code"] for t in body["transfers"]}
    lines = "\n".join(summary.lines())
    assert f"--token {summary.token} --images {summary.images}" in lines


def test_a_station_reads_every_image_with_the_verdict_promised(
    built: Built, client: TestClient, tmp_path: Path
) -> None:
    folder = built.summary.images
    assert folder is not None
    expected = demo_checkpoints.expected(folder)
    assert sorted(expected) == sorted(built.summary.image_files)
    assert len(expected) == 9
    queue = Queue(tmp_path / "station.sqlite3")
    station = StationClient(TestClientTransport(client, built.summary.token), queue)
    try:
        assert station.refresh()
        for name, promise in sorted(expected.items()):
            image = Image.open(folder / name)
            assert image.size == (1280, 720)
            texts = frames.decode(np.asarray(image.convert("RGB"))[:, :, ::-1])
            assert len(texts) == 1, name
            shown = station.scan(texts[0])
            assert shown is not None, name
            assert shown.verdict == promise["verdict"], (name, shown)
    finally:
        queue.close()
