"""Sections a higher domain adds to a lower domain's page (a person's declarations on the
person page, check-in counts on a venue's or a unit's page).

The lower domain may not import the higher one; it owns a `Sections` registry, and the higher
domain registers its providers there when its pages module is imported. The page shows them
in registration order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor

Subject = TypeVar("Subject")


@dataclass(frozen=True)
class PageSection:
    """Its template and what it shows."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)


class Sections(Generic[Subject]):
    def __init__(self) -> None:
        self.providers: dict[str, Callable[[Session, Actor, Subject], PageSection | None]] = {}

    def register(
        self, name: str
    ) -> Callable[
        [Callable[[Session, Actor, Subject], PageSection | None]],
        Callable[[Session, Actor, Subject], PageSection | None],
    ]:
        """Register a provider under a name; it returns None to show nothing."""

        def decorator(
            provider: Callable[[Session, Actor, Subject], PageSection | None],
        ) -> Callable[[Session, Actor, Subject], PageSection | None]:
            self.providers[name] = provider
            return provider

        return decorator

    def shown(self, session: Session, actor: Actor, subject: Subject) -> list[PageSection]:
        return [
            section
            for provider in self.providers.values()
            if (section := provider(session, actor, subject)) is not None
        ]
