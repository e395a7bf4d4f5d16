"""Vietnamese text helpers: names without diacritics for search and de-duplication."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower-case, without diacritics, single-spaced: 'Nguyễn  Văn Đức' -> 'nguyen van duc'."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return _SPACES.sub(" ", stripped).strip().lower()


def clean_name(text: str) -> str:
    """Unicode NFC and single spaces, keeping the diacritics people wrote."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def mask_digits(text: str) -> str:
    """Hide runs of 6+ digits (ID numbers, phones) keeping the first 3 and last 2."""

    def _mask(match: re.Match[str]) -> str:
        run = match.group(0)
        return run[:3] + "*" * (len(run) - 5) + run[-2:]

    return re.sub(r"\d{6,}", _mask, text)
