"""`phongdich checkins import` and `phongdich checkins purge` on a throw-away SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from phongdich import cli
from phongdich.checkins.models import CheckinEvent
from phongdich.checkins.paper import COLUMNS
from phongdich.config import Settings, get_settings
from phongdich.db import Database
from phongdich.persons.models import Person
from phongdich.venues.importer import COLUMNS as VENUE_COLUMNS
from tests.factories import PHUC_XA, REFERENCE_TREE, cccd

runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(cli.app, list(args))


@pytest.fixture
def db_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A database with the reference tree and one venue, HX-01 in Phúc Xá."""
    path = tmp_path / "cli.db"
    monkeypatch.setenv("PHONGDICH_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("PHONGDICH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    tree = tmp_path / "tree.csv"
    tree.write_text(REFERENCE_TREE, encoding="utf-8")
    assert run("adminunits", "load", "--csv", str(tree)).exit_code == 0
    venues = tmp_path / "venues.csv"
    venues.write_text(",".join(VENUE_COLUMNS) + f"\nHX-01,Chợ Hòe Nhai,market,{PHUC_XA},,\n")
    assert run("venues", "import", str(venues)).exit_code == 0
    yield path
    get_settings.cache_clear()


def counts(db_file: Path) -> tuple[int, int]:
    """(check-in events, people)"""
    database = Database(f"sqlite:///{db_file}")
    try:
        with database.transaction() as session:
            return (
                session.scalar(select(func.count()).select_from(CheckinEvent)) or 0,
                session.scalar(select(func.count()).select_from(Person)) or 0,
            )
    finally:
        database.dispose()


def local(at: datetime) -> str:
    return at.astimezone(Settings().tz).strftime("%Y-%m-%d %H:%M")


def test_import_a_paper_log_twice(db_file: Path, tmp_path: Path) -> None:
    start = datetime.now(UTC) - timedelta(days=2)
    number = cccd()
    log = tmp_path / "log.csv"
    log.write_text(
        ",".join(COLUMNS)
        + f"\nHX-01,{number},Trần Thị Bình,,{local(start)},{local(start + timedelta(hours=1))}"
        + f"\nHX-01,{cccd()},Lê Văn Sai,,{local(start)},{local(start - timedelta(hours=1))}"
        + f"\nNOPE-1,{cccd()},Lê Văn Sai,,{local(start)},\n",
        encoding="utf-8",
    )
    result = run("checkins", "import", str(log))
    assert result.exit_code == 1
    assert "check-in rows: 1 created, 0 updated, 0 unchanged, 2 rejected" in result.stdout
    assert "people registered from the log: 1" in result.stdout
    assert result.stderr.splitlines() == [
        "  line 3: checkout_at: before the check-in time",
        "  line 4: venue_code: no venue with this code",
    ]
    assert counts(db_file) == (2, 1)
    again = run("checkins", "import", str(log))
    assert "check-in rows: 0 created, 0 updated, 1 unchanged, 2 rejected" in again.stdout
    assert "people registered from the log: 0" in again.stdout
    assert counts(db_file) == (2, 1)
    # The ID number never reaches the screen.
    assert number not in result.output + again.output


def test_purge_with_the_clock_moved_forward(db_file: Path, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    log = tmp_path / "log.csv"
    log.write_text(
        ",".join(COLUMNS)
        + f"\nHX-01,{cccd()},Trần Thị Bình,,{local(now - timedelta(days=10))},"
        + f"\nHX-01,{cccd()},Phạm Văn Cường,,{local(now - timedelta(days=1))},\n",
        encoding="utf-8",
    )
    assert run("checkins", "import", str(log)).exit_code == 0
    nothing = run("checkins", "purge")
    assert nothing.exit_code == 0
    assert nothing.stdout.startswith("0 check-ins older than ")
    later = (now + timedelta(days=25)).replace(tzinfo=None).isoformat()  # no zone: UTC
    purged = run("checkins", "purge", "--now", later)
    assert purged.exit_code == 0, purged.output
    cutoff = (now + timedelta(days=25) - timedelta(days=30)).replace(microsecond=0)
    assert purged.stdout.startswith("1 check-ins older than ")
    assert cutoff.date().isoformat() in purged.stdout
    assert counts(db_file) == (1, 2)
    zulu = (now + timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert run("checkins", "purge", "--now", zulu).stdout.startswith("1 check-ins")
    assert counts(db_file) == (0, 2)


def test_purge_refuses_a_time_it_cannot_read(db_file: Path) -> None:
    result = run("checkins", "purge", "--now", "next tuesday")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: --now: not an ISO 8601 time: 'next tuesday'"
    early = run("checkins", "purge", "--now", "0001-01-05")
    assert early.exit_code == 2
    assert early.stderr.strip() == (
        "error: --now: too early for the retention window: '0001-01-05'"
    )
