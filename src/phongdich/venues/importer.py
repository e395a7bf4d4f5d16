"""Bulk import of venues (a unit's business register): every row checked, bad rows reported.

CSV `code,name,category,unit_code,address,default_visit_minutes`. The code identifies the venue:
importing the file again changes nothing, and a corrected row updates its venue.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth import audit
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.db import utcnow
from phongdich.errors import Invalid
from phongdich.importing import ImportReport, read_source, rows
from phongdich.text import fold, parse_code
from phongdich.venues.models import Venue
from phongdich.venues.schemas import VenueInput
from phongdich.venues.service import APPROVED, CheckedVenue, check, may_manage
from phongdich.web.reasons import N_

COLUMNS = ("code", "name", "category", "unit_code", "address", "default_visit_minutes")
OPTIONAL = ("capacity",)
NOT_A_NUMBER = N_("a whole number")
REPEATED = "the same code is on line {line} with other details"  # see reasons.PATTERNS
CODE_ELSEWHERE = N_("this code belongs to a venue outside your jurisdiction")
FIELDS = ("name", "category", "unit_code", "address", "capacity", "default_visit_minutes")


def _number(value: str, field: str) -> int | None:
    if not value:
        return None
    # isdigit() alone accepts '²' and other digits int() refuses.
    if not (value.isascii() and value.isdigit()):
        raise Invalid(field, NOT_A_NUMBER)
    return int(value)


def _parse(session: Session, actor: Actor, row: dict[str, str]) -> CheckedVenue:
    code = parse_code(row["code"])
    try:
        data = VenueInput(
            code=code,
            name=row["name"],
            category=row["category"],
            unit_code=row["unit_code"],
            address=row["address"],
            capacity=_number(row.get("capacity", ""), "capacity"),
            default_visit_minutes=_number(row["default_visit_minutes"], "default_visit_minutes"),
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        raise Invalid(str(error["loc"][0]) if error["loc"] else "row", error["msg"]) from None
    return check(session, actor, data)


def import_venues(*, session: Session, actor: Actor, source: bytes | str | Path) -> ImportReport:
    actor.require(Permission.VENUES_MANAGE)
    report = ImportReport()
    accepted: dict[str, tuple[int, CheckedVenue]] = {}
    for line, row in rows(read_source(source), required=COLUMNS, optional=OPTIONAL):
        try:
            checked = _parse(session, actor, row)
        except Invalid as exc:
            report.error(line, exc.field, exc.reason)
            continue
        assert checked.code is not None
        earlier = accepted.get(checked.code)
        if earlier is not None:
            if earlier[1] != checked:
                report.error(line, "code", REPEATED.format(line=earlier[0]))
            else:
                report.unchanged += 1
            continue
        accepted[checked.code] = (line, checked)

    existing = {
        v.code: v for v in session.scalars(select(Venue).where(Venue.code.in_(list(accepted))))
    }
    paths: dict[str, str | None] = {}
    now = utcnow()
    created: list[Venue] = []
    updated: list[Venue] = []
    for code, (line, data) in accepted.items():
        venue = existing.get(code)
        if venue is None:
            venue = Venue(
                code=code,
                name_folded=fold(data.name),
                status=APPROVED,
                created_at=now,
                decided_at=now,
                decided_by=actor.username,
                **{name: getattr(data, name) for name in FIELDS},
            )
            session.add(venue)
            created.append(venue)
            continue
        if venue.unit_code not in paths:
            paths[venue.unit_code] = session.scalar(
                select(AdminUnit.path).where(AdminUnit.code == venue.unit_code)
            )
        if not may_manage(actor, venue, paths[venue.unit_code]):
            report.error(line, "code", CODE_ELSEWHERE)
            continue
        changes = {n: getattr(data, n) for n in FIELDS if getattr(venue, n) != getattr(data, n)}
        if not changes:
            report.unchanged += 1
            continue
        for name, value in changes.items():
            setattr(venue, name, value)
        venue.name_folded = fold(venue.name)
        updated.append(venue)
    session.flush()
    report.created, report.updated = len(created), len(updated)
    for items, detail in ((created, "created by venue import"), (updated, "updated by import")):
        audit.record_many(
            session,
            actor,
            "import",
            "venue",
            [(v.id, v.unit_code) for v in items],
            detail=detail,
        )
    return report
