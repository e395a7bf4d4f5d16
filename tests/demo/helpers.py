"""What the demo tests share: a built demo city and the type of their snapshots."""

from __future__ import annotations

from dataclasses import dataclass

from phongdich.db import Database
from phongdich.demo.city import DemoResult, build_demo

Snapshot = list[tuple[object, ...]]


@dataclass(frozen=True)
class Built:
    database: Database
    result: DemoResult


def build(database: Database, *, people: int, seed: int) -> Built:
    return Built(database, build_demo(database, people=people, seed=seed))


from collections.abc import Iterator  # noqa: E402  (the helpers below)
from contextlib import contextmanager  # noqa: E402

from sqlalchemy.orm import Session  # noqa: E402


class _Undo(Exception):
    """Raised to leave a transaction whose changes a test does not keep."""


@contextmanager
def rolled_back(database: Database) -> Iterator[Session]:
    """A transaction on a built demo that is always rolled back, so the module's other tests
    see the demo as it was built."""
    try:
        with database.transaction() as session:
            yield session
            raise _Undo
    except _Undo:
        pass
