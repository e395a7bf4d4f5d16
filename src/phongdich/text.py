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


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DIGIT_RUN = re.compile(r"\d{6,}")


def mask_digits(text: str) -> str:
    """Hide runs of 6+ digits (ID numbers, phones) keeping the first 3 and last 2.

    Record ids (UUIDs) are left whole: an audit entry must still say which record it names.
    """

    def _mask(match: re.Match[str]) -> str:
        run = match.group(0)
        return run[:3] + "*" * (len(run) - 5) + run[-2:]

    parts: list[str] = []
    end = 0
    for uuid_match in _UUID.finditer(text):
        parts.append(_DIGIT_RUN.sub(_mask, text[end : uuid_match.start()]))
        parts.append(uuid_match.group(0))
        end = uuid_match.end()
    parts.append(_DIGIT_RUN.sub(_mask, text[end:]))
    return "".join(parts)
