"""Persons API: thin, every rule is in the service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile, status

from phongdich.deps import ActorDep, SessionDep
from phongdich.importing import MAX_IMPORT_BYTES, ImportResult
from phongdich.persons import dedupe, importer, service
from phongdich.persons.documents import parse_cccd_qr
from phongdich.persons.models import Person
from phongdich.persons.schemas import (
    CccdCardPublic,
    CccdQrInput,
    DocumentInput,
    DocumentLookup,
    DuplicatePair,
    MergeInput,
    PersonInput,
    PersonPage,
    PersonPublic,
    PersonSummary,
    PersonUpdate,
)

router = APIRouter(prefix="/api/persons", tags=["persons"])


def summary(person: Person) -> PersonSummary:
    main = person.main_document
    return PersonSummary(
        id=person.id,
        full_name=person.full_name,
        birth_year=person.birth_year,
        sex=person.sex,
        unit_code=person.unit_code,
        document_hint=main.number[-4:] if main else "",
    )


@router.post(
    "",
    response_model=PersonPublic,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "The document was already registered: that person"}},
)
def register(
    body: PersonInput, actor: ActorDep, session: SessionDep, response: Response
) -> PersonPublic:
    person, created = service.register_person(session=session, actor=actor, data=body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return PersonPublic.model_validate(person)


@router.get("", response_model=PersonPage)
def search(
    actor: ActorDep,
    session: SessionDep,
    q: Annotated[
        str,
        Query(
            max_length=100,
            description="Name (with or without diacritics), document number or phone",
        ),
    ] = "",
    unit: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> PersonPage:
    people, total = service.search_persons(
        session=session, actor=actor, query=q, unit_code=unit, limit=limit, offset=offset
    )
    return PersonPage(total=total, items=[summary(p) for p in people])


@router.post("/import", response_model=ImportResult)
def import_file(
    actor: ActorDep,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="CSV: " + ",".join(importer.COLUMNS))],
) -> ImportResult:
    """Resident list: good rows are kept, bad rows come back with line and reason."""
    data = file.file.read(MAX_IMPORT_BYTES + 1)
    report = importer.import_persons(session=session, actor=actor, source=data)
    return ImportResult.model_validate(report.as_dict())


@router.post("/cccd-qr", response_model=CccdCardPublic)
def read_cccd_qr(body: CccdQrInput, actor: ActorDep) -> CccdCardPublic:
    """Parse the text of the QR on a CCCD chip card (no lookup, nothing stored)."""
    card = parse_cccd_qr(body.qr)
    return CccdCardPublic(**card.__dict__)


@router.get("/duplicates", response_model=list[DuplicatePair])
def duplicates(
    actor: ActorDep, session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[DuplicatePair]:
    pairs = dedupe.likely_duplicates(session=session, actor=actor, limit=limit)
    return [DuplicatePair(a=summary(p.a), b=summary(p.b), reason=p.reason) for p in pairs]


@router.post("/merge", response_model=PersonPublic)
def merge(body: MergeInput, actor: ActorDep, session: SessionDep) -> PersonPublic:
    person = dedupe.merge(
        session=session, actor=actor, survivor_id=body.survivor_id, duplicate_id=body.duplicate_id
    )
    return PersonPublic.model_validate(person)


@router.post("/duplicates/dismiss", status_code=status.HTTP_204_NO_CONTENT)
def dismiss(body: MergeInput, actor: ActorDep, session: SessionDep) -> None:
    """These two look alike but are different people."""
    dedupe.dismiss(
        session=session, actor=actor, person_a=body.survivor_id, person_b=body.duplicate_id
    )


@router.post("/lookup", response_model=PersonPublic)
def lookup(body: DocumentLookup, actor: ActorDep, session: SessionDep) -> PersonPublic:
    """Find the person holding a document. A POST, so the number never sits in a URL or a log."""
    person = service.find_by_document(
        session=session, actor=actor, number=body.number, nationality=body.nationality
    )
    return PersonPublic.model_validate(person)


@router.get("/{person_id}", response_model=PersonPublic)
def read(person_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> PersonPublic:
    return PersonPublic.model_validate(
        service.get_person(session=session, actor=actor, person_id=person_id)
    )


@router.patch("/{person_id}", response_model=PersonPublic)
def change(
    person_id: uuid.UUID, body: PersonUpdate, actor: ActorDep, session: SessionDep
) -> PersonPublic:
    return PersonPublic.model_validate(
        service.update_person(session=session, actor=actor, person_id=person_id, data=body)
    )


@router.post("/{person_id}/documents", response_model=PersonPublic)
def add_document(
    person_id: uuid.UUID, body: DocumentInput, actor: ActorDep, session: SessionDep
) -> PersonPublic:
    return PersonPublic.model_validate(
        service.add_document(session=session, actor=actor, person_id=person_id, data=body)
    )
