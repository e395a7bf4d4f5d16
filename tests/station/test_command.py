"""`phongdich station` against a live server: a folder of photographed frames and a video."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from phongdich import cli
from phongdich.auth.actor import system_actor
from phongdich.credentials import dcc, passes, trust
from phongdich.credentials.keys import KeyRing
from tests.checkpoints.helpers import pass_text
from tests.factories import make_person
from tests.station.helpers import Live, live
from tests.station.images import write_folder, write_video

__all__ = ["live"]


def run(live: Live, data_dir: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli.app,
        [
            "station",
            "--server",
            live.url,
            "--token",
            live.token,
            "--data-dir",
            str(data_dir),
            *args,
        ],
    )
    return result.exit_code, result.stdout, result.stderr


def verdicts(stdout: str) -> dict[str, tuple[str, str]]:
    """The summary lines: frame -> (verdict, reason)."""
    found = {}
    for line in stdout.splitlines():
        if line.startswith("sync:"):
            continue
        label, verdict, reason, *_ = line.split("\t")
        assert label not in found, line
        found[label] = (verdict, reason)
    return found


def forge(text: str) -> str:
    return text[:-6] + ("A" if text[-6] != "A" else "B") + text[-5:]


def foreign_dcc(live: Live, folder: Path) -> str:
    """A German vaccination certificate whose signer the national administrator imported."""
    ring = KeyRing(folder / "de-keys")
    certificate = ring.init_dcc(country="DE", organisation="Robert Koch-Institut")
    with live.database.transaction() as session:
        trust.import_anchor(
            session=session,
            actor=system_actor("tests"),
            data=certificate.public_bytes(serialization.Encoding.PEM),
        )
    hcert = dcc.vaccination_hcert(
        family_name="Müller",
        given_name="Anna",
        birth_date="1988-05-06",
        dose_number=2,
        total_doses=2,
        vaccinated_on=datetime.now(UTC).date() - timedelta(days=60),
        product="EU/1/20/1528",
        manufacturer="ORG-100030215",
    )
    return dcc.issue(hcert, keys=ring, now=datetime.now(UTC))


def test_a_folder_of_photographed_frames(live: Live, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    with live.database.transaction() as session:
        valid = pass_text(session, make_person(session), live.keys)
        expired = pass_text(
            session, make_person(session), live.keys, now=now - timedelta(days=5), evidence={}
        )
        revoked_person = make_person(session)
        revoked = pass_text(session, revoked_person, live.keys)
        forged = forge(pass_text(session, make_person(session), live.keys))
        red = pass_text(
            session,
            make_person(session),
            live.keys,
            colour="red",
            reasons=("Confirmed case, not yet recovered",),
            evidence={},
        )
        passes.revoke_passes_of(
            session=session,
            actor=system_actor("tests"),
            person_id=revoked_person.id,
            reason="lost phone",
        )
    foreign = foreign_dcc(live, tmp_path)
    images = tmp_path / "frames"
    write_folder(
        images,
        [
            ("01-empty.jpg", []),
            ("02-valid.jpg", [valid]),
            ("03-valid-again.jpg", [valid]),  # still in view: the same passage
            ("04-expired-and-revoked.jpg", [expired, revoked]),
            ("05-forged.jpg", [forged]),
            ("06-empty.jpg", []),
            ("07-red.jpg", [red]),
            ("08-foreign-dcc.jpg", [foreign]),
        ],
    )
    (images / "notes.txt").write_text("not an image")
    code, stdout, stderr = run(
        live, tmp_path / "station", "--once", "--images", str(images), "--officer", "Lê Văn Tâm"
    )
    assert code == 0, stderr
    assert live.token not in stdout + stderr
    lines = stdout.splitlines()
    assert lines[-1].startswith("sync: online sent=6 stored=6 already=0 rejected=0"), lines
    shown = [line.split("\t")[:3] for line in lines[:-1]]
    labels = [s[0] for s in shown]
    assert labels == [
        "02-valid.jpg",
        "04-expired-and-revoked.jpg",
        "04-expired-and-revoked.jpg",
        "05-forged.jpg",
        "07-red.jpg",
        "08-foreign-dcc.jpg",
    ], shown
    by_frame: dict[str, list[tuple[str, str]]] = {}
    for label, verdict, reason in shown:
        by_frame.setdefault(label, []).append((verdict, reason))
    assert by_frame["02-valid.jpg"] == [("pass", "Resident of the destination unit")]
    assert "03-valid-again.jpg" not in by_frame
    assert sorted(by_frame["04-expired-and-revoked.jpg"]) == sorted(
        [
            ("conditional", "No health pass or certificate shown"),
            ("turn_back", "The pass is forged or revoked"),
        ]
    )
    assert by_frame["05-forged.jpg"] == [("turn_back", "The pass is forged or revoked")]
    assert by_frame["07-red.jpg"] == [("turn_back", "Confirmed case or contact in quarantine")]
    assert by_frame["08-foreign-dcc.jpg"] == [("pass", "Fully vaccinated at least 14 days ago")]
    stored = live.passages()
    assert sorted(p.verdict for p in stored) == sorted(
        ["pass", "conditional", "turn_back", "turn_back", "turn_back", "pass"]
    )
    assert {p.credential for p in stored} == {"pass", "eu-dcc"}
    assert all(p.officer == "Lê Văn Tâm" and p.lane == "general" for p in stored)


def test_a_video_with_a_code_held_in_view_gives_one_passage_per_code(
    live: Live, tmp_path: Path
) -> None:
    with live.database.transaction() as session:
        first = pass_text(session, make_person(session), live.keys)
        second = pass_text(
            session,
            make_person(session),
            live.keys,
            colour="red",
            reasons=("Contact in quarantine",),
            evidence={},
        )
    video = tmp_path / "lane.avi"
    write_video(video, [([], 5), ([first], 15), ([], 5), ([second], 12), ([], 3)])
    before = {p.id for p in live.passages()}
    code, stdout, stderr = run(live, tmp_path / "station", "--once", "--video", str(video))
    assert code == 0, stderr
    lines = stdout.splitlines()
    assert len(lines) == 3, lines
    label, verdict, reason, *_ = lines[0].split("\t")
    assert label.startswith("lane.avi#")
    assert 5 <= int(label.split("#")[1]) < 20
    assert (verdict, reason) == ("pass", "Resident of the destination unit")
    label, verdict, reason, *_ = lines[1].split("\t")
    assert 25 <= int(label.split("#")[1]) < 37
    assert (verdict, reason) == ("turn_back", "Confirmed case or contact in quarantine")
    assert lines[2].startswith("sync: online sent=2 stored=2 already=0")
    assert len({p.id for p in live.passages()} - before) == 2


def test_offline_the_station_works_from_its_copy_and_syncs_later(
    live: Live, tmp_path: Path
) -> None:
    data = tmp_path / "station"
    with live.database.transaction() as session:
        text = pass_text(session, make_person(session), live.keys)
    images = tmp_path / "frames"
    write_folder(images, [("a.jpg", [text])])
    assert run(live, data, "--once")[0] == 0  # the first contact: the bundle is cached
    dead = CliRunner().invoke(
        cli.app,
        [
            "station",
            "--server",
            "http://127.0.0.1:9",
            "--token",
            live.token,
            "--data-dir",
            str(data),
            "--once",
            "--images",
            str(images),
        ],
    )
    assert dead.exit_code == 0, dead.stderr
    assert "using the copy from 0 min ago" in dead.stderr
    assert dead.stdout.splitlines()[0].split("\t")[1] == "pass"
    assert dead.stdout.splitlines()[-1].startswith("sync: offline sent=0")
    assert "queued=1" in dead.stdout
    before = len(live.passages())
    code, stdout, _ = run(live, data, "--once")
    assert code == 0
    assert stdout.splitlines()[-1].startswith("sync: online sent=1 stored=1")
    assert len(live.passages()) == before + 1


def test_clear_errors_and_no_token_in_them(
    live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phongdich.station import command

    monkeypatch.setattr(command, "FIRST_BUNDLE_PAUSE", 0.0)  # the retries of a first start
    data = tmp_path / "station"
    code, _, stderr = run(live, data, "--once", "--images", str(tmp_path / "missing"))
    assert code == 1
    assert "no folder" in stderr
    assert "Traceback" not in stderr
    code, _, stderr = run(live, data, "--once", "--video", str(tmp_path / "missing.avi"))
    assert code == 1
    assert "no video file" in stderr
    (tmp_path / "broken.avi").write_bytes(b"not a video")
    code, _, stderr = run(live, data, "--once", "--video", str(tmp_path / "broken.avi"))
    assert code == 1
    assert "cannot open the video" in stderr
    code, _, stderr = run(live, data, "--camera", "97")
    assert code == 1
    assert "cannot open the camera 97" in stderr
    fresh = CliRunner().invoke(
        cli.app,
        [
            "station",
            "--server",
            "http://127.0.0.1:9",
            "--token",
            "secret-token-value",
            "--data-dir",
            str(tmp_path / "new"),
            "--once",
        ],
    )
    assert fresh.exit_code == 1
    assert "no trust list yet" in fresh.stderr
    assert "secret-token-value" not in fresh.stdout + fresh.stderr
    wrong = CliRunner().invoke(
        cli.app,
        [
            "station",
            "--server",
            live.url,
            "--token",
            "secret-token-value",
            "--data-dir",
            str(tmp_path / "new"),
            "--once",
        ],
    )
    assert wrong.exit_code == 1
    assert "refused this station's token" in wrong.stderr
    assert "secret-token-value" not in wrong.stdout + wrong.stderr
