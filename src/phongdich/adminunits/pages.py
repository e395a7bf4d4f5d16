"""Browsing the administrative tree."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from phongdich.adminunits import service
from phongdich.adminunits.models import AdminUnit
from phongdich.deps import ActorDep, SessionDep
from phongdich.web.sections import PageSection, Sections
from phongdich.web.templating import render

router = APIRouter(include_in_schema=False)


UnitSection = PageSection
# Higher domains (check-ins, …) register the sections of a unit's page here.
UNIT_PAGE_SECTIONS: Sections[AdminUnit] = Sections()
unit_page_section = UNIT_PAGE_SECTIONS.register


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
            "sections": UNIT_PAGE_SECTIONS.shown(session, actor, unit),
        },
    )
