"""Check-in pages: the citizen's page behind a venue's poster, staff scanning, paper logs."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
