"""A committed database for command-line tests: the commands open their own connections, so
they cannot share a test's rolled-back transaction. Import the fixtures into a test module and
list them in its `__all__`."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner, Result

from phongdich import cli
from phongdich.config import get_settings
from phongdich.db import Database
from tests.conftest import _load_reference_tree, migrated_database

runner = CliRunner()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def cli_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    with migrated_database(request.param, tmp_path_factory.mktemp("cli")) as db:
        _load_reference_tree(db)
        yield db


@pytest.fixture
def db(cli_database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """The commands' database (tests differ by the records they make, all committed)."""
    url = cli_database.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("PHONGDICH_DATABASE_URL", url)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    get_settings.cache_clear()
    yield cli_database
    get_settings.cache_clear()
    root.handlers[:] = handlers
    root.setLevel(level)


def run(*args: str) -> Result:
    return runner.invoke(cli.app, list(args))
