"""Browsing the administrative tree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from phongdich.adminunits import service
from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import Actor
from phongdich.deps import ActorDep, SessionDep
from phongdich.web.templating import render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class UnitSection:
    """A section a higher domain adds to a unit's page (its counts, its lists)."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)


UnitSectionProvider = Callable[[Session, Actor, AdminUnit], UnitSection | None]
# Higher domains register here when their pages module is imported; shown in that order.
UNIT_PAGE_SECTIONS: dict[str, UnitSectionProvider] = {}


def unit_page_section(name: str) -> Callable[[UnitSectionProvider], UnitSectionProvider]:
    """Register a provider of a unit-page section; it returns None to show nothing."""

    def decorator(provider: UnitSectionProvider) -> UnitSectionProvider:
        UNIT_PAGE_SECTIONS[name] = provider
        return provider

    return decorator


@router.get("/adminunits", response_class=HTMLResponse)
def units_page(
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    units = (
        service.search_units(session=session, query=q, limit=200)
        if q
        else service.search_units(session=session, level=1, limit=200)
    )
    return render(request, "adminunits/list.html", {"units": units, "q": q})


@router.get("/adminunits/{code}", response_class=HTMLResponse)
def unit_page(
    request: Request,
    code: Annotated[str, Path(max_length=16)],
    actor: ActorDep,
    session: SessionDep,
) -> Response:
    unit = service.get_unit(session=session, code=code)
    return render(
        request,
        "adminunits/unit.html",
        {
            "unit": unit,
            "lineage": service.ancestors(session=session, unit=unit),
            "children": service.search_units(session=session, parent_code=unit.code, limit=5000),
            "sections": [
                section
                for provider in UNIT_PAGE_SECTIONS.values()
                if (section := provider(session, actor, unit)) is not None
            ],
        },
    )
