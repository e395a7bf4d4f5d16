"""The real app under uvicorn on a demo city, driven by Debian's Chromium through Playwright.

Never a downloaded browser: `/usr/bin/chromium` (the `chromium` package) or the tests skip —
unless PHONGDICH_TEST_REQUIRE_BROWSER=1, when a missing browser is a failure.
Set PHONGDICH_E2E_SCREENSHOTS to a folder to keep a screenshot of every step.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvicorn

from phongdich.app import create_app
from phongdich.config import Settings
from phongdich.db import Database, upgrade
from phongdich.demo.city import build_demo

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser_missing() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} not found: install Debian's chromium package (apt-get install chromium)"
    return None


@dataclass(frozen=True)
class LiveApp:
    url: str
    database: Database
    passwords: dict[str, str]


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The app as `phongdich serve` runs it, on a fresh SQLite demo city, on a free local port."""
    folder = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{folder / 'demo.db'}"
    database = Database(url)
    upgrade(database)
    demo = build_demo(database, people=400, seed=7)
    app = create_app(
        Settings(data_dir=folder, database_url=url), database, migrate=False, run_worker=False
    )
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))  # the kernel's free port: no race with another run
    port = listener.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, ws="none", lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the app did not start")
        time.sleep(0.05)
    try:
        yield LiveApp(
            url=f"http://127.0.0.1:{port}",
            database=database,
            passwords={username: password for username, _, _, password in demo.users},
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
        database.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    missing = _browser_missing()
    if missing is not None:
        if os.environ.get("PHONGDICH_TEST_REQUIRE_BROWSER") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser, live_app: LiveApp) -> Iterator[Page]:
    """A fresh browser profile per test: no cookies, Vietnamese by default."""
    context = browser.new_context(base_url=live_app.url, locale="vi-VN")
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


class Screenshots:
    """Saves a screenshot of each step when PHONGDICH_E2E_SCREENSHOTS names a folder."""

    def __init__(self, folder: Path | None, prefix: str) -> None:
        self.folder = folder
        self.prefix = prefix
        self.count = 0

    def __call__(self, page: Page, step: str) -> None:
        if self.folder is None:
            return
        self.count += 1
        path = self.folder / f"{self.prefix}-{self.count:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Screenshots:
    folder = os.environ.get("PHONGDICH_E2E_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
    return Screenshots(Path(folder) if folder else None, request.node.name)
