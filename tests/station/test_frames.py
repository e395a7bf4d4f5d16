"""The decoder on frames that look photographed: tilted, soft, noisy, unevenly lit codes."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from phongdich.station import frames
from phongdich.station.command import image_frames
from tests.station.images import HEIGHT, WIDTH, photograph, write_folder

PASS = "PD1:" + "Q2hvdCBjdWEgbmdvIEJhIERpbmg" * 12  # about a pass's length
DCC = "HC1:" + "NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH" * 16
CCCD = "001089012345|123456789|Nguyễn Văn An|04031989|Nam|Số 1 Phúc Xá, Ba Đình, Hà Nội|15082021"


@pytest.mark.parametrize("seed", range(6))
def test_one_code_in_a_photographed_frame(seed: int) -> None:
    frame = photograph([PASS], seed)
    assert frame.shape == (HEIGHT, WIDTH, 3)
    assert frames.decode(frame) == [PASS]


@pytest.mark.parametrize("seed", range(4))
def test_two_codes_in_one_frame(seed: int) -> None:
    assert sorted(frames.decode(photograph([DCC, CCCD], 100 + seed))) == sorted([DCC, CCCD])


def test_a_frame_without_a_code() -> None:
    assert frames.decode(photograph([], 7)) == []


def test_grey_and_colour_frames_decode_alike() -> None:
    frame = photograph([PASS], 11)
    assert frames.decode(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)) == [PASS]
    assert frames.decode(cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA)) == [PASS]


def test_a_folder_of_jpeg_frames(tmp_path: Path) -> None:
    write_folder(
        tmp_path,
        [
            ("001.jpg", [PASS]),
            ("002.jpg", []),
            ("003.jpg", [DCC, CCCD]),
            ("004.jpg", [CCCD]),
            ("005.jpg", []),
        ],
    )
    (tmp_path / "README").write_text("not a frame")
    (tmp_path / "006.png").write_bytes(b"broken")
    found = {frame.label: sorted(frames.decode(frame.image)) for frame in image_frames(tmp_path)}
    assert found == {
        "001.jpg": [PASS],
        "002.jpg": [],
        "003.jpg": sorted([DCC, CCCD]),
        "004.jpg": [CCCD],
        "005.jpg": [],
    }
