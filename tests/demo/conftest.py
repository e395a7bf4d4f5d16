"""The demo builds commit: its tests use migrated databases of their own, one backend each."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from phongdich.db import Database
from tests.conftest import migrated_database


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fresh_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], Database]]:
    """Makes empty migrated databases on one backend; all are removed at the end."""
    with ExitStack() as stack:

        def make() -> Database:
            folder = tmp_path_factory.mktemp("demo")
            return stack.enter_context(migrated_database(request.param, folder))

        yield make
