"""Person search and the person page for officials."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from phongdich.adminunits.models import AdminUnit
from phongdich.deps import ActorDep, SessionDep
from phongdich.persons import service
from phongdich.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/persons", response_class=HTMLResponse)
def search_page(
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    q: Annotated[str, Query(max_length=100)] = "",
    unit: Annotated[str, Query(max_length=16)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    per_page = 50
    people, total = service.search_persons(
        session=session,
        actor=actor,
        query=q,
        unit_code=unit or None,
        limit=per_page,
        offset=(page - 1) * per_page,
    )
    return render(
        request,
        "persons/search.html",
        {
            "people": people,
            "total": total,
            "q": q,
            "unit": unit,
            "page": page,
            "pages": max(1, -(-total // per_page)),
        },
    )


@router.get("/persons/{person_id}", response_class=HTMLResponse)
def person_page(
    request: Request, person_id: uuid.UUID, actor: ActorDep, session: SessionDep
) -> Response:
    person = service.get_person(session=session, actor=actor, person_id=person_id)
    codes = {c for c in (person.permanent_unit_code, person.temporary_unit_code) if c}
    units = {u.code: u for u in session.query(AdminUnit).filter(AdminUnit.code.in_(codes))}
    return render(request, "persons/detail.html", {"person": person, "units": units})
