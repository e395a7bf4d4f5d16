"""The `phongdich` command on a throw-away SQLite file per test."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from phongdich import cli
from phongdich.config import get_settings
from phongdich.db import Database
from phongdich.persons.importer import COLUMNS
from tests.factories import PHUC_XA, REFERENCE_TREE, TRUC_BACH, cccd

runner = CliRunner()


@pytest.fixture
def db_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("PHONGDICH_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()
    root.handlers[:] = handlers  # `worker` configures logging on the real root logger
    root.setLevel(level)


def run(*args: str, input: str | None = None) -> Result:
    return runner.invoke(cli.app, list(args), input=input)


def one_line_error(result: Result) -> str:
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def tree(db_file: Path, tmp_path: Path) -> Path:
    csv = tmp_path / "tree.csv"
    csv.write_text(REFERENCE_TREE, encoding="utf-8")
    result = run("adminunits", "load", "--csv", str(csv))
    assert result.exit_code == 0, result.output
    return csv


def test_help() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in ("serve", "worker", "db", "adminunits", "persons", "users", "audit", "demo"):
        assert command in result.stdout
    assert run("persons", "import", "--help").exit_code == 0
    assert "--password-stdin" in run("users", "create", "--help").stdout


def test_no_command_shows_help_and_an_unknown_one_fails() -> None:
    bare = run()
    assert bare.exit_code == 2
    assert "Usage" in bare.output
    unknown = run("fly")
    assert unknown.exit_code == 2
    assert "No such command 'fly'" in unknown.stderr


def _migrations_head() -> str:
    from alembic.script import ScriptDirectory

    from phongdich.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def test_db_upgrade_and_current(db_file: Path) -> None:
    empty = run("db", "current")
    assert (empty.exit_code, empty.stdout.strip()) == (0, "empty database")
    upgraded = run("db", "upgrade")
    head = _migrations_head()
    assert (upgraded.exit_code, upgraded.stdout.strip()) == (0, f"schema at {head}")
    assert run("db", "current").stdout.strip() == head
    assert db_file.exists()


def test_bad_database_urls_are_one_line_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    get_settings.cache_clear()
    try:
        monkeypatch.setenv("PHONGDICH_DATABASE_URL", "nonsense://")
        result = run("db", "upgrade")
        assert result.exit_code == 2
        assert "bad database URL" in one_line_error(result)
        monkeypatch.setenv("PHONGDICH_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/x")
        get_settings.cache_clear()
        result = run("db", "upgrade")
        assert result.exit_code == 2
        assert "database unavailable" in one_line_error(result)
        monkeypatch.setenv("PHONGDICH_TIMEZONE", "Mars/Olympus")
        get_settings.cache_clear()
        result = run("db", "current")
        assert result.exit_code == 2
        assert "PHONGDICH_TIMEZONE" in one_line_error(result)
    finally:
        get_settings.cache_clear()


def test_adminunits_load_is_idempotent(tree: Path) -> None:
    again = run("adminunits", "load", "--csv", str(tree))
    assert again.exit_code == 0
    assert "admin units: 0 created, 0 updated, 9 unchanged, 0 rejected" in again.stdout


def test_adminunits_load_reports_bad_rows_and_keeps_good_ones(
    db_file: Path, tmp_path: Path
) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text(
        "code,name,level,parent_code\nA1,Tỉnh A,1,\nA2,Xã B,x,A1\nA3,Xã C,2,ZZ\n", encoding="utf-8"
    )
    result = run("adminunits", "load", "--csv", str(csv))
    assert result.exit_code == 1
    assert "1 created" in result.stdout
    errors = result.stderr.splitlines()
    assert len(errors) == 2
    assert errors[0].startswith("  line 3: level: a whole number from 1 (the top of the tree)")
    assert errors[1] == "  line 4: parent_code: unit A3: parent ZZ is unknown or part of a cycle"
    found = run("adminunits", "find", "tinh a")
    assert found.exit_code == 0
    assert "A1" in found.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--csv", "missing.csv"],
            "error: file: cannot read missing.csv: No such file or directory",
        ),
        (["--builtin", "vn-1975"], "error: tree: unknown built-in tree 'vn-1975'; one of: vn-2021"),
        (["--csv", "a.csv", "--builtin", "vn-2021"], "error: give --csv or --builtin, not both"),
    ],
)
def test_adminunits_load_errors(db_file: Path, args: list[str], message: str) -> None:
    result = run("adminunits", "load", *args)
    assert result.exit_code == 2
    assert one_line_error(result) == message


def test_a_long_error_stays_on_one_line(db_file: Path, tmp_path: Path) -> None:
    csv = tmp_path / ("a-very-long-file-name-" * 6 + "[draft].csv")
    csv.write_text("just,some,[columns]\n", encoding="utf-8")
    result = run("adminunits", "load", "--csv", str(csv))
    assert result.exit_code == 2
    line = one_line_error(result)
    assert line == (
        "error: file: missing columns: code, name, level, parent_code (header: just,some,[columns])"
    )


def test_adminunits_find_nothing(tree: Path) -> None:
    result = run("adminunits", "find", "atlantis")
    assert result.exit_code == 1
    assert one_line_error(result) == "error: no admin unit matches 'atlantis'"
    assert PHUC_XA in run("adminunits", "find", "phuc xa").stdout


def test_persons_import(tree: Path, tmp_path: Path) -> None:
    good = cccd()
    csv = tmp_path / "residents.csv"
    csv.write_text(
        ",".join(COLUMNS)
        + f"\n{good},Nguyễn Văn Dòng,1985,Nam,,{PHUC_XA},,\n"
        + f"{cccd()},Nguyễn Văn Lỗi,1985,Nam,0123,{TRUC_BACH},,\n",
        encoding="utf-8",
    )
    result = run("persons", "import", str(csv))
    assert result.exit_code == 1
    assert "persons: 1 created, 0 updated, 0 unchanged, 1 rejected" in result.stdout
    assert result.stderr.splitlines() == [
        "  line 3: phone: a Vietnamese phone number: 10 digits starting with 0 (or +84)"
    ]
    again = run("persons", "import", str(csv))
    assert "persons: 0 created, 0 updated, 1 unchanged, 1 rejected" in again.stdout
    # The ID number never reaches the screen, only the audit trail's masked form.
    assert good not in result.output + again.output


def test_persons_import_of_a_missing_file(tree: Path) -> None:
    result = run("persons", "import", "nope.csv")
    assert result.exit_code == 2
    assert one_line_error(result) == "error: file: cannot read nope.csv: No such file or directory"


def test_persons_import_of_a_directory_or_binary(tree: Path, tmp_path: Path) -> None:
    assert run("persons", "import", str(tmp_path)).exit_code == 2
    binary = tmp_path / "photo.jpg"
    binary.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    result = run("persons", "import", str(binary))
    assert result.exit_code == 2
    assert "not UTF-8" in one_line_error(result)


def test_users_create_token_and_audit(tree: Path, db_file: Path) -> None:
    created = run(
        "users",
        "create",
        "--username",
        "Phucxa.Lead",
        "--role",
        "commune_officer",
        "--unit",
        PHUC_XA,
        "--password-stdin",
        input="correct horse\n",
    )
    assert created.exit_code == 0, created.output
    assert created.stdout.strip() == f"created user phucxa.lead (commune_officer, unit {PHUC_XA})"
    token = run("users", "token", "phucxa.lead", "--days", "3")
    assert token.exit_code == 0
    value = token.stdout.strip()
    assert value.startswith("pd_")
    database = Database(f"sqlite:///{db_file}")
    try:
        from phongdich.auth.service import actor_for_token

        with database.transaction() as session:
            actor = actor_for_token(session=session, token=value)
            assert (actor.username, actor.unit_code) == ("phucxa.lead", PHUC_XA)
    finally:
        database.dispose()
    listed = run("audit", "list", "--username", "system")
    assert listed.exit_code == 0
    assert "create" in listed.stdout
    assert "user" in listed.stdout


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--role", "commune_officer", "--unit", PHUC_XA], None, "--password-stdin"),
        (["--role", "king", "--password-stdin"], "correct horse\n", "role: unknown role 'king'"),
        (["--role", "commune_officer", "--password-stdin"], "correct horse\n", "must belong"),
        (
            ["--role", "commune_officer", "--unit", "999", "--password-stdin"],
            "long enough\n",
            "unit: no admin unit with code '999'",
        ),
        (["--role", "citizen", "--password-stdin"], "short\n", "password: at least 8"),
        (["--role", "citizen", "--password-stdin"], "", "password: at least 8"),
    ],
)
def test_users_create_errors(tree: Path, args: list[str], stdin: str | None, message: str) -> None:
    result = run("users", "create", "--username", "someone", *args, input=stdin)
    assert result.exit_code == 2
    assert message in one_line_error(result)


def test_users_create_twice_is_a_conflict(tree: Path) -> None:
    args = ["users", "create", "--username", "twice", "--role", "citizen", "--password-stdin"]
    assert run(*args, input="correct horse\n").exit_code == 0
    result = run(*args, input="correct horse\n")
    assert result.exit_code == 2
    assert one_line_error(result) == "error: username 'twice' is taken"


def test_users_token_errors(tree: Path) -> None:
    missing = run("users", "token", "ghost")
    assert missing.exit_code == 2
    assert one_line_error(missing) == "error: user ghost not found"
    assert run("users", "token", "ghost", "--days", "0").exit_code == 2


def test_worker_once_and_dead_letters(db_file: Path) -> None:
    result = run("worker", "--once")
    assert (result.exit_code, result.stdout.strip()) == (0, "0 deliveries processed")
    letters = run("events", "dead-letters")
    assert letters.exit_code == 0
    assert "delivery" in letters.stdout


def test_users_set_password_ends_old_tokens(tree: Path, db_file: Path) -> None:
    args = ["users", "create", "--username", "resetme", "--role", "citizen", "--password-stdin"]
    assert run(*args, input="first password\n").exit_code == 0
    old_token = run("users", "token", "resetme").stdout.strip()
    changed = run("users", "set-password", "resetme", "--password-stdin", input="second one!\n")
    assert changed.exit_code == 0, changed.output
    database = Database(f"sqlite:///{db_file}")
    try:
        from phongdich.auth.service import actor_for_token, authenticate
        from phongdich.errors import Unauthorized

        with database.transaction() as session:
            assert authenticate(session=session, username="resetme", password="second one!")
            with pytest.raises(Unauthorized):
                authenticate(session=session, username="resetme", password="first password")
            with pytest.raises(Unauthorized):
                actor_for_token(session=session, token=old_token)
    finally:
        database.dispose()
    short = run("users", "set-password", "resetme", "--password-stdin", input="short\n")
    assert short.exit_code == 2
    assert one_line_error(short) == "error: password: at least 8 characters"
    ghost = run("users", "set-password", "ghost", "--password-stdin", input="long enough\n")
    assert one_line_error(ghost) == "error: user ghost not found"
