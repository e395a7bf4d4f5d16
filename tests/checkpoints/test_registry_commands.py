"""`phongdich checkpoints add | station-token | rules publish | rules show`, on SQLite and
PostgreSQL databases of their own (the commands commit)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import Result

from phongdich.app import create_app
from phongdich.checkpoints import entry_rules
from phongdich.config import Settings
from phongdich.db import Database
from tests.cli_database import cli_database, db, run
from tests.factories import BA_DINH

__all__ = ["cli_database", "db"]


def one_line_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_a_checkpoint_and_a_station_token_from_the_console(db: Database, tmp_path: Path) -> None:
    code = f"CK-{uuid.uuid4().hex[:6]}".upper()
    added = run(
        "checkpoints", "add", code, "--name", "Chốt QL32", "--unit", BA_DINH,
        "--road", "QL32", "--lanes", "general,driver",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert f"checkpoint {code} added (general, driver)" in added.stdout
    again = run("checkpoints", "add", code, "--name", "x", "--unit", BA_DINH)
    assert "already exists" in one_line_error(again)
    issued = run(
        "checkpoints", "station-token", code, "--label", "Làn 1", "--server", "http://gw:8000"
    )
    assert issued.exit_code == 0, issued.output
    first, command = issued.stdout.splitlines()
    token = first.removeprefix("token: ")
    assert command == f"phongdich station --server http://gw:8000 --token {token}"
    # The token works against the server on the same database.
    settings = Settings(data_dir=tmp_path, database_url="sqlite://")
    app = create_app(settings, db, migrate=False, run_worker=False)
    with TestClient(app) as client:
        bundle = client.get("/api/station/bundle", headers={"Authorization": f"Bearer {token}"})
    assert bundle.status_code == 200, bundle.text
    missing = run("checkpoints", "station-token", "NO-SUCH-CK")
    assert "not found" in one_line_error(missing)


def test_rules_are_published_from_a_file_and_shown(db: Database, tmp_path: Path) -> None:
    file = tmp_path / "rules.json"
    rules = [{"verdict": "pass", "reason": "Everyone passes"}]
    file.write_text(json.dumps(rules), encoding="utf-8")
    scope = f"unit:{BA_DINH}"
    published = run("checkpoints", "rules", "publish", "--scope", scope, str(file))
    assert published.exit_code == 0, published.output
    assert published.stdout.startswith(f"{scope} v")
    shown = run("checkpoints", "rules", "show", "--scope", scope)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["rules"] == rules
    default = json.loads(run("checkpoints", "rules", "show").stdout)
    assert default["scope"] == "default"
    assert (default["version"], default["rules"]) == (0, entry_rules.DEFAULT_RULES)

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"verdict": "pass", "reason": "x", "if": {"lane": "x"}}]))
    assert "rules.0" in one_line_error(run("checkpoints", "rules", "publish", str(bad)))
    bad.write_text("[{")
    assert "file: not valid JSON" in one_line_error(
        run("checkpoints", "rules", "publish", str(bad))
    )
    assert "file:" in one_line_error(
        run("checkpoints", "rules", "publish", str(tmp_path / "missing.json"))
    )
    assert "scope" in one_line_error(run("checkpoints", "rules", "show", "--scope", "district:1"))
