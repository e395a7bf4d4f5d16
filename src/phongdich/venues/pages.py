"""Venue pages: registration (with a manager's sign-up), the list, one venue, its poster."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.venues.models import Venue

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class VenueSection:
    """A section a higher domain adds to a venue's page (check-in counts, the scanning link)."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)


VenueSectionProvider = Callable[[Session, Actor, Venue], VenueSection | None]
# Check-ins register here when their pages module is imported; shown in that order.
VENUE_PAGE_SECTIONS: dict[str, VenueSectionProvider] = {}


def venue_page_section(name: str) -> Callable[[VenueSectionProvider], VenueSectionProvider]:
    """Register a provider of a venue-page section; it returns None to show nothing."""

    def decorator(provider: VenueSectionProvider) -> VenueSectionProvider:
        VENUE_PAGE_SECTIONS[name] = provider
        return provider

    return decorator
