"""A station killed in the middle of a sync loses nothing and doubles nothing.

A day offline leaves thousands of passages in the local queue; the station process is killed
(SIGKILL: no clean-up runs) while it sends them in batches, started again, and finishes. The
server then holds every queued passage exactly once.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from phongdich import cli
from phongdich.station.queue import Queue
from tests.factories import BA_DINH
from tests.station.helpers import Live, live

__all__ = ["live"]

QUEUED = 5000
BATCH = 100


def command(live: Live, data: Path) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from phongdich.cli import main; main()",
        "station",
        "--server",
        live.url,
        "--data-dir",
        str(data),
        "--once",
        "--batch",
        str(BATCH),
    ]


def a_day_offline(data: Path) -> set[str]:
    """5,000 passages queued while the network was down, as the station records them."""
    start = datetime.now(UTC) - timedelta(days=1)
    ids = [str(uuid.uuid4()) for _ in range(QUEUED)]
    passages: list[dict[str, object]] = [
        {
            "id": ids[i],
            "at": (start + timedelta(seconds=15 * i)).isoformat(),
            "direction": "in" if i % 3 else "out",
            "lane": "driver" if i % 7 == 0 else "general",
            "vehicle_plate": f"29A-{i:05d}",
            "vehicle_type": "car",
            "origin_unit_code": BA_DINH,
            "destination_unit_code": BA_DINH,
            "verdict": "pass",
            "reasons": ["Resident of the destination unit"],
            "credential": "none",
            "traveller": "NVA 1985",
            "officer": "Lê Văn Tâm",
        }
        for i in range(QUEUED)
    ]
    queue = Queue(data / "station.sqlite3")
    queue.add_many(passages)
    queue.close()
    return set(ids)


def sent_so_far(data: Path) -> int:
    with closing(sqlite3.connect(data / "station.sqlite3", timeout=5)) as db:
        row = db.execute("SELECT COUNT(*) FROM passages WHERE sent_at IS NOT NULL").fetchone()
        return int(row[0])


def test_killed_mid_sync_the_station_resends_and_the_server_keeps_each_once(
    live: Live, tmp_path: Path
) -> None:
    data = tmp_path / "station"
    first = CliRunner().invoke(
        cli.app,
        ["station", "--server", live.url, "--token", live.token, "--data-dir", str(data), "--once"],
    )
    assert first.exit_code == 0, first.stderr  # the bundle is cached: the station may go offline
    before = {p.id for p in live.passages()}
    queued = a_day_offline(data)
    env = {**os.environ, "PHONGDICH_STATION_TOKEN": live.token}
    process = subprocess.Popen(
        command(live, data), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 120
        while sent_so_far(data) < 5 * BATCH:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the sync did not start"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    assert process.returncode == -signal.SIGKILL
    on_server = {str(p.id) for p in live.passages()} - {str(i) for i in before}
    assert 0 < len(on_server) < QUEUED  # killed in the middle
    assert on_server <= queued

    again = subprocess.run(
        command(live, data), env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1].endswith(f"queued=0 sent_total={QUEUED}")
    rows = [p for p in live.passages() if p.id not in before]
    assert len(rows) == QUEUED
    assert {str(p.id) for p in rows} == queued
    counts = Queue(data / "station.sqlite3")
    try:
        assert counts.counts().queued == 0
        assert counts.counts().sent == QUEUED
    finally:
        counts.close()
