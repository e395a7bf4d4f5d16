"""Clusters (ổ dịch): cases linked by a shared exposure, with the place they met.

A cluster appears when a second case is linked to a first (two F0 at one venue, or an F1 who
turned positive); linking cases of two clusters folds the younger cluster into the older.
The graph (cases, contacts, exposures) is what the cluster page draws and exports.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from phongdich.auth import audit
from phongdich.auth.actor import Actor, in_jurisdiction
from phongdich.auth.roles import Permission
from phongdich.cases.exposures import Found
from phongdich.cases.models import Case, Cluster, Contact, Exposure
from phongdich.errors import NotFound
from phongdich.persons.models import Household, Person
from phongdich.persons.service import visible_ids
from phongdich.text import new_code
from phongdich.venues.models import Venue


def place_of(session: Session, found: Found) -> str:
    """Where an exposure happened, in words for the cluster's name."""
    if found.venue_id is not None:
        venue = session.get(Venue, found.venue_id)
        if venue is not None:
            return f"{venue.name} ({venue.code})"
    if found.household_id is not None:
        household = session.get(Household, found.household_id)
        if household is not None:
            return household.address or household.code
    if found.vehicle_plate:
        return found.vehicle_plate
    return found.via


def _root(session: Session, cluster_id: uuid.UUID | None) -> Cluster | None:
    cluster = session.get(Cluster, cluster_id) if cluster_id else None
    for _ in range(20):
        if cluster is None or cluster.merged_into_id is None:
            break
        cluster = session.get(Cluster, cluster.merged_into_id)
    return cluster


def link(session: Session, case: Case, other: Case, place: str) -> Cluster:
    """Put two cases in one cluster, creating or folding clusters as needed."""
    mine, theirs = _root(session, case.cluster_id), _root(session, other.cluster_id)
    if mine is None and theirs is None:
        cluster = Cluster(
            code=f"O-{new_code(6)}", place=place[:300], unit_code=other.unit_code or case.unit_code
        )
        session.add(cluster)
        session.flush()
    elif mine is None or theirs is None:
        cluster = mine or theirs  # type: ignore[assignment]
    elif mine.id == theirs.id:
        cluster = mine
    else:
        keep, fold = sorted((mine, theirs), key=lambda c: (c.created_at, c.code))
        fold.merged_into_id = keep.id
        session.execute(update(Case).where(Case.cluster_id == fold.id).values(cluster_id=keep.id))
        cluster = keep
    assert cluster is not None
    case.cluster_id = cluster.id
    other.cluster_id = cluster.id
    session.flush()
    return cluster


def list_clusters(*, session: Session, actor: Actor) -> Sequence[tuple[Cluster, int]]:
    """The actor's clusters (one of its cases in their units) with their case counts."""
    actor.require(Permission.CASES_READ)
    rows = session.execute(
        select(Cluster, Case.id)
        .join(Case, Case.cluster_id == Cluster.id)
        .where(Cluster.merged_into_id.is_(None), in_jurisdiction(actor, Case.unit_code))
        .order_by(Cluster.created_at.desc())
    ).all()
    counts: dict[uuid.UUID, int] = {}
    clusters: dict[uuid.UUID, Cluster] = {}
    for cluster, _ in rows:
        clusters[cluster.id] = cluster
        counts[cluster.id] = counts.get(cluster.id, 0) + 1
    return [(clusters[cid], counts[cid]) for cid in clusters]


def get_cluster(*, session: Session, actor: Actor, code: str) -> Cluster:
    actor.require(Permission.CASES_READ)
    cluster = session.scalar(select(Cluster).where(Cluster.code == code.strip().upper()))
    cluster = _root(session, cluster.id) if cluster else None
    if cluster is None:
        raise NotFound("cluster", code)
    visible = session.scalar(
        select(Case.id)
        .where(Case.cluster_id == cluster.id, in_jurisdiction(actor, Case.unit_code))
        .limit(1)
    )
    if visible is None:
        raise NotFound("cluster", code)
    return cluster


def graph(*, session: Session, actor: Actor, code: str) -> dict[str, Any]:
    """Nodes (cases and their contacts) and edges (exposures, conversions) as JSON data.

    People outside the actor's units appear without their names."""
    cluster = get_cluster(session=session, actor=actor, code=code)
    cases = list(session.scalars(select(Case).where(Case.cluster_id == cluster.id)))
    case_ids = [c.id for c in cases]
    contacts = list(session.scalars(select(Contact).where(Contact.case_id.in_(case_ids))))
    by_contact = {c.id: c for c in contacts}
    exposures = list(
        session.scalars(select(Exposure).where(Exposure.contact_id.in_(list(by_contact))))
    )
    person_ids = {c.person_id for c in cases} | {c.person_id for c in contacts}
    visible = visible_ids(session, actor, person_ids)
    names = dict(
        session.execute(
            select(Person.id, Person.full_name).where(Person.id.in_(list(visible)))
        ).all()
    )
    venues = {
        v.id: v
        for v in session.scalars(
            select(Venue).where(Venue.id.in_({e.venue_id for e in exposures if e.venue_id}))
        )
    }
    case_of_person = {c.person_id: c for c in cases}
    nodes: dict[str, dict[str, Any]] = {}
    for case in cases:
        nodes[str(case.person_id)] = {
            "id": str(case.person_id),
            "kind": "case",
            "case": case.code,
            "label": names.get(case.person_id, case.code),
            "source": case.source,
            "opened_at": case.opened_at.isoformat(),
        }
    # A person may be a contact of several of the cluster's cases: the closest degree shows.
    for contact in sorted(contacts, key=lambda c: c.degree):
        key = str(contact.person_id)
        if key in nodes:
            continue
        nodes[key] = {
            "id": key,
            "kind": f"F{contact.degree}",
            "label": names.get(contact.person_id, f"F{contact.degree}"),
            "status": contact.status,
        }
    edges: list[dict[str, Any]] = []
    for exposure in exposures:
        contact = by_contact[exposure.contact_id]
        venue = venues.get(exposure.venue_id) if exposure.venue_id else None
        edges.append(
            {
                "from": str(exposure.source_person_id),
                "to": str(contact.person_id),
                "via": exposure.via,
                "place": venue.name if venue else exposure.vehicle_plate,
                "venue_code": venue.code if venue else None,
                "start": exposure.start.isoformat(),
                "end": exposure.end.isoformat(),
                "overlap_minutes": exposure.overlap_minutes,
                "converted": contact.person_id in case_of_person,
            }
        )
    audit.record(
        session,
        actor,
        "read",
        "cluster",
        cluster.id,
        unit_code=cluster.unit_code,
        detail=f"{len(cases)} cases, {len(contacts)} contacts",
    )
    return {
        "cluster": cluster.code,
        "place": cluster.place,
        "unit_code": cluster.unit_code,
        "cases": len(cases),
        "nodes": list(nodes.values()),
        "edges": [e for e in edges if e["from"] in nodes and e["to"] in nodes],
    }
