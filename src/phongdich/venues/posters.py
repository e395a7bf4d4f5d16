"""Printable check-in posters (placeholder until the poster layout lands)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from phongdich.venues.models import Venue


def poster_pdf(session: Session, venue: Venue, url: str) -> bytes:
    raise NotImplementedError


def poster_png(session: Session, venue: Venue, url: str) -> bytes:
    raise NotImplementedError
