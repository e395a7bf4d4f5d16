"""Decoding the codes in a camera frame with zxing-cpp.

Only the formats a checkpoint meets are searched (QR: passes, CCCD cards, EU DCC, transfer and
invitation codes): asking zxing-cpp for every format is several times slower per frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import zxingcpp

FORMATS = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


def grey(frame: Any) -> np.ndarray[Any, Any]:
    """A 2-D uint8 array from a camera frame (BGR or BGRA from OpenCV) or a grey one."""
    array = np.asarray(frame)
    if array.ndim == 3:
        if array.shape[2] == 1:
            return np.ascontiguousarray(array[:, :, 0])
        # ITU-R BT.601 luma on B, G, R (OpenCV's channel order), without importing OpenCV here.
        b, g, r = (array[:, :, i].astype(np.uint16) for i in range(3))
        return ((29 * b + 150 * g + 77 * r) >> 8).astype(np.uint8)
    return np.ascontiguousarray(array, dtype=np.uint8)


def decode(frame: Any, formats: Any = FORMATS) -> list[str]:
    """The text of every valid code in the frame, in the order zxing-cpp found them."""
    image = grey(frame)
    results = zxingcpp.read_barcodes(image, formats=formats, try_rotate=True)
    return [str(r.text) for r in results if r.valid and r.text]
