"""Building the demo city, against the floor set by the database alone.

`build_demo` loads the 2021 admin tree, generates households and people in Python, bulk-inserts
them and creates one user per role. The baseline inserts the very same pre-generated rows
(households, persons, identity documents) with the same Core bulk inserts into a fresh database
that already holds the tree: what is left between the two is generation, the tree and the users.
Generating the rows in memory, with no database at all, is timed too.
"""

from __future__ import annotations

from sqlalchemy import func, select

from bench.harness import Result, Stopwatch, fresh_database, load_admin_tree, per_second
from phongdich.db import Database
from phongdich.demo import city
from phongdich.demo.city import Rows, build_demo
from phongdich.persons.models import Person

FULL_PEOPLE = 100_000
QUICK_PEOPLE = 10_000
SEED = 1
PROMISE_SECONDS = 60.0  # the 100,000-person demo builds in under a minute on 2 cores


def generate(database: Database, people: int, seed: int = SEED) -> list[Rows]:
    """The rows `build_demo` writes, from the same generator, kept in memory."""
    with database.transaction() as session:
        return list(city.generate(session, people=people, seed=seed))


def _insert(database: Database, chunks: list[Rows]) -> None:
    with database.transaction() as session:
        for rows in chunks:
            city.insert_rows(session, rows)


def _count(database: Database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(Person)) or 0


def run(*, quick: bool = False, database_url: str | None = None) -> Result:
    people = QUICK_PEOPLE if quick else FULL_PEOPLE
    demo, insert_only, generation = Stopwatch(), Stopwatch(), Stopwatch()
    with fresh_database(database_url) as database:
        with demo.running():
            built = build_demo(database, people=people, seed=SEED)
        assert built.people == _count(database) == people
    with fresh_database(database_url) as database:
        load_admin_tree(database)
        with generation.running():
            rows = generate(database, people)
        with insert_only.running():
            _insert(database, rows)
        assert _count(database) == people
    result = Result(f"demo_city: build_demo(people={people:,}, seed={SEED})")
    result.add("people", people, "people")
    result.add("households", built.households, "households")
    result.add(
        "demo_seconds",
        demo.seconds,
        "s",
        baseline="insert_seconds",
        note="tree + generation + inserts + users, on an empty database",
    )
    result.add("people_per_s", per_second(people, demo.seconds), "people/s")
    result.add(
        "insert_seconds",
        insert_only.seconds,
        "s",
        note="baseline: the same rows, pre-generated, bulk-inserted (tree already loaded)",
    )
    result.add(
        "generate_seconds",
        generation.seconds,
        "s",
        baseline="demo_seconds",
        note="generating the rows in memory alone",
    )
    if not quick:
        verdict = "kept" if demo.seconds < PROMISE_SECONDS else "NOT kept"
        result.notes.append(
            f"promise: {FULL_PEOPLE:,} people in under {PROMISE_SECONDS:.0f} s: {verdict} "
            f"({demo.seconds:.1f} s)"
        )
    return result
