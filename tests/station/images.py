"""Frames that look photographed: a QR printed on paper or shown on a phone, held at an angle
in front of a 1280x720 webcam, slightly out of focus, noisy, lit from one side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import segno

WIDTH, HEIGHT = 1280, 720
Image = np.ndarray[Any, Any]


def qr(text: str, scale: int = 6) -> Image:
    """The code as a grey image with its quiet zone (black modules 0, white 255)."""
    code = segno.make_qr(text, error="m")
    matrix = np.array(
        [[0 if dark else 255 for dark in row] for row in code.matrix_iter(scale=scale, border=4)],
        dtype=np.uint8,
    )
    return matrix


def background(rng: np.random.Generator) -> Image:
    """A cluttered scene: a gradient, a few boxes (a car door, a hand), some texture."""
    x = np.linspace(0, 1, WIDTH, dtype=np.float32)
    y = np.linspace(0, 1, HEIGHT, dtype=np.float32)[:, None]
    base = 90 + 60 * x[None, :] + 40 * y
    image = np.dstack([base * 0.9, base, base * 1.1]).clip(0, 255).astype(np.uint8)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, WIDTH - 200)), int(rng.integers(0, HEIGHT - 150))
        colour = tuple(int(c) for c in rng.integers(30, 220, size=3))
        cv2.rectangle(image, (x0, y0), (x0 + int(rng.integers(60, 300)), y0 + 120), colour, -1)
    return image


def paste(
    image: Image,
    code: Image,
    centre: tuple[int, int],
    size: int,
    tilt: float,
    rng: np.random.Generator,
) -> None:
    """Warp the code onto the scene as a tilted sheet: a perspective, not a flat square."""
    h, w = code.shape
    source = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    cx, cy = centre
    half = size / 2
    jitter = rng.uniform(-tilt, tilt, size=(4, 2)) * size
    target = np.array(
        [
            [cx - half, cy - half],
            [cx + half, cy - half],
            [cx + half, cy + half],
            [cx - half, cy + half],
        ],
        dtype=np.float32,
    ) + jitter.astype(np.float32)
    matrix = cv2.getPerspectiveTransform(source, target)
    sheet = cv2.warpPerspective(
        cv2.cvtColor(code, cv2.COLOR_GRAY2BGR),
        matrix,
        (WIDTH, HEIGHT),
        flags=cv2.INTER_LINEAR,
    )
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, (WIDTH, HEIGHT))
    # Paper is not pure white nor ink pure black.
    sheet = (sheet.astype(np.float32) * 0.75 + 35).astype(np.uint8)
    image[mask > 128] = sheet[mask > 128]


def photograph(texts: list[str], seed: int, *, size: int = 380) -> Image:
    """A 1280x720 BGR frame holding these codes side by side (none: just the scene)."""
    rng = np.random.default_rng(seed)
    image = background(rng)
    slots = (
        [(WIDTH // 2, HEIGHT // 2)]
        if len(texts) == 1
        else [(WIDTH // 4 + 40, HEIGHT // 2), (3 * WIDTH // 4 - 40, HEIGHT // 2)]
    )
    for text, centre in zip(texts, slots, strict=False):
        offset = (int(rng.integers(-40, 40)), int(rng.integers(-40, 40)))
        paste(image, qr(text), (centre[0] + offset[0], centre[1] + offset[1]), size, 0.07, rng)
    # Light from the left, a soft focus, sensor noise.
    light = np.linspace(1.1, 0.65, WIDTH, dtype=np.float32)[None, :, None]
    lit: Image = cv2.GaussianBlur(image.astype(np.float32) * light, (0, 0), 1.1)
    noise: Image = np.asarray(rng.normal(0.0, 6.0, size=lit.shape), dtype=np.float32)
    noisy: Image = lit + noise
    return np.asarray(noisy.clip(0, 255).astype(np.uint8))


def write_folder(folder: Path, frames: list[tuple[str, list[str]]], seed: int = 1) -> None:
    """Each (name, texts) as a JPEG (a webcam's format) named so the order is kept."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, (name, texts) in enumerate(frames):
        cv2.imwrite(
            str(folder / name), photograph(texts, seed + index), [cv2.IMWRITE_JPEG_QUALITY, 85]
        )


def write_video(path: Path, scenes: list[tuple[list[str], int]], seed: int = 1) -> None:
    """A 10 fps MJPG video: each scene is the codes held in view for that many frames,
    moving a little from frame to frame as a hand does."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (WIDTH, HEIGHT))
    assert writer.isOpened()
    frame_index = 0
    for texts, count in scenes:
        for _ in range(count):
            writer.write(photograph(texts, seed + frame_index))
            frame_index += 1
    writer.release()
