"""Test fixtures: every database test runs on SQLite and, where reachable, PostgreSQL.

The schema comes from the migrations. Each test runs inside a transaction that is rolled back
at the end (routes' and services' commits become savepoints), so tests never see each other.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from phongdich.adminunits import service as units_service
from phongdich.auth import passwords
from phongdich.auth.actor import system_actor
from phongdich.config import Settings
from phongdich.db import Database, upgrade
from phongdich.importing import ImportReport
from tests.factories import REFERENCE_TREE

# What the code writes to the configured data folder (signing keys, the demo's station frames)
# goes to a temporary folder during the tests, never into the checkout.
os.environ.setdefault("PHONGDICH_DATA_DIR", tempfile.mkdtemp(prefix="phongdich-tests-"))

# Production argon2 parameters cost ~50 ms a hash; tests create hundreds of users. The cheap
# parameters still produce and verify real argon2id hashes.
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _postgres_server_url() -> str:
    return os.environ.get("PHONGDICH_TEST_POSTGRES_URL", DEFAULT_POSTGRES)


def _postgres_required() -> bool:
    return os.environ.get("PHONGDICH_TEST_REQUIRE_POSTGRES") == "1"


def _create_postgres_database() -> tuple[str, str] | str:
    """A fresh database for this run; returns (url, name) or the reason it cannot be had."""
    server = _postgres_server_url()
    name = f"phongdich_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        admin = create_engine(
            server, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:  # any failure to reach the server means: no PostgreSQL here
        where = make_url(server).render_as_string()
        return f"PostgreSQL not reachable at {where}: {type(exc).__name__}"
    return make_url(server).set(database=name).render_as_string(hide_password=False), name


def _drop_postgres_database(name: str) -> None:
    admin = create_engine(_postgres_server_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _load_reference_tree(database: Database) -> None:
    with database.transaction() as session:
        report = ImportReport()
        rows = units_service.parse_csv(REFERENCE_TREE, report)
        assert not report.errors
        units_service.load_units(session=session, actor=system_actor("tests"), units=rows)


@contextmanager
def migrated_database(backend: str, folder: Path) -> Iterator[Database]:
    """An empty, migrated database on `backend`, removed afterwards.

    PostgreSQL gets a fresh database on the test server; without one the test is skipped with
    the reason (or fails, where PHONGDICH_TEST_REQUIRE_POSTGRES=1 says PostgreSQL must be there).
    """
    name: str | None = None
    if backend == "sqlite":
        database = Database(f"sqlite:///{folder / 'test.db'}")
    else:
        created = _create_postgres_database()
        if isinstance(created, str):
            if _postgres_required():
                pytest.fail(created)
            pytest.skip(created)
        url, name = created
        database = Database(url)
    try:
        upgrade(database)
        yield database
    finally:
        database.dispose()
        if name is not None:
            _drop_postgres_database(name)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """A migrated database with a small reference admin tree, one per backend per run."""
    with migrated_database(request.param, tmp_path_factory.mktemp("db")) as db:
        _load_reference_tree(db)
        yield db


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    """A session inside a transaction that is always rolled back."""
    connection = database.engine.connect()
    outer = connection.begin()
    db_session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield db_session
    finally:
        db_session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url="sqlite://")


@pytest.fixture
def client(database: Database, session: Session, settings: Settings) -> Iterator[TestClient]:
    """The app on the test's session: each request is a savepoint, rolled back if it fails."""
    from phongdich.app import create_app
    from phongdich.deps import get_session

    app = create_app(settings, database, migrate=False, run_worker=False)

    def test_session() -> Iterator[Session]:
        with session.begin_nested():
            yield session
        session.expire_all()

    app.dependency_overrides[get_session] = test_session
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]
