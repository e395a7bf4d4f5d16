"""`phongdich cases open`, `phongdich trace --json` and `phongdich cases daily`, on SQLite and
PostgreSQL databases of their own (the commands commit)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import Result

from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import system_actor
from phongdich.cases import zones
from phongdich.cases.models import Case, ZoneLevel
from phongdich.db import Database
from phongdich.persons.models import Person
from tests.cases.helpers import make_venue, visit
from tests.cli_database import cli_database, db, run
from tests.factories import cccd, make_person

__all__ = ["cli_database", "db"]

SYSTEM = system_actor("tests")


def one_line_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    return lines[0]


# The command line takes no clock: its cases happen now (a reference time typed by hand is
# refused beyond 60 days back).
START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def person(session: Session, name: str) -> tuple[Person, str]:
    number = cccd()
    return make_person(session, document_number=number, full_name=name), number


def outbreak(db: Database) -> dict[str, str]:
    """An F0, an F1 met at the market, and an F2 the F1 met at a café afterwards."""
    with db.transaction() as session:
        market = make_venue(session, SYSTEM, name="Chợ Châu Long")
        cafe = make_venue(session, SYSTEM, name="Cà phê Hòe Nhai")
        f0, f0_number = person(session, "Trần Văn Khoa")
        f1, f1_number = person(session, "Lê Thị Hằng")
        f2, f2_number = person(session, "Phạm Quốc Bảo")
        visit(session, SYSTEM, market, f0, at(-10), at(-9), now=START)
        visit(session, SYSTEM, market, f1, at(-9.5), at(-8), now=START)
        visit(session, SYSTEM, cafe, f1, at(-5), at(-4), now=START)
        visit(session, SYSTEM, cafe, f2, at(-4.75), at(-3), now=START)
        return {
            "f0": f0_number,
            "f1": f1_number,
            "f2": f2_number,
            "market": market.code,
            "cafe": cafe.code,
        }


def test_open_prints_the_case_and_its_contact_counts(db: Database) -> None:
    people = outbreak(db)
    result = run("cases", "open", "--document", people["f0"], "--reference-time", at(0).isoformat())
    assert result.exit_code == 0, result.output
    with db.transaction() as session:
        code = session.scalars(
            select(Case.code)
            .join(Person, Person.id == Case.person_id)
            .where(Person.full_name == "Trần Văn Khoa")
        ).one()
    assert result.stdout.strip() == f"case {code} opened (community); F1 1, F2 1"
    again = run("cases", "open", "--document", people["f0"], "--reference-time", at(0).isoformat())
    assert again.exit_code == 0
    assert again.stdout.strip() == f"case {code} was already open (community); F1 1, F2 1"


def test_trace_json_has_the_published_shape(db: Database) -> None:
    people = outbreak(db)
    opened = run("cases", "open", "--document", people["f0"], "--reference-time", at(0).isoformat())
    assert opened.exit_code == 0, opened.output
    result = run("trace", "--document", people["f0"], "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"case", "policy", "contacts"}
    assert data["case"]["document_number"] == people["f0"]
    assert data["policy"]["version"] == 1
    assert data["policy"]["window_before_hours"] == 48
    for contact in data["contacts"]:
        assert set(contact) == {"document_number", "full_name", "degree", "exposures"}
        for exposure in contact["exposures"]:
            assert set(exposure) == {"via", "venue_code", "start", "end", "overlap_minutes"}
    found = {
        c["document_number"]: (
            c["full_name"],
            c["degree"],
            [(e["via"], e["venue_code"], e["overlap_minutes"]) for e in c["exposures"]],
        )
        for c in data["contacts"]
    }
    assert found == {
        people["f1"]: ("Lê Thị Hằng", 1, [("venue", people["market"], 30)]),
        people["f2"]: ("Phạm Quốc Bảo", 2, [("venue", people["cafe"], 45)]),
    }
    (f1,) = [c for c in data["contacts"] if c["degree"] == 1]
    (exposure,) = f1["exposures"]
    assert datetime.fromisoformat(exposure["start"]) == at(-9.5)
    assert datetime.fromisoformat(exposure["end"]) == at(-9)
    # Tracing again adds nothing: the same list.
    assert json.loads(run("trace", "--document", people["f0"], "--json").stdout) == data
    text = run("trace", "--document", people["f0"])
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert lines[0].endswith("(policy 1): 2 contacts, 0 new")
    assert lines[1:] == [
        f"  F1 Lê Thị Hằng — {people['market']}",
        f"  F2 Phạm Quốc Bảo — {people['cafe']}",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--document", "12AB"], "error: document"),
        (["--document", "{f0}", "--reference-time", "2021-09-10T09:00:00"], "reference_time"),
        (["--document", "{f0}", "--reference-time", "10/09/2021"], "reference_time"),
        (["--document", "{f0}", "--severity", "grave"], "severity"),
        (["--document", "{f0}", "--source", "abroad"], "source"),
    ],
)
def test_open_rejects_bad_input_in_one_line(db: Database, args: list[str], message: str) -> None:
    with db.transaction() as session:
        _, number = person(session, "Đỗ Văn Tùng")
    args = [a.format(f0=number) for a in args]
    if "--reference-time" not in args:
        args += ["--reference-time", at(0).isoformat()]
    line = one_line_error(run("cases", "open", *args))
    assert message in line
    with db.transaction() as session:
        found = session.scalar(
            select(Case.id)
            .join(Person, Person.id == Case.person_id)
            .where(Person.full_name == "Đỗ Văn Tùng")
        )
    assert found is None


def test_unknown_people_and_people_without_a_case(db: Database) -> None:
    unknown = cccd()
    line = one_line_error(
        run("cases", "open", "--document", unknown, "--reference-time", at(0).isoformat())
    )
    assert "not found" in line
    assert unknown not in line
    assert run("trace", "--document", unknown, "--json").exit_code != 0
    with db.transaction() as session:
        _, number = person(session, "Hồ Thị Vân")
    line = one_line_error(run("trace", "--document", number, "--json"))
    assert "case of this person not found" in line
    assert one_line_error(run("trace", "--document", "x1")).startswith("error: document")


def test_daily_computes_the_zone_levels(db: Database) -> None:
    today = zones.today()
    result = run("cases", "daily", "--day", today.isoformat())
    assert result.exit_code == 0, result.output
    line = result.stdout.strip()
    assert line.split(" ", 1)[1].startswith("quarantine orders released; zone levels for")
    with db.transaction() as session:
        rows = session.scalars(select(ZoneLevel).where(ZoneLevel.day == today)).all()
        total = len(session.scalars(select(AdminUnit.code)).all())
    assert len({r.unit_code for r in rows}) == total
    counts = [sum(1 for r in rows if r.level == n) for n in (1, 2, 3, 4)]
    assert line.endswith(
        f"zone levels for {today.isoformat()}: "
        + ", ".join(f"level {n}: {c}" for n, c in zip((1, 2, 3, 4), counts, strict=True))
    )
    yesterday = today - timedelta(days=1)
    again = run("cases", "daily", "--day", yesterday.isoformat())
    assert again.exit_code == 0
    # What the first run released is closed: nothing is left to release.
    assert again.stdout.startswith(f"0 quarantine orders released; zone levels for {yesterday}")
    assert "day" in one_line_error(run("cases", "daily", "--day", "13/09/2021"))
