"""A person's colour status (green / yellow / red) and the reasons for it, from health facts.

The facts (doses, test results, cases, isolation, quarantine) are recorded here by the domains
that know them (testing, vaccination, cases import this module: they are higher); the colour
rules are data, versioned, per province.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

COLOURS = ("green", "yellow", "red")


@dataclass(frozen=True)
class Status:
    """What a health pass carries: the colour and why, in words (English message ids)."""

    colour: str
    reasons: tuple[str, ...]
    rules_version: int
    evaluated_at: datetime
