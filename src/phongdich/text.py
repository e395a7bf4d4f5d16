"""Vietnamese text helpers: names without diacritics for search and de-duplication."""

from __future__ import annotations

import re
import secrets
import unicodedata

from phongdich.errors import Invalid
from phongdich.web.reasons import N_

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


# Crockford's alphabet: no I, L, O or U to misread when a code is typed from a poster or a label.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,31}$")
CODE_RULE = N_("3 to 32 letters, digits, '-' or '_'")


def new_code(length: int = 8) -> str:
    """A random code people can read aloud and type (venues, campaigns, shipments)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def parse_code(value: str | None, field: str = "code") -> str:
    """A code as typed: trimmed, upper-cased, checked."""
    code = (value or "").strip().upper()
    if not code:
        raise Invalid(field, "required")
    if not _CODE_RE.match(code):
        raise Invalid(field, CODE_RULE)
    return code


def plate(value: str | None) -> str:
    """A vehicle plate as stored and compared: upper case, no spaces, at most 16 characters
    ("29a-123.45" and "29A-123.45 " are one plate)."""
    return "".join((value or "").split()).upper()[:16]
