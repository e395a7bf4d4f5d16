"""Lab pages (receiving shipments, entering, importing and correcting results) and a citizen's
own results page."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
