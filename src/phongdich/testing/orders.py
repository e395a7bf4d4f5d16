"""Sampling orders from higher domains: people a unit's sampling team must swab that no
campaign of this domain asked for, such as the scheduled tests of quarantined contacts.

The cases domain registers a provider here (a lower domain never imports a higher one); the
sampling page lists what the providers return for the team's units.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.persons.models import Person


@dataclass(frozen=True)
class SamplingOrder:
    person: Person
    due_on: date
    reason: str  # an English message id, translated on the page
    detail: str = ""  # e.g. the day of the quarantine


Provider = Callable[[Session, Actor, date], Sequence[SamplingOrder]]
_PROVIDERS: dict[str, Provider] = {}


def provider(name: str) -> Callable[[Provider], Provider]:
    def decorator(func: Provider) -> Provider:
        _PROVIDERS[name] = func
        return func

    return decorator


def due(session: Session, actor: Actor, day: date) -> list[SamplingOrder]:
    """Everything due by `day` in the actor's units, oldest first."""
    from phongdich.domains import load

    load("handlers")  # where higher domains register their providers
    found: list[SamplingOrder] = []
    for name in sorted(_PROVIDERS):
        found.extend(_PROVIDERS[name](session, actor, day))
    return sorted(found, key=lambda o: (o.due_on, o.person.name_folded))
