"""`phongdich testing pool-size` and `phongdich testing import-results` from the console."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from phongdich import cli
from phongdich.config import get_settings
from phongdich.db import Database
from phongdich.testing.models import RetestOrder, TubeResult
from tests.factories import REFERENCE_TREE, make_person
from tests.testing.factories import fill_tube, make_campaign, make_lab, ship

runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(cli.app, list(args))


def test_pool_size_as_json() -> None:
    result = run("testing", "pool-size", "--prevalence", "0.02", "--json")
    assert result.exit_code == 0, result.output
    advice = json.loads(result.stdout)
    assert set(advice) == {
        "prevalence",
        "max_pool_size",
        "pool_size",
        "tests_per_person",
        "capacity_gain",
        "pool_positive_probability",
    }
    assert advice["prevalence"] == 0.02
    assert advice["max_pool_size"] == 100
    assert advice["pool_size"] == 8
    assert advice["tests_per_person"] == pytest.approx(0.2742, abs=1e-4)
    assert advice["capacity_gain"] == pytest.approx(3.6465, abs=1e-3)
    assert advice["pool_positive_probability"] == pytest.approx(0.1492, abs=1e-4)


def test_pool_size_as_a_table_marks_the_best_size() -> None:
    result = run("testing", "pool-size", "--prevalence", "0.05", "--max", "6")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("prevalence 0.05: pools of 5 (at most 6), 0.4262 tests per person")
    marked = [line for line in lines if "←" in line]
    assert len(marked) == 1
    assert marked[0].split()[0] == "k=5"
    # Single tubes are always listed for comparison, and nothing above the maximum.
    assert any(line.split()[0] == "k=1" for line in lines[1:])
    assert not any(line.split()[0] == "k=7" for line in lines[1:])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prevalence", "-0.1"], "error: prevalence: a fraction from 0 to 1"),
        (["--prevalence", "1.5"], "error: prevalence: a fraction from 0 to 1"),
        (["--prevalence", "nan"], "error: prevalence: a fraction from 0 to 1"),
        (["--prevalence", "0.02", "--max", "0"], "error: max: a pool size from 1 to 1000"),
    ],
)
def test_bad_input_exits_with_one_clear_line(args: list[str], message: str) -> None:
    result = run("testing", "pool-size", *args)
    assert result.exit_code != 0
    assert result.stderr.strip().startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.fixture
def db_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("PHONGDICH_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("PHONGDICH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    tree = tmp_path / "tree.csv"
    tree.write_text(REFERENCE_TREE, encoding="utf-8")
    assert run("adminunits", "load", "--csv", str(tree)).exit_code == 0
    yield path
    get_settings.cache_clear()


def stored(db_file: Path) -> tuple[int, int]:
    """(result revisions, retest orders)"""
    database = Database(f"sqlite:///{db_file}")
    try:
        with database.transaction() as session:
            return (
                session.scalar(select(func.count()).select_from(TubeResult)) or 0,
                session.scalar(select(func.count()).select_from(RetestOrder)) or 0,
            )
    finally:
        database.dispose()


def test_import_results_twice(db_file: Path, tmp_path: Path) -> None:
    database = Database(f"sqlite:///{db_file}")
    try:
        with database.transaction() as session:
            campaign, site = make_campaign(session)
            lab = make_lab(session)
            people = [make_person(session) for _ in range(3)]
            pool = fill_tube(session, campaign, site, people[:2])
            single = fill_tube(session, campaign, site, people[2:], kind="single")
            ship(session, lab, [pool, single])
            lab_code = lab.code
    finally:
        database.dispose()
    when = datetime.now(UTC).isoformat()
    csv = tmp_path / "machine.csv"
    csv.write_text(
        "tube_barcode,result,ct_value,method,tested_at\n"
        f"{pool},positive,27.5,pcr,{when}\n"
        f"{single},negative,,pcr,{when}\n"
        f"{single},positive,20,pcr,{when}\n"
        f"NOPE-9,negative,,pcr,{when}\n",
        encoding="utf-8",
    )
    first = run("testing", "import-results", lab_code, str(csv))
    assert first.exit_code == 1
    assert "result rows: 2 created" in first.stdout
    assert "2 rejected" in first.stdout
    assert "line 4: tube_barcode: a different result on line 3" in first.stderr
    assert "line 5: tube_barcode: no tube NOPE-9" in first.stderr
    assert stored(db_file) == (2, 2)
    again = run("testing", "import-results", lab_code, str(csv))
    assert "result rows: 0 created" in again.stdout
    assert "2 unchanged" in again.stdout
    assert stored(db_file) == (2, 2)
    good = tmp_path / "good.csv"
    good.write_text(f"tube_barcode,result,tested_at\n{single},negative,{when}\n", encoding="utf-8")
    clean = run("testing", "import-results", lab_code, str(good))
    assert clean.exit_code == 0, clean.output
    assert "0 created" in clean.stdout
    assert "1 unchanged" in clean.stdout


def test_import_results_for_an_unknown_lab(db_file: Path, tmp_path: Path) -> None:
    csv = tmp_path / "machine.csv"
    csv.write_text("tube_barcode,result,tested_at\n", encoding="utf-8")
    result = run("testing", "import-results", "NOLAB", str(csv))
    assert result.exit_code != 0
    assert result.stderr.strip() == "error: lab NOLAB not found"
