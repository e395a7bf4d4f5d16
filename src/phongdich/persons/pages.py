"""Pages for officials: find, register, edit, import and de-duplicate people.

Every change goes through the persons services. A service error on a form is shown next to the
field it names, with what was typed kept; the service call runs in a savepoint so a failed
attempt leaves nothing behind when the request's transaction commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from phongdich.adminunits import service as units
from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.deps import ActorDep, SessionDep
from phongdich.errors import Conflict, Invalid, NotFound, PhongdichError
from phongdich.persons import dedupe, importer, service
from phongdich.persons.documents import parse_cccd_qr
from phongdich.persons.models import Person
from phongdich.persons.schemas import DocumentInput, PersonInput, PersonUpdate
from phongdich.web.forms import FormValues
from phongdich.web.sections import PageSection, Sections
from phongdich.web.templating import render
from phongdich.web.uploads import handle_upload, upload_page

router = APIRouter(include_in_schema=False)

EDIT_FIELDS = (
    "full_name",
    "birth_date",
    "sex",
    "phone",
    "permanent_unit_code",
    "permanent_address",
    "temporary_unit_code",
    "temporary_address",
    "household_code",
)
REGISTER_FIELDS = ("document_number", "document_kind", "nationality", *EDIT_FIELDS)
DOCUMENT_FIELDS = ("number", "kind", "nationality")
# Officials of a big province see hundreds of units; past this the unit list is left out.
MAX_UNIT_CHOICES = 1000
IMPORT_TEMPLATE = "persons/import.html"
Errors = dict[str, str]


def _field(name: str, known: Sequence[str]) -> str:
    """Where to show a service's complaint: 'qr.sex' belongs to the QR box, unknown ones on top."""
    if name.startswith("qr"):
        return "qr"
    return name if name in known else "form"


def _validation_errors(exc: ValidationError, known: Sequence[str]) -> Errors:
    errors: Errors = {}
    for problem in exc.errors():
        name = ".".join(str(p) for p in problem["loc"])
        errors.setdefault(_field(name, known), problem["msg"])
    return errors


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _unit_choices(session: Session, actor: Actor) -> Sequence[AdminUnit]:
    """Units an official may register people in, for the unit-code suggestions."""
    return units.units_under(session=session, actor=actor, limit=MAX_UNIT_CHOICES)


def _birth_text(person: Person) -> str:
    if person.birth_date is not None:
        return person.birth_date.strftime("%d/%m/%Y")
    return "" if person.birth_year is None else str(person.birth_year)


# Searching


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
            "unit_names": units.names(
                session=session, codes={p.unit_code for p in people if p.unit_code}
            ),
            "total": total,
            "q": q,
            "unit": unit,
            "page": page,
            "pages": max(1, -(-total // per_page)),
        },
    )


# Registering


def _register_form(
    request: Request,
    session: Session,
    actor: Actor,
    values: Mapping[str, str],
    errors: Errors | None = None,
    *,
    status_code: int = 200,
    from_qr: bool = False,
    old_number: str | None = None,
) -> Response:
    return render(
        request,
        "persons/new.html",
        {
            "values": values,
            "errors": errors or {},
            "units": _unit_choices(session, actor),
            "from_qr": from_qr,
            "old_number": old_number,
        },
        status_code=status_code,
    )


@router.get("/persons/new", response_class=HTMLResponse)
def register_form(request: Request, actor: ActorDep, session: SessionDep) -> Response:
    actor.require(Permission.PERSONS_WRITE)
    values = {"permanent_unit_code": units.home_commune(session=session, actor=actor)}
    return _register_form(request, session, actor, values)


