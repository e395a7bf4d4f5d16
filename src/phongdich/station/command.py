"""`phongdich station`: run the offline checkpoint station on this computer.

One process holds one `Station`: the input loop (webcam, video file or folder of images) scans
every frame, the officer's page (USB scanner, forms) runs beside it on 127.0.0.1, and two
background threads send the queue and refresh the bundle. Only the network-free work is on the
lane's path: a verdict never waits for the server.
"""

from __future__ import annotations

import logging
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from phongdich.station import frames
from phongdich.station.runtime import REFRESH_SECONDS, Shown, Station, SyncResult

log = logging.getLogger("phongdich.station")

SYNC_SECONDS = 5.0
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
CAMERA_WIDTH, CAMERA_HEIGHT = 1280, 720
CAMERA_FAILURES = 50  # consecutive empty reads before the camera counts as gone


def fail(message: str, code: int) -> typer.Exit:
    """One line on stderr and the exit code (the CLI's own helper, imported late: cli.py
    imports this module)."""
    from phongdich import cli

    return cli.fail(message, code)


@dataclass(frozen=True)
class Frame:
    label: str  # the file, or file#frame, or camera#frame: where the officer finds it again
    image: Any


def image_frames(folder: Path) -> Iterator[Frame]:
    """The folder's images in name order; an unreadable file is skipped with a warning."""
    import cv2

    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        image = cv2.imread(str(path))
        if image is None:
            typer.echo(f"warning: {path.name} is not a readable image", err=True)
            continue
        yield Frame(path.name, image)


def capture_frames(capture: Any, name: str, *, live: bool) -> Iterator[Frame]:
    """Frames from an opened `cv2.VideoCapture` until the file ends (or the camera is gone)."""
    index = 0
    failures = 0
    while True:
        ok, image = capture.read()
        if not ok or image is None:
            if not live:
                return
            failures += 1
            if failures >= CAMERA_FAILURES:
                raise fail(f"the camera {name} stopped sending frames", 1)
            time.sleep(0.05)
            continue
        failures = 0
        yield Frame(f"{name}#{index}", image)
        index += 1


def open_capture(source: int | str, *, camera: bool) -> Any:
    import cv2

    capture = cv2.VideoCapture(source)
    if camera:
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, CAMERA_WIDTH)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, CAMERA_HEIGHT)
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not a queue of old ones
    if not capture.isOpened():
        capture.release()
        what = f"camera {source}" if camera else f"video {source}"
        raise fail(f"cannot open the {what}", 1)
    return capture


def scan_frame(station: Station, frame: Frame) -> list[tuple[str, Shown]]:
    """Every new verdict in one frame (a code still in view from earlier frames gives none)."""
    shown = []
    for text in frames.decode(frame.image):
        verdict = station.scan(text)
        if verdict is not None:
            shown.append((frame.label, verdict))
    return shown


def line(label: str, shown: Shown) -> str:
    parts = [label, shown.verdict, shown.reason]
    if shown.condition:
        parts.append(f"condition: {shown.condition}")
    if shown.flagged:
        parts.append(f"flag: {shown.flagged}")
    if shown.traveller:
        parts.append(f"traveller: {shown.traveller}")
    return "\t".join(parts)


def sync_line(result: SyncResult, station: Station) -> str:
    counts = station.queue.counts()
    state = "offline" if result.offline else "online"
    return (
        f"sync: {state} sent={result.sent} stored={result.stored} already={result.already} "
        f"rejected={result.rejected} rapid_tests={result.rapid_tests} "
        f"queued={counts.queued} sent_total={counts.sent}"
    )


class Background:
    """The sync and refresh loops; `stop` ends them between two batches."""

    def __init__(self, station: Station, batch: int) -> None:
        self.station = station
        self.batch = batch
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._sync, name="station-sync", daemon=True),
            threading.Thread(target=self._refresh, name="station-refresh", daemon=True),
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def _sync(self) -> None:
        while not self.stopping.wait(SYNC_SECONDS):
            try:
                result = self.station.sync_once(self.batch)
                if result.sent or result.rapid_tests:
                    log.info(sync_line(result, self.station))
            except Exception:  # the loop must outlive one bad answer
                log.exception("sync failed")

    def _refresh(self) -> None:
        while not self.stopping.wait(REFRESH_SECONDS):
            try:
                self.station.refresh()
            except Exception:
                log.exception("bundle refresh failed")


