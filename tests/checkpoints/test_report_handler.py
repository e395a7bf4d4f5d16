"""Reports through the outbox: passages synced by a station recompute their days' reports, a
late batch recomputes them again, and the worker's job stores yesterday and today.

The outbox commits for real, so each test runs on a fresh database of its own.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import typer
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from phongdich import events
from phongdich.auth.roles import Role
from phongdich.checkpoints import jobs, registry, report_commands, reports, sync
from phongdich.checkpoints.models import DailyReport
from phongdich.db import Database
from phongdich.events import EventDelivery, OutboxEvent
from tests.conftest import _load_reference_tree, migrated_database
from tests.factories import BA_DINH, make_person, make_user

HANDLER = "checkpoints.daily_reports"
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with migrated_database(request.param, tmp_path) as database:
        _load_reference_tree(database)
        events.load_handlers()
        yield database


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL)


def setup(database: Database) -> tuple[uuid.UUID, str]:
    with database.transaction() as session:
        _, officer = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)
        checkpoint = registry.register_checkpoint(
            session=session, actor=officer, code="CK-REPORT", name="Chốt Ba Đình",
            unit_code=BA_DINH,
        )  # fmt: skip
        issued = registry.add_station(session=session, actor=officer, code=checkpoint.code)
        return checkpoint.id, issued.token


def arrive(database: Database, token: str, times: list[datetime]) -> None:
    with database.transaction() as session:
        context = registry.station_for_token(session, token)
        passages = []
        for at in times:
            main = make_person(session).main_document
            assert main is not None
            passages.append(
                sync.StationPassage(
                    id=uuid.uuid4(), at=at, credential="document", document_number=main.number
                )
            )
        sync.receive(session=session, context=context, passages=passages)


def deliver(database: Database) -> None:
    for _ in range(5):
        if events.process_pending(database) == 0:
            break
    with database.transaction() as session:
        states = session.execute(
            select(EventDelivery.status, EventDelivery.last_error).where(
                EventDelivery.handler == HANDLER
            )
        ).all()
    assert states
    assert all(status == "done" for status, _ in states), states


def people_in(database: Database, checkpoint_id: uuid.UUID) -> dict[date, int]:
    with database.transaction() as session:
        rows = session.scalars(
            select(DailyReport).where(DailyReport.checkpoint_id == checkpoint_id)
        ).all()
        return {row.day: int(row.figures["people"]["in"]) for row in rows}


def test_synced_passages_recompute_their_days(fresh: Database) -> None:
    day = reports.today() - timedelta(days=2)
    checkpoint_id, token = setup(fresh)
    # 23:30 and 00:30 local: one UTC date, two local days.
    arrive(fresh, token, [local(day, 23, 30), local(day + timedelta(days=1), 0, 30)])
    deliver(fresh)
    assert people_in(fresh, checkpoint_id) == {day: 1, day + timedelta(days=1): 1}

    # The station was offline that evening: more passages of the day arrive late.
    arrive(fresh, token, [local(day, 20), local(day, 21)])
    deliver(fresh)
    assert people_in(fresh, checkpoint_id) == {day: 3, day + timedelta(days=1): 1}

    # The same event delivered again (a retry after a crash) changes nothing.
    with fresh.transaction() as session:
        event = session.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == sync.RECEIVED)
        ).first()
        assert event is not None
        from phongdich.checkpoints.handlers import recompute_reports

        recompute_reports(
            session,
            events.Event(event.id, event.topic, dict(event.payload), None, event.created_at),
        )
    assert people_in(fresh, checkpoint_id) == {day: 3, day + timedelta(days=1): 1}


def test_a_malformed_event_is_done_without_effect(fresh: Database) -> None:
    with fresh.transaction() as session:
        events.record(session, sync.RECEIVED, {"checkpoint_id": "not an id", "days": ["x"]})
        events.record(session, sync.RECEIVED, {"checkpoint_id": str(uuid.uuid4()), "days": []})
    deliver(fresh)
    with fresh.transaction() as session:
        assert session.scalars(select(DailyReport)).all() == []


def test_the_job_stores_yesterday_and_today(fresh: Database) -> None:
    checkpoint_id, token = setup(fresh)
    now = datetime.now(UTC)
    today = reports.local_day(now)
    arrive(fresh, token, [now])
    assert jobs.run_reports(fresh, now=now) == 2
    assert jobs.run_reports(fresh, now=now) == 2
    assert people_in(fresh, checkpoint_id) == {today - timedelta(days=1): 0, today: 1}


@pytest.fixture
def cli_db(fresh: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """The command's database, named by the environment as an operator would."""
    from phongdich.config import get_settings

    monkeypatch.setenv("PHONGDICH_DATABASE_URL", fresh.engine.url.render_as_string(False))
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    get_settings.cache_clear()
    yield fresh
    get_settings.cache_clear()
    root.handlers[:] = handlers
    root.setLevel(level)


def command() -> typer.Typer:
    """The command as `checkpoints_app` registers it."""
    app = typer.Typer()
    app.command("report")(report_commands.report)
    app.command("unused")(lambda: None)  # two commands: Typer keeps the name `report`
    return app


def test_the_report_command_stores_and_exports(cli_db: Database, tmp_path: Path) -> None:
    day = reports.today() - timedelta(days=1)
    checkpoint_id, token = setup(cli_db)
    arrive(cli_db, token, [local(day, 9), local(day, 10)])
    xlsx, pdf = tmp_path / "day.xlsx", tmp_path / "day.pdf"
    result = CliRunner().invoke(
        command(),
        ["report", "--day", day.isoformat(), "--unit", BA_DINH, "--xlsx", str(xlsx),
         "--pdf", str(pdf)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "People in: 2" in result.output
    assert people_in(cli_db, checkpoint_id) == {day: 2}
    assert pdf.read_bytes().startswith(b"%PDF")
    assert load_workbook(xlsx).worksheets[0]["A1"].value is not None
    refused = CliRunner().invoke(command(), ["report", "--day", "tomorrow"])
    assert refused.exit_code == 2
    assert "day" in refused.output


def test_an_event_older_than_its_report_is_skipped(fresh: Database) -> None:
    """A backlog of a station's batches: the day is computed once, not once per batch."""
    from phongdich.checkpoints.handlers import SETTLED, recompute_reports

    day = reports.today() - timedelta(days=2)
    checkpoint_id, token = setup(fresh)
    arrive(fresh, token, [local(day, 9)])
    with fresh.transaction() as session:
        event = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == sync.RECEIVED)).one()
        old = events.Event(
            event.id, event.topic, dict(event.payload), None, event.created_at - 2 * SETTLED
        )
        recompute_reports(session, old)
    assert people_in(fresh, checkpoint_id) == {day: 1, day + timedelta(days=1): 0}
    arrive(fresh, token, [local(day, 10)])  # not yet delivered
    with fresh.transaction() as session:
        recompute_reports(session, old)  # the report is newer than the old event: skipped
    assert people_in(fresh, checkpoint_id)[day] == 1
    deliver(fresh)  # the new batch's own event recomputes
    assert people_in(fresh, checkpoint_id)[day] == 2
