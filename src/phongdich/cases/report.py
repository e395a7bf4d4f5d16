"""A traced case as data: what `phongdich trace --json` prints and the API returns."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.cases.models import Case, Exposure
from phongdich.cases.service import ContactView
from phongdich.cases.tracing import TraceResult
from phongdich.persons.models import Person
from phongdich.venues.models import Venue


def _venue_codes(session: Session, exposures: Sequence[Exposure]) -> dict[uuid.UUID, str]:
    ids = {e.venue_id for e in exposures if e.venue_id is not None}
    if not ids:
        return {}
    return dict(session.execute(select(Venue.id, Venue.code).where(Venue.id.in_(ids))).all())


def case_data(session: Session, case: Case) -> dict[str, Any]:
    person = session.get(Person, case.person_id)
    document = person.main_document if person else None
    return {
        "code": case.code,
        "document_number": document.number if document else None,
        "full_name": person.full_name if person else None,
        "unit_code": case.unit_code,
        "reference_time": case.reference_time.isoformat(),
        "reference_kind": case.reference_kind,
        "isolated_at": case.isolated_at.isoformat(),
        "source": case.source,
        "classification": case.classification,
        "severity": case.severity,
        "from_contact": str(case.from_contact_id) if case.from_contact_id else None,
        "cluster_id": str(case.cluster_id) if case.cluster_id else None,
    }


def trace_data(
    session: Session, result: TraceResult, contacts: Sequence[ContactView]
) -> dict[str, Any]:
    venues = _venue_codes(session, [e for view in contacts for e in view.exposures])
    return {
        "case": case_data(session, result.case),
        "policy": result.policy.as_dict(),
        "new_contacts": result.new_contacts,
        "new_exposures": result.new_exposures,
        "contacts": [
            {
                # Someone living outside the reader's units stays anonymous to them.
                "document_number": (
                    view.person.main_document.number
                    if view.visible and view.person.main_document
                    else None
                ),
                "full_name": view.person.full_name if view.visible else None,
                "degree": view.contact.degree,
                "status": view.contact.status,
                "unit_code": view.contact.unit_code,
                "exposures": [
                    {
                        "via": e.via,
                        "venue_code": venues.get(e.venue_id) if e.venue_id else None,
                        "vehicle_plate": e.vehicle_plate or None,
                        "start": e.start.isoformat(),
                        "end": e.end.isoformat(),
                        "overlap_minutes": e.overlap_minutes,
                    }
                    for e in view.exposures
                ],
            }
            for view in contacts
        ],
    }


CONTACT_KEYS = ("document_number", "full_name", "degree")
EXPOSURE_KEYS = ("via", "venue_code", "start", "end", "overlap_minutes")


def contact_list(data: dict[str, Any]) -> dict[str, Any]:
    """The published shape of a traced case (`phongdich trace --json`): the case, the policy
    and each contact with its exposures, with exactly the keys scripts rely on."""
    return {
        "case": data["case"],
        "policy": data["policy"],
        "contacts": [
            {
                **{key: contact[key] for key in CONTACT_KEYS},
                "exposures": [{key: e[key] for key in EXPOSURE_KEYS} for e in contact["exposures"]],
            }
            for contact in data["contacts"]
        ],
    }
