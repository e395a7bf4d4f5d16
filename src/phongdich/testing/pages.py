"""Testing web pages: campaigns, the sampling page, labs, results, a citizen's own results."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
