"""A live server for the station to talk to over HTTP, as it does at a real checkpoint.

The app runs under uvicorn in a thread, on a free port, on its own migrated database (SQLite or
PostgreSQL) holding a Ba Đình gateway checkpoint with one station. Rows the tests add are
committed, so the database is the module's own and never the shared test database.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select

from phongdich.app import create_app
from phongdich.auth.roles import Role
from phongdich.checkpoints import registry
from phongdich.checkpoints.models import Checkpoint, Passage
from phongdich.config import Settings
from phongdich.credentials.keys import KeyRing, keyring
from phongdich.db import Database
from tests.conftest import _load_reference_tree, migrated_database
from tests.factories import BA_DINH, make_user


@dataclass(frozen=True)
class Live:
    url: str
    database: Database
    settings: Settings
    keys: KeyRing
    token: str
    checkpoint_code: str

    def passages(self) -> list[Passage]:
        """What the server holds for this checkpoint."""
        with self.database.transaction() as session:
            checkpoint = session.scalar(
                select(Checkpoint).where(Checkpoint.code == self.checkpoint_code)
            )
            assert checkpoint is not None
            rows = list(
                session.scalars(select(Passage).where(Passage.checkpoint_id == checkpoint.id))
            )
            session.expunge_all()
            return rows


def serve(app: object) -> tuple[str, uvicorn.Server, threading.Thread, socket.socket]:
    """An ASGI app under uvicorn on a free 127.0.0.1 port, started before this returns."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, ws="none", lifespan="on")  # type: ignore[arg-type]
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the server did not start")
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread, listener


def stop(server: uvicorn.Server, thread: threading.Thread, listener: socket.socket) -> None:
    server.should_exit = True
    thread.join(timeout=10)
    listener.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    folder: Path = tmp_path_factory.mktemp("live")
    with migrated_database(request.param, folder) as database:
        _load_reference_tree(database)
        settings = Settings(data_dir=folder, database_url=database.url)
        keys = keyring(settings)
        keys.current()  # the signing key exists before the station fetches the trust list
        with database.transaction() as session:
            officer = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)[1]
            checkpoint = registry.register_checkpoint(
                session=session,
                actor=officer,
                code="CK-LIVE",
                name="Chốt cửa ngõ Ba Đình",
                unit_code=BA_DINH,
                road="Đường Hoàng Hoa Thám",
                lanes=["general", "driver"],
            )
            token = registry.add_station(session=session, actor=officer, code=checkpoint.code).token
        app = create_app(settings, database, migrate=False, run_worker=False)
        url, server, thread, listener = serve(app)
        try:
            yield Live(url, database, settings, keys, token, "CK-LIVE")
        finally:
            stop(server, thread, listener)
