"""Cases API: cases, tracing and contacts, the tracing policy, clusters."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.cases import clusters, report, service, tracing
from phongdich.cases import policy as policies
from phongdich.cases.models import Case, Cluster, TreatmentFacility
from phongdich.cases.schemas import (
    CaseEventPublic,
    CaseOpenInput,
    CasePublic,
    CaseUpdateInput,
    ClusterPublic,
    ContactInput,
    PolicyInput,
    TracePublic,
)
from phongdich.deps import ActorDep, SessionDep
from phongdich.errors import Invalid
from phongdich.persons.models import Person
from phongdich.persons.service import find_by_document, get_person

router = APIRouter(prefix="/api/cases", tags=["cases"])
cluster_router = APIRouter(prefix="/api/clusters", tags=["cases"])

Code = Annotated[str, Path(max_length=40)]


def person_of(
    session: Session, actor: Actor, person_id: uuid.UUID | None, document_number: str | None
) -> Person:
    """The person named by id or by document number, inside the actor's jurisdiction."""
    if (person_id is None) == (document_number is None):
        raise Invalid("person_id", "give the person's id or their document number (one of them)")
    if person_id is not None:
        return get_person(session=session, actor=actor, person_id=person_id)
    assert document_number is not None
    return find_by_document(session=session, actor=actor, number=document_number)


def case_public(session: Session, case: Case) -> CasePublic:
    out = CasePublic.model_validate(case)
    person = session.get(Person, case.person_id)
    out.full_name = person.full_name if person else ""
    facility = session.get(TreatmentFacility, case.facility_id) if case.facility_id else None
    out.facility_code = facility.code if facility else None
    cluster = session.get(Cluster, case.cluster_id) if case.cluster_id else None
    out.cluster_code = cluster.code if cluster else None
    return out


@router.get("", response_model=list[CasePublic])
def list_cases(
    actor: ActorDep,
    session: SessionDep,
    open_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[CasePublic]:
    rows = service.list_cases(
        session=session, actor=actor, open_only=open_only, limit=limit, offset=offset
    )
    return [case_public(session, case) for case, _ in rows]


@router.post("", response_model=CasePublic, status_code=status.HTTP_201_CREATED)
def open_case(body: CaseOpenInput, actor: ActorDep, session: SessionDep) -> CasePublic:
    """Open a case by hand (a positive result opens one by itself); tracing follows at once."""
    actor.require(Permission.CASES_MANAGE)  # before the person lookup, which is audited
    person = person_of(session, actor, body.person_id, body.document_number)
    case, created = service.open_case(
        session=session,
        actor=actor,
        person_id=person.id,
        reference_time=body.reference_time,
        reference_kind=body.reference_kind,
        source=body.source,
        severity=body.severity,
        classification=body.classification,
        isolation_place=body.isolation_place,
    )
    if not created:
        raise Invalid("person_id", f"already an open case: {case.code}")
    return case_public(session, case)


@router.get("/tracing-policy")
def get_policy(actor: ActorDep, session: SessionDep) -> dict[str, Any]:
    actor.require(Permission.CASES_READ)
    return policies.current(session).as_dict()


@router.post("/tracing-policy", status_code=status.HTTP_201_CREATED)
def publish_policy(body: PolicyInput, actor: ActorDep, session: SessionDep) -> dict[str, Any]:
    """A new version from the current one with these settings changed."""
    rules = {**policies.current(session).rules(), **body.rules}
    return policies.publish(session=session, actor=actor, rules=rules).as_dict()


@router.get("/{code}", response_model=CasePublic)
def get_case(code: Code, actor: ActorDep, session: SessionDep) -> CasePublic:
    return case_public(session, service.get_case(session=session, actor=actor, code=code))


@router.patch("/{code}", response_model=CasePublic)
def update_case(
    code: Code, body: CaseUpdateInput, actor: ActorDep, session: SessionDep
) -> CasePublic:
    case = service.update_case(
        session=session, actor=actor, code=code, change=service.CaseChange(**body.model_dump())
    )
    return case_public(session, case)


@router.get("/{code}/timeline", response_model=list[CaseEventPublic])
def timeline(code: Code, actor: ActorDep, session: SessionDep) -> list[CaseEventPublic]:
    case = service.get_case(session=session, actor=actor, code=code)
    return [CaseEventPublic.model_validate(e) for e in service.timeline(session=session, case=case)]


@router.post("/{code}/trace", response_model=TracePublic)
def trace(code: Code, actor: ActorDep, session: SessionDep) -> dict[str, Any]:
    """Trace again now (idempotent: only what is new is added)."""
    case = service.get_case(session=session, actor=actor, code=code)
    result = tracing.trace(session=session, actor=actor, case=case)
    views = service.contacts_of(session=session, actor=actor, case=case)
    return report.trace_data(session, result, views)


@router.get("/{code}/contacts", response_model=TracePublic)
def contacts(code: Code, actor: ActorDep, session: SessionDep) -> dict[str, Any]:
    """The case's contacts as last traced, with the policy version they were traced by."""
    case = service.get_case(session=session, actor=actor, code=code)
    views = service.contacts_of(session=session, actor=actor, case=case)
    result = tracing.TraceResult(
        case=case,
        policy=policies.version(session, case.policy_version or policies.DEFAULT.version),
        contacts=[v.contact for v in views],
        new_contacts=0,
        new_exposures=0,
        linked_cases=[],
    )
    return report.trace_data(session, result, views)


@router.post("/{code}/contacts", status_code=status.HTTP_201_CREATED)
def add_contact(
    code: Code, body: ContactInput, actor: ActorDep, session: SessionDep
) -> dict[str, Any]:
    """A contact tracing could not find, declared by an official; quarantined like any F1."""
    actor.require(Permission.CASES_MANAGE)  # before the person lookup, which is audited
    person = person_of(session, actor, body.person_id, body.document_number)
    contact = service.add_contact(
        session=session,
        actor=actor,
        code=code,
        person_id=person.id,
        start=body.start,
        end=body.end,
        note=body.note,
    )
    return {"person_id": str(contact.person_id), "degree": contact.degree, "status": contact.status}


@cluster_router.get("", response_model=list[ClusterPublic])
def list_clusters(actor: ActorDep, session: SessionDep) -> list[ClusterPublic]:
    return [
        ClusterPublic(
            code=c.code, place=c.place, unit_code=c.unit_code, cases=n, created_at=c.created_at
        )
        for c, n in clusters.list_clusters(session=session, actor=actor)
    ]


@cluster_router.get("/{code}/graph")
def cluster_graph(code: Code, actor: ActorDep, session: SessionDep) -> dict[str, Any]:
    """Cases, contacts and exposures of the cluster: the data the cluster page draws."""
    return clusters.graph(session=session, actor=actor, code=code)
