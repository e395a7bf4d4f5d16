from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from phongdich.auth.models import AuditEntry
from phongdich.db import Base, Database, alembic_config, current_revision, upgrade
from phongdich.domains import load_models
from phongdich.persons.models import Person


def test_sqlite_files_use_wal_and_enforce_foreign_keys(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'nested' / 'app.db'}")
    try:
        with database.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10000
        assert (tmp_path / "nested" / "app.db").exists()
        database.ping()
        assert database.dialect == "sqlite"
    finally:
        database.dispose()


def test_migrations_are_at_head(database: Database) -> None:
    head = ScriptDirectory.from_config(alembic_config(database.url)).get_current_head()
    assert head is not None
    assert current_revision(database) == head
    upgrade(database)  # a second upgrade is a no-op
    assert current_revision(database) == head


def test_the_migrations_match_the_models(database: Database) -> None:
    load_models()
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_foreign_keys_hold(session: Session) -> None:
    person = Person(full_name="A B", name_folded="a b", permanent_unit_code="nope")
    session.add(person)
    with pytest.raises(IntegrityError):
        session.flush()


def test_aware_utc_datetimes_round_trip(session: Session) -> None:
    hanoi = timezone(timedelta(hours=7))
    written = datetime(2021, 7, 19, 8, 30, 15, 123456, tzinfo=hanoi)
    entry = AuditEntry(username="t", role="r", action="a", object_type="o", at=written)
    session.add(entry)
    session.flush()
    session.expire_all()
    read = session.scalars(select(AuditEntry.at).where(AuditEntry.id == entry.id)).one()
    assert read == written
    assert read.tzinfo is UTC
    assert read == datetime(2021, 7, 19, 1, 30, 15, 123456, tzinfo=UTC)
    # Comparisons in SQL use the same UTC instant.
    found = session.scalars(
        select(AuditEntry.id).where(
            AuditEntry.id == entry.id,
            AuditEntry.at >= datetime(2021, 7, 19, 1, 30, tzinfo=UTC),
            AuditEntry.at < datetime(2021, 7, 19, 8, 30, tzinfo=hanoi) + timedelta(seconds=16),
        )
    ).all()
    assert found == [entry.id]


def test_naive_datetimes_are_refused(session: Session) -> None:
    session.add(
        AuditEntry(
            username="t",
            role="r",
            action="a",
            object_type="o",
            at=datetime(2021, 7, 19, 8, 30),  # noqa: DTZ001  (the mistake under test)
        )
    )
    with pytest.raises(StatementError, match="naive datetime"):
        session.flush()


def test_transaction_commits_or_rolls_back(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'tx.db'}")
    try:
        upgrade(database)
        with database.transaction() as session:
            session.add(AuditEntry(username="kept", role="r", action="a", object_type="o"))

        def fail_after_writing() -> None:
            with database.transaction() as session:
                session.add(AuditEntry(username="lost", role="r", action="a", object_type="o"))
                session.flush()
                raise RuntimeError

        with pytest.raises(RuntimeError):
            fail_after_writing()
        with database.transaction() as session:
            assert session.scalars(select(AuditEntry.username)).all() == ["kept"]
    finally:
        database.dispose()
