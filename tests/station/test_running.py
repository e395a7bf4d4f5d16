"""The station as it runs at the lane: the officer's page beside the camera loop, the queue sent
in the background, and a clean stop that sends what is left."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.checkpoints.helpers import pass_text
from tests.factories import make_person
from tests.station.helpers import Live, live
from tests.station.images import write_folder

__all__ = ["live"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get_state(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/state", timeout=2) as answer:
            state: dict[str, Any] = json.loads(answer.read())
            return state
    except OSError:
        return None


def test_the_running_station_shows_verdicts_and_syncs_in_the_background(
    live: Live, tmp_path: Path
) -> None:
    with live.database.transaction() as session:
        text = pass_text(session, make_person(session), live.keys)
    images = tmp_path / "frames"
    write_folder(images, [("a.jpg", []), ("b.jpg", [text])])
    port = free_port()
    before = len(live.passages())
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from phongdich.cli import main; main()",
            "station",
            "--server",
            live.url,
            "--data-dir",
            str(tmp_path / "station"),
            "--images",
            str(images),
            "--port",
            str(port),
            "--officer",
            "Lê Văn Tâm",
        ],
        env={**os.environ, "PHONGDICH_STATION_TOKEN": live.token},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        state = None
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            state = get_state(port)
            if state and state["status"]["sent"] == 1:
                break
            time.sleep(0.2)
        assert state is not None
        assert state["latest"]["verdict"] == "pass"
        assert state["latest"]["label"] == "ĐƯỢC QUA"
        assert state["status"]["sent"] == 1, state["status"]  # sent by the sync loop
        assert state["status"]["last_sync"] is not None
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
            assert "Cư trú tại địa bàn đến" in answer.read().decode()
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert stdout.startswith("b.jpg\tpass\tResident of the destination unit")
    assert "stopping" in stderr
    assert live.token not in stdout + stderr
    assert len(live.passages()) == before + 1
    assert get_state(port) is None  # the page is gone with the process
