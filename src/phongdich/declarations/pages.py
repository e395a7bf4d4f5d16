"""The citizen's declaration form (mobile-first, no login) and the person page's section.

The person page belongs to a lower domain, which must not import this one: declarations add
their section through `persons.pages.person_page_section`, a registry the person page renders
in order. Importing this module (the app does, to mount its routes) registers the section.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from phongdich.adminunits import service as units
from phongdich.auth import devices
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.declarations import service
from phongdich.declarations.schemas import SYMPTOMS, DeclarationInput
from phongdich.deps import SessionDep
from phongdich.errors import Invalid
from phongdich.persons.models import Person
from phongdich.persons.pages import PersonSection, person_page_section
from phongdich.web.forms import FormValues
from phongdich.web.templating import render

router = APIRouter(include_in_schema=False)

TEXT_FIELDS = (
    "document_number",
    "nationality",
    "phone",
    "full_name",
    "birth_date",
    "sex",
    "address_unit_code",
    "address",
    "travelled_from_unit_code",
    "destination_unit_code",
    "destination",
    "travel_reason",
)
KNOWN_FIELDS = (*TEXT_FIELDS, "symptoms", "contact_with_case")
# Where a declaration may send the citizen back to: a venue's check-in page on this site only.
_NEXT = re.compile(r"^/c/[A-Za-z0-9_-]{1,32}$")


def _next(value: str | None) -> str:
    """The check-in page the citizen came from, or "" for anything else (no open redirect)."""
    value = (value or "").strip()
    return value if _NEXT.fullmatch(value) else ""


def _form(
    request: Request,
    session: Session,
    values: Mapping[str, str],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    provinces = service.provinces(session=session)
    return render(
        request,
        "declarations/declare.html",
        {
            "values": values,
            "errors": errors or {},
            "symptoms": SYMPTOMS,
            "provinces": provinces,
            "provinces_choices": [(u.code, u.name) for u in provinces],
            "address_units": (
                service.address_units(session=session, province=values["province"])
                if values.get("province")
                else []
            ),
            "outbreak_choices": [(u.code, u.name) for u in service.outbreak_units(session=session)],
        },
        status_code=status_code,
    )


@router.get("/declare", response_class=HTMLResponse)
def declare_form(
    request: Request, session: SessionDep, next_: Annotated[str, Query(alias="next")] = ""
) -> Response:
    return _form(request, session, {"no_symptoms": "on", "next": _next(next_)})


@router.get("/declare/units")
def province_communes(
    session: SessionDep, province: Annotated[str, Query(max_length=16)] = ""
) -> list[dict[str, str]]:
    """The communes of one province, for the address list once a province is chosen."""
    if not province.strip():
        return []
    return [
        {"code": u.code, "name": u.name}
        for u in service.address_units(session=session, province=province.strip())
    ]


def _payload(values: Mapping[str, str]) -> dict[str, Any]:
    payload: dict[str, Any] = {name: values.get(name, "") for name in TEXT_FIELDS}
    for name in ("nationality", "full_name", "birth_date", "sex"):
        payload[name] = payload[name] or None
    for name in ("travelled_from_unit_code", "destination_unit_code"):
        payload[name] = payload[name] or None
    chosen = [s for s in SYMPTOMS if values.get(f"symptom_{s}")]
    # "None" is ticked in advance; a ticked symptom is the later, deliberate answer.
    payload["symptoms"] = chosen or (["none"] if values.get("no_symptoms") else [])
    payload["contact_with_case"] = bool(values.get("contact_with_case"))
    return payload


@router.post("/declare", response_class=HTMLResponse)
def declare_submit(request: Request, session: SessionDep, values: FormValues) -> Response:
    try:
        data = DeclarationInput.model_validate(_payload(values))
        with session.begin_nested():
            declared = service.declare(session=session, data=data)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for problem in exc.errors():
            name = str(problem["loc"][0]) if problem["loc"] else "form"
            errors.setdefault(name if name in KNOWN_FIELDS else "form", problem["msg"])
        return _form(request, session, values, errors, status_code=422)
    except Invalid as exc:
        field = exc.field if exc.field in KNOWN_FIELDS else "form"
        return _form(request, session, values, {field: exc.reason}, status_code=422)
    back = _next(values.get("next"))
    if back:
        # Back to the venue's poster page, where this phone now checks in with one tap.
        response: Response = RedirectResponse(f"{back}?declared=1", status_code=303)
    else:
        response = render(
            request,
            "declarations/done.html",
            {
                "declaration": declared.declaration,
                "registered": declared.registered,
                # Posted on to the health pass page; never put in a URL.
                "document_number": data.document_number,
                "phone": declared.declaration.phone,
            },
        )
    # The citizen proved who they are: their phone checks in at venues without asking again.
    if devices.remembered(session, request) != declared.person.id:
        devices.remember(session, request, response, declared.person.id)
    return response


@person_page_section("declarations")
def declarations_section(session: Session, actor: Actor, person: Person) -> PersonSection | None:
    """The person's declarations, newest first, for officials who may read people."""
    if not actor.can(Permission.PERSONS_READ):
        return None
    found = service.person_declarations(session=session, actor=actor, person_id=person.id)
    codes = {
        code
        for d in found
        for code in (d.address_unit_code, d.travelled_from_unit_code, d.destination_unit_code)
        if code
    }
    return PersonSection(
        "declarations/_person_section.html",
        {"declarations": found, "unit_names": units.names(session=session, codes=codes)},
    )
