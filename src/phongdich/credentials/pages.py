"""The citizen's pass page (no login) and the printable pass card officials hand out."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from phongdich.auth import devices
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Role
from phongdich.credentials import passes
from phongdich.credentials.routes import request_keys
from phongdich.deps import ActorDep, SessionDep, origin
from phongdich.persons.service import get_person, owner_with_phone
from phongdich.web.templating import render

router = APIRouter(include_in_schema=False)


def _pass_view(issued: passes.IssuedPass) -> dict[str, object]:
    return {
        "issued": issued,
        "svg": Markup(passes.qr_svg(issued.text)),  # noqa: S704  (segno's own SVG, no user text)
    }


@router.get("/pass", response_class=HTMLResponse)
def pass_form(request: Request) -> HTMLResponse:
    return render(request, "credentials/pass.html", {"values": {}, "not_found": False})


@router.post("/pass", response_class=HTMLResponse)
def pass_show(
    request: Request,
    session: SessionDep,
    document_number: Annotated[str, Form(max_length=40)] = "",
    phone: Annotated[str, Form(max_length=20)] = "",
) -> HTMLResponse:
    """A wrong pair, an unknown document and a malformed one all get the same answer."""
    person = owner_with_phone(session, document_number, phone)
    if person is None:
        return render(
            request,
            "credentials/pass.html",
            {"values": {"document_number": document_number}, "not_found": True},
            status_code=404,
        )
    actor = Actor(
        user_id=None,
        username="citizen",
        role=Role.CITIZEN,
        person_id=person.id,
        origin=origin(request),
    )
    issued = passes.issue_current_pass(
        session=session, actor=actor, person=person, keys=request_keys(request)
    )
    response = render(request, "credentials/pass.html", {"values": {}, **_pass_view(issued)})
    # Their own document and phone: this phone may now check in at venues with one tap.
    if devices.remembered(session, request) != person.id:
        devices.remember(session, request, response, person.id)
    return response


@router.get("/persons/{person_id}/pass-card", response_class=HTMLResponse)
def pass_card(
    person_id: uuid.UUID, request: Request, actor: ActorDep, session: SessionDep
) -> HTMLResponse:
    """A card to print for someone without a phone: the QR at 5 × 5 cm, and what it says."""
    person = get_person(session=session, actor=actor, person_id=person_id)
    issued = passes.issue_current_pass(
        session=session, actor=actor, person=person, keys=request_keys(request)
    )
    return render(request, "credentials/card.html", {"person": person, **_pass_view(issued)})