def start_page(station: Station, port: int) -> Any:
    """The officer's page on 127.0.0.1 only: it needs no login because it is not reachable."""
    import uvicorn

    from phongdich.station.page import create_page

    server = uvicorn.Server(
        uvicorn.Config(
            create_page(station),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            ws="none",
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, name="station-page", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise fail(f"the officer's page could not start on 127.0.0.1:{port}", 1)
        time.sleep(0.05)
    return server


def station(
    server: str = typer.Option(..., help="The phongdich server, e.g. https://phongdich.example"),
    token: str = typer.Option(
        ...,
        envvar="PHONGDICH_STATION_TOKEN",
        help="The station's device token (or set PHONGDICH_STATION_TOKEN)",
        show_default=False,
    ),
    camera: int | None = typer.Option(None, help="Read the webcam with this OpenCV index"),
    images: Path | None = typer.Option(None, help="Read a folder of images (in name order)"),
    video: Path | None = typer.Option(None, help="Read a video file"),
    data_dir: Path = typer.Option(
        Path("station-data"), help="The station's local queue and bundle copy"
    ),
    port: int = typer.Option(8765, help="Port of the officer's page on 127.0.0.1"),
    officer: str = typer.Option("", help="The officer on duty, recorded on every passage"),
    once: bool = typer.Option(
        False, "--once", help="Process the images or video once, sync, print the verdicts, exit"
    ),
    batch: int = typer.Option(1000, min=1, max=1000, help="Passages per sync request"),
) -> None:
    """Run the offline checkpoint station."""
    sources = [s for s in (camera is not None, images is not None, video is not None) if s]
    if len(sources) > 1:
        raise fail("give one of --camera, --images, --video", 2)
    if once and camera is not None:
        raise fail("--once reads --images or --video, not a camera", 2)
    if images is not None and not images.is_dir():
        raise fail(f"no folder {images}", 1)
    if video is not None and not video.is_file():
        raise fail(f"no video file {video}", 1)

    capture = None  # opened first: a missing camera is said before anything starts
    if video is not None:
        capture = open_capture(str(video), camera=False)
    elif camera is not None:
        capture = open_capture(camera, camera=True)
    try:
        try:
            running = Station.open(server, token, data_dir, officer=officer[:64])
        except (OSError, sqlite3.Error) as exc:
            raise fail(f"cannot use the data folder {data_dir}: {exc}", 1) from None
        except ValueError as exc:
            raise fail(f"--server: {exc}", 2) from None
        try:
            _run(running, _frames(images, video, camera, capture), port, once, batch)
        finally:
            running.queue.close()
    finally:
        if capture is not None:
            capture.release()


FIRST_BUNDLE_TRIES = 5
FIRST_BUNDLE_PAUSE = 2.0


def _run(
    running: Station, source: Iterator[Frame] | None, port: int, once: bool, batch: int
) -> None:
    fresh = running.refresh()
    # A first start has nothing to fall back on: a server busy starting up (503) or a link
    # coming up gets a few more tries before the station gives up.
    for _ in range(FIRST_BUNDLE_TRIES):
        if fresh or running.offline is not None or running.last_error.startswith(("401", "403")):
            break
        time.sleep(FIRST_BUNDLE_PAUSE)
        fresh = running.refresh()
    if fresh:
        typer.echo("bundle: fresh copy from the server", err=True)
    elif running.last_error.startswith(("401", "403")):
        raise fail("the server refused this station's token (revoked or mistyped)", 1)
    elif running.offline is None:
        raise fail(
            "the server cannot be reached and this station has no trust list yet: "
            f"connect it once ({running.last_error})",
            1,
        )
    else:
        minutes = round(running.offline.age_seconds() / 60)
        typer.echo(
            f"bundle: server unreachable, using the copy from {minutes} min ago "
            f"({running.last_error})",
            err=True,
        )

    if once:
        shown = _scan_all(running, source or iter(()))
        result = running.sync_once(batch)
        for label, verdict in shown:
            typer.echo(line(label, verdict))
        typer.echo(sync_line(result, running))
        return

    signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop: end as Ctrl+C does
    background = Background(running, batch)
    background.start()
    page = None
    try:
        page = start_page(running, port)
        typer.echo(f"officer's page: http://127.0.0.1:{port}/", err=True)
        if source is None:
            typer.echo(
                "no camera: codes come from the scanner on the page (Ctrl+C stops)", err=True
            )
            while True:
                time.sleep(3600)
        for label, verdict in _scan_iter(running, source):
            typer.echo(line(label, verdict))
        typer.echo("input ended; the page and the sync go on (Ctrl+C stops)", err=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        typer.echo("stopping", err=True)
    finally:
        if page is not None:
            page.should_exit = True
        background.stop()
        result = running.sync_once(batch)
        typer.echo(sync_line(result, running), err=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _frames(
    images: Path | None, video: Path | None, camera: int | None, capture: Any
) -> Iterator[Frame] | None:
    if images is not None:
        return image_frames(images)
    if video is not None:
        return capture_frames(capture, video.name, live=False)
    if camera is not None:
        return capture_frames(capture, f"camera{camera}", live=True)
    return None


def _scan_iter(running: Station, source: Iterator[Frame]) -> Iterator[tuple[str, Shown]]:
    for frame in source:
        yield from scan_frame(running, frame)


def _scan_all(running: Station, source: Iterator[Frame]) -> list[tuple[str, Shown]]:
    return list(_scan_iter(running, source))
