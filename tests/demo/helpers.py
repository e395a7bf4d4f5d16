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
