"""`phongdich venues import` on a throw-away SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from phongdich import cli
from phongdich.config import get_settings
from phongdich.db import Database
from phongdich.venues.importer import COLUMNS
from phongdich.venues.models import Venue
from tests.factories import PHUC_XA, REFERENCE_TREE, TRUC_BACH

runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(cli.app, list(args))


@pytest.fixture
def db_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("PHONGDICH_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("PHONGDICH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    tree = tmp_path / "tree.csv"
    tree.write_text(REFERENCE_TREE, encoding="utf-8")
    loaded = run("adminunits", "load", "--csv", str(tree))
    assert loaded.exit_code == 0, loaded.output
    yield path
    get_settings.cache_clear()


def stored(db_file: Path) -> dict[str, tuple[str, str, int]]:
    database = Database(f"sqlite:///{db_file}")
    try:
        with database.transaction() as session:
            return {
                v.code: (v.name, v.status, v.default_visit_minutes)
                for v in session.scalars(select(Venue))
            }
    finally:
        database.dispose()


def test_import_reports_bad_rows_and_keeps_good_ones(db_file: Path, tmp_path: Path) -> None:
    csv = tmp_path / "venues.csv"
    csv.write_text(
        ",".join(COLUMNS)
        + f"\nHX-01,Chợ Hòe Nhai,market,{PHUC_XA},Số 2 Hòe Nhai,"
        + f"\nTB-01,Cà phê Trúc Bạch,cafe,{TRUC_BACH},,45"
        + f"\nHX-02,Quán phút chữ,cafe,{PHUC_XA},,mười"
        + "\nHX-03,Quán không xã,cafe,99999,,\n",
        encoding="utf-8",
    )
    result = run("venues", "import", str(csv))
    assert result.exit_code == 1
    assert "venues: 2 created, 0 updated, 0 unchanged, 2 rejected" in result.stdout
    assert result.stderr.splitlines() == [
        "  line 4: default_visit_minutes: a whole number",
        "  line 5: unit_code: no admin unit with code 99999",
    ]
    assert stored(db_file) == {
        "HX-01": ("Chợ Hòe Nhai", "approved", 60),
        "TB-01": ("Cà phê Trúc Bạch", "approved", 45),
    }
    again = run("venues", "import", str(csv))
    assert again.exit_code == 1
    assert "venues: 0 created, 0 updated, 2 unchanged, 2 rejected" in again.stdout


def test_a_clean_file_exits_zero(db_file: Path, tmp_path: Path) -> None:
    csv = tmp_path / "venues.csv"
    csv.write_text(",".join(COLUMNS) + f"\nHX-09,Chợ Hòe Nhai,market,{PHUC_XA},,\n")
    result = run("venues", "import", str(csv))
    assert (result.exit_code, result.stderr) == (0, "")
    assert "venues: 1 created" in result.stdout


def test_a_missing_file_is_a_one_line_error(db_file: Path) -> None:
    result = run("venues", "import", "nope.csv")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: file: cannot read nope.csv: No such file or directory"
