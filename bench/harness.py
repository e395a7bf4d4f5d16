"""What every benchmark shares: named figures with units, timers, and fresh databases.

Each benchmark measures its own baseline in the same run, on the same machine and database, so
the ratio printed beside a figure stays meaningful when absolute speeds differ between machines.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from phongdich.adminunits import service as units_service
from phongdich.auth.actor import system_actor
from phongdich.db import Database, upgrade
from phongdich.importing import ImportReport


@dataclass(frozen=True)
class Figure:
    """One measured number; `baseline` names the figure it is compared with, if any."""

    key: str
    value: float
    unit: str
    baseline: str | None = None
    note: str = ""


@dataclass
class Result:
    title: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(
        self, key: str, value: float, unit: str, *, baseline: str | None = None, note: str = ""
    ) -> None:
        self.figures.append(Figure(key, value, unit, baseline, note))

    def value(self, key: str) -> float:
        for figure in self.figures:
            if figure.key == key:
                return figure.value
        raise KeyError(key)


class Stopwatch:
    """Seconds spent inside `with stopwatch.running():` blocks, added up."""

    def __init__(self) -> None:
        self.seconds = 0.0

    @contextmanager
    def running(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - start


def per_second(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


@contextmanager
def fresh_database(database_url: str | None) -> Iterator[Database]:
    """A new, migrated database: a temporary SQLite file, or a PostgreSQL database created on
    the server `database_url` points at and dropped afterwards, so runs never see each other."""
    if database_url is None or make_url(database_url).get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix="phongdich-bench-") as folder:
            database = Database(f"sqlite:///{Path(folder) / 'bench.db'}")
            try:
                upgrade(database)
                yield database
            finally:
                database.dispose()
        return
    server = make_url(database_url)
    name = f"phongdich_bench_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        database = Database(server.set(database=name).render_as_string(hide_password=False))
        try:
            upgrade(database)
            yield database
        finally:
            database.dispose()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def load_admin_tree(database: Database, tree: str = "vn-2021") -> None:
    """The built-in admin tree, so people can be placed in real communes."""
    with database.transaction() as session:
        report = ImportReport()
        rows = units_service.parse_csv(units_service.builtin_csv(tree), report)
        units_service.load_units(
            session=session, actor=system_actor("bench"), units=rows, report=report
        )


def describe(database_url: str | None) -> str:
    if database_url is None:
        return "SQLite (temporary file)"
    url = make_url(database_url)
    return f"{url.get_backend_name()} at {url.host or 'localhost'}:{url.port or ''}".rstrip(":")
