"""Camera-like frames holding one QR code: what a checkpoint's webcam sees.

The demo writes them as a folder of PNG files for `phongdich station --images`, and the
checkpoint benchmark decodes them: a 1280×720 frame, a textured and noisy background, the code
on a phone screen or a card held at a slight angle (a perspective warp), a little blur and
sensor noise. Deterministic for a seed.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from phongdich.credentials.passes import qr

WIDTH, HEIGHT = 1280, 720


def _background(rng: random.Random) -> np.ndarray[Any, Any]:
    """Soft blotches of colour (a booth, a windscreen, a jacket) under fine sensor noise."""
    noise = np.random.default_rng(rng.getrandbits(32))
    coarse = noise.uniform(40, 200, size=(9, 16, 3))
    grey = coarse.mean(axis=2, keepdims=True)
    muted = (grey + 0.35 * (coarse - grey)).astype(np.uint8)  # real scenes are not saturated
    image = Image.fromarray(muted, "RGB").resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)
    pixels = np.asarray(image, dtype=np.float32).copy()
    for _ in range(rng.randrange(3, 7)):  # hard edges: window frames, signs, a barrier
        x, y = rng.randrange(WIDTH), rng.randrange(HEIGHT)
        w, h = rng.randrange(20, 400), rng.randrange(4, 120)
        pixels[y : y + h, x : x + w] *= rng.uniform(0.3, 1.4)
    return pixels


def _coefficients(
    target: list[tuple[float, float]], source: list[tuple[float, float]]
) -> list[float]:
    """PIL's perspective coefficients mapping each output corner back to its input corner."""
    rows: list[list[float]] = []
    values: list[float] = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values += [u, v]
    solved = np.linalg.solve(np.array(rows, dtype=np.float64), np.array(values, dtype=np.float64))
    return [float(c) for c in solved]


def _card(text: str, rng: random.Random) -> Image.Image:
    """The code with its quiet zone on a white screen or card, as large as a held phone."""
    matrix = np.array(list(qr(text).matrix), dtype=np.uint8)
    modules = matrix.shape[0]
    scale = max(3, min(7, int(rng.uniform(330, 430) / (modules + 8))))
    code = np.where(matrix > 0, 20, 245).astype(np.uint8)
    code = np.kron(code, np.ones((scale, scale), dtype=np.uint8))
    margin = scale * 5
    side = code.shape[0] + 2 * margin
    card = np.full((side, side), 245, dtype=np.uint8)
    card[margin : margin + code.shape[0], margin : margin + code.shape[1]] = code
    return Image.fromarray(card, "L").convert("RGB")


def frame(text: str, rng: random.Random) -> Image.Image:
    """One 1280×720 RGB frame with `text` as a QR code somewhere in it, slightly tilted."""
    background = _background(rng)
    card = _card(text, rng)
    side = card.width
    jitter = side * 0.06
    corners = [(0.0, 0.0), (side, 0.0), (side, side), (0.0, side)]
    moved = [
        (x + rng.uniform(-jitter, jitter), y + rng.uniform(-jitter, jitter)) for x, y in corners
    ]
    low_x = min(x for x, _ in moved)
    low_y = min(y for _, y in moved)
    moved = [(x - low_x, y - low_y) for x, y in moved]
    size = (int(max(x for x, _ in moved)) + 1, int(max(y for _, y in moved)) + 1)
    coefficients = _coefficients(moved, corners)
    warped = card.transform(
        size, Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BILINEAR
    )
    mask = Image.new("L", card.size, 255).transform(
        size, Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BILINEAR
    )
    left = rng.randrange(20, max(21, WIDTH - size[0] - 20))
    top = rng.randrange(10, max(11, HEIGHT - size[1] - 10))
    image = Image.fromarray(np.clip(background, 0, 255).astype(np.uint8), "RGB")
    image.paste(warped, (left, top), mask)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 0.9)))
    noise = np.random.default_rng(rng.getrandbits(32))
    pixels = np.asarray(image, dtype=np.float64) * rng.uniform(0.8, 1.05)
    pixels += noise.normal(0.0, 6.0, size=pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def bgr(image: Image.Image) -> np.ndarray[Any, Any]:
    """The frame as OpenCV hands it over: height × width × 3, blue first."""
    return np.ascontiguousarray(np.asarray(image)[:, :, ::-1])


def write(image: Image.Image, path: Path) -> Path:
    image.save(path, format="PNG", compress_level=1)
    return path