@router.post("/persons/new/qr", response_class=HTMLResponse)
def register_from_qr(
    request: Request, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    """Prefill the form from a CCCD's QR. A POST: the card's numbers stay out of URLs and logs."""
    actor.require(Permission.PERSONS_WRITE)
    text = values.get("qr", "")[:600]
    try:
        card = parse_cccd_qr(text)
    except Invalid as exc:
        return _register_form(
            request,
            session,
            actor,
            {"qr": text, "permanent_unit_code": units.home_commune(session=session, actor=actor)},
            {"qr": exc.reason},
            status_code=422,
        )
    prefilled = {
        "document_number": card.number,
        "document_kind": "cccd",
        "full_name": card.full_name,
        "birth_date": card.birth_date.strftime("%d/%m/%Y"),
        "sex": card.sex,
        "permanent_unit_code": units.home_commune(session=session, actor=actor),
        "permanent_address": card.address,
    }
    return _register_form(
        request, session, actor, prefilled, from_qr=True, old_number=card.old_number
    )


@router.post("/persons/new", response_class=HTMLResponse)
def register_submit(
    request: Request, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    actor.require(Permission.PERSONS_WRITE)
    payload: dict[str, Any] = {name: values.get(name, "") for name in REGISTER_FIELDS}
    for name in ("document_kind", "nationality", "birth_date", "sex", "phone", "household_code"):
        payload[name] = payload[name] or None
    try:
        data = PersonInput.model_validate(payload)
        with session.begin_nested():
            person, created = service.register_person(session=session, actor=actor, data=data)
    except ValidationError as exc:
        errors = _validation_errors(exc, REGISTER_FIELDS)
        return _register_form(request, session, actor, values, errors, status_code=422)
    except (Invalid, Conflict) as exc:
        field = (
            _field(exc.field, REGISTER_FIELDS) if isinstance(exc, Invalid) else "document_number"
        )
        reason = exc.reason if isinstance(exc, Invalid) else exc.message
        return _register_form(
            request, session, actor, values, {field: reason}, status_code=exc.status_code
        )
    return _redirect(f"/persons/{person.id}?notice={'registered' if created else 'exists'}")


# Importing


@router.get("/persons/import", response_class=HTMLResponse)
def import_form(request: Request, actor: ActorDep) -> Response:
    actor.require(Permission.PERSONS_IMPORT)
    return upload_page(request, IMPORT_TEMPLATE, {"columns": importer.COLUMNS})


@router.post("/persons/import", response_class=HTMLResponse)
def import_submit(
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    actor.require(Permission.PERSONS_IMPORT)
    return handle_upload(
        request,
        session,
        file,
        IMPORT_TEMPLATE,
        {"columns": importer.COLUMNS},
        lambda data: importer.import_persons(session=session, actor=actor, source=data),
    )


# Duplicates


def _duplicates_page(
    request: Request, session: Session, actor: Actor, error: str = "", status_code: int = 200
) -> Response:
    pairs = dedupe.likely_duplicates(session=session, actor=actor, limit=100)
    codes = {
        code
        for pair in pairs
        for p in (pair.a, pair.b)
        for code in (p.permanent_unit_code, p.temporary_unit_code)
        if code
    }
    return render(
        request,
        "persons/duplicates.html",
        {"pairs": pairs, "units": units.names(session=session, codes=codes), "error": error},
        status_code=status_code,
    )


@router.get("/persons/duplicates", response_class=HTMLResponse)
def duplicates_page(request: Request, actor: ActorDep, session: SessionDep) -> Response:
    return _duplicates_page(request, session, actor)


def _record_id(values: Mapping[str, str], name: str) -> uuid.UUID:
    try:
        return uuid.UUID(values.get(name, ""))
    except ValueError:
        raise Invalid(name, "not a record id") from None


def _on_duplicates(
    request: Request, session: Session, actor: Actor, change: Callable[[], object], notice: str
) -> Response:
    """Run a merge or dismissal; a refusal re-renders the list with the reason."""
    actor.require(Permission.PERSONS_MERGE)
    try:
        with session.begin_nested():
            change()
    except (Invalid, Conflict, NotFound) as exc:
        reason = exc.reason if isinstance(exc, Invalid) else exc.message
        return _duplicates_page(request, session, actor, reason, exc.status_code)
    return _redirect(f"/persons/duplicates?notice={notice}")


@router.post("/persons/duplicates/merge", response_class=HTMLResponse)
def merge_submit(
    request: Request, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    return _on_duplicates(
        request,
        session,
        actor,
        lambda: dedupe.merge(
            session=session,
            actor=actor,
            survivor_id=_record_id(values, "survivor_id"),
            duplicate_id=_record_id(values, "duplicate_id"),
        ),
        "merged",
    )


@router.post("/persons/duplicates/dismiss", response_class=HTMLResponse)
def dismiss_submit(
    request: Request, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    return _on_duplicates(
        request,
        session,
        actor,
        lambda: dedupe.dismiss(
            session=session,
            actor=actor,
            person_a=_record_id(values, "person_a"),
            person_b=_record_id(values, "person_b"),
        ),
        "dismissed",
    )


# One person


PersonSection = PageSection
# Higher domains (declarations, …) register the sections of the person page here.
PERSON_PAGE_SECTIONS: Sections[Person] = Sections()
person_page_section = PERSON_PAGE_SECTIONS.register


def _person_view(
    request: Request,
    session: Session,
    actor: Actor,
    person_id: uuid.UUID,
    *,
    document_values: Mapping[str, str] | None = None,
    document_errors: Errors | None = None,
    status_code: int = 200,
) -> Response:
    person = service.get_person(session=session, actor=actor, person_id=person_id)
    codes = {c for c in (person.permanent_unit_code, person.temporary_unit_code) if c}
    return render(
        request,
        "persons/detail.html",
        {
            "person": person,
            "units": units.names(session=session, codes=codes),
            "members": service.household_members(session=session, actor=actor, person=person),
            "sections": PERSON_PAGE_SECTIONS.shown(session, actor, person),
            "document_values": document_values or {},
            "document_errors": document_errors or {},
        },
        status_code=status_code,
    )


@router.get("/persons/{person_id}", response_class=HTMLResponse)
def person_page(
    request: Request, person_id: uuid.UUID, actor: ActorDep, session: SessionDep
) -> Response:
    return _person_view(request, session, actor, person_id)


@router.post("/persons/{person_id}/documents", response_class=HTMLResponse)
def add_document_submit(
    request: Request,
    person_id: uuid.UUID,
    actor: ActorDep,
    session: SessionDep,
    values: FormValues,
) -> Response:
    actor.require(Permission.PERSONS_WRITE)
    payload = {name: values.get(name) or None for name in DOCUMENT_FIELDS}
    try:
        data = DocumentInput.model_validate({**payload, "number": values.get("number", "")})
        with session.begin_nested():
            person = service.add_document(
                session=session, actor=actor, person_id=person_id, data=data
            )
    except ValidationError as exc:
        errors = _validation_errors(exc, DOCUMENT_FIELDS)
        return _person_view(
            request,
            session,
            actor,
            person_id,
            document_values=values,
            document_errors=errors,
            status_code=422,
        )
    except (Invalid, Conflict) as exc:
        field = _field(exc.field, DOCUMENT_FIELDS) if isinstance(exc, Invalid) else "number"
        reason = exc.reason if isinstance(exc, Invalid) else exc.message
        return _person_view(
            request,
            session,
            actor,
            person_id,
            document_values=values,
            document_errors={field: reason},
            status_code=exc.status_code,
        )
    return _redirect(f"/persons/{person.id}?notice=document-added")


# Editing


def _edit_form(
    request: Request,
    session: Session,
    actor: Actor,
    person: Person,
    values: Mapping[str, str],
    errors: Errors | None = None,
    *,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "persons/edit.html",
        {
            "person": person,
            "values": values,
            "errors": errors or {},
            "units": _unit_choices(session, actor),
        },
        status_code=status_code,
    )


@router.get("/persons/{person_id}/edit", response_class=HTMLResponse)
def edit_form(
    request: Request, person_id: uuid.UUID, actor: ActorDep, session: SessionDep
) -> Response:
    actor.require(Permission.PERSONS_WRITE)
    person = service.get_person(session=session, actor=actor, person_id=person_id)
    values = {
        "full_name": person.full_name,
        "birth_date": _birth_text(person),
        "sex": person.sex or "",
        "phone": person.phone or "",
        "permanent_unit_code": person.permanent_unit_code or "",
        "permanent_address": person.permanent_address,
        "temporary_unit_code": person.temporary_unit_code or "",
        "temporary_address": person.temporary_address,
        "household_code": person.household_code or "",
    }
    return _edit_form(request, session, actor, person, values)


@router.post("/persons/{person_id}/edit", response_class=HTMLResponse)
def edit_submit(
    request: Request,
    person_id: uuid.UUID,
    actor: ActorDep,
    session: SessionDep,
    values: FormValues,
) -> Response:
    actor.require(Permission.PERSONS_WRITE)
    # Every field is on the form, so an emptied field clears the value.
    payload = {name: values.get(name, "") for name in EDIT_FIELDS}
    errors: Errors
    try:
        if not payload["full_name"]:
            raise Invalid("full_name", "required")
        data = PersonUpdate.model_validate(payload)
        with session.begin_nested():
            person = service.update_person(
                session=session, actor=actor, person_id=person_id, data=data
            )
    except ValidationError as exc:
        errors, status_code = _validation_errors(exc, EDIT_FIELDS), 422
    except PhongdichError as exc:
        if not isinstance(exc, Invalid | Conflict):
            raise
        field = _field(exc.field, EDIT_FIELDS) if isinstance(exc, Invalid) else "form"
        reason = exc.reason if isinstance(exc, Invalid) else exc.message
        errors, status_code = {field: reason}, exc.status_code
    else:
        return _redirect(f"/persons/{person.id}?notice=saved")
    current = service.get_person(
        session=session, actor=actor, person_id=person_id, audit_read=False
    )
    return _edit_form(request, session, actor, current, values, errors, status_code=status_code)
