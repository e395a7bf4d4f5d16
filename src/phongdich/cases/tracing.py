"""Tracing: from an F0 to every F1 and F2 by the policy's rules, idempotently.

The F0's infectious window runs from `window_before` ahead of the reference time to the case's
isolation. F1 are found from that window; F2 by the same rules from each F1's window, from their
first exposure until their quarantine began. A second run adds only what is new: contacts are
unique per case and person, exposures per contact and key.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from phongdich.auth import audit
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.cases import clusters, exposures, quarantine
from phongdich.cases import policy as policies
from phongdich.cases.exposures import Found
from phongdich.cases.models import Case, CaseEvent, Contact, Exposure, QuarantineOrder
from phongdich.cases.policy import Policy
from phongdich.db import utcnow
from phongdich.persons.models import Person

CONTACTS: Table = Contact.__table__  # type: ignore[assignment]  # for bulk inserts
EXPOSURES: Table = Exposure.__table__  # type: ignore[assignment]  # for bulk inserts


@dataclass(frozen=True)
class TraceResult:
    case: Case
    policy: Policy
    contacts: Sequence[Contact]  # every contact of the case, F1 first
    new_contacts: int
    new_exposures: int
    linked_cases: Sequence[Case]


def window(case: Case, policy: Policy) -> tuple[datetime, datetime]:
    return case.reference_time - policy.window_before, case.isolated_at


def open_cases(session: Session, person_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Case]:
    """The open case (not recovered or deceased) of each of these people who has one."""
    people = list(set(person_ids))
    found: dict[uuid.UUID, Case] = {}
    for first in range(0, len(people), 1000):
        for case in session.scalars(
            select(Case).where(
                Case.person_id.in_(people[first : first + 1000]), Case.outcome.is_(None)
            )
        ):
            found[case.person_id] = case
    return found


class Merger:
    """Adds found exposures to a case's contacts: new contacts, new exposures, moved dates."""

    def __init__(self, session: Session, case: Case, policy: Policy, actor: Actor, now: datetime):
        self.session = session
        self.case = case
        self.policy = policy
        self.actor = actor
        self.now = now
        self.contacts = {
            c.person_id: c
            for c in session.scalars(select(Contact).where(Contact.case_id == case.id))
        }
        ids = [c.id for c in self.contacts.values()]
        # (contact, key) -> (exposure, start, end): what earlier runs recorded.
        self.keys: dict[tuple[uuid.UUID, str], tuple[uuid.UUID, datetime, datetime]] = {}
        for first in range(0, len(ids), 1000):
            for exposure_id, contact_id, key, start, end in session.execute(
                select(
                    Exposure.id, Exposure.contact_id, Exposure.key, Exposure.start, Exposure.end
                ).where(Exposure.contact_id.in_(ids[first : first + 1000]))
            ):
                self.keys[(contact_id, key)] = (exposure_id, start, end)
        self.new_contacts = 0
        self.new_exposures = 0
        self.needs: list[quarantine.Need] = []

    def add(self, found: Sequence[Found], degree: int) -> None:
        by_person: dict[uuid.UUID, list[Found]] = defaultdict(list)
        for item in found:
            by_person[item.person_id].append(item)
        units = _units(self.session, [p for p in by_person if p not in self.contacts])
        new_rows: list[dict[str, object]] = []
        exposure_rows: list[dict[str, object]] = []
        for person_id, items in by_person.items():
            contact = self.contacts.get(person_id)
            first = min(i.start for i in items)
            last = max(i.end for i in items)
            via_contact = None
            if degree == 2:
                source = self.contacts.get(items[0].source_person_id)
                via_contact = source.id if source is not None else None
            if contact is None:
                if person_id not in units:
                    continue  # a merged-away record: its survivor is traced instead
                contact_id = uuid.uuid4()
                new_rows.append(
                    {
                        "id": contact_id,
                        "case_id": self.case.id,
                        "person_id": person_id,
                        "degree": degree,
                        "via_contact_id": via_contact,
                        "unit_code": units[person_id],
                        "first_exposure_at": first,
                        "last_exposure_at": last,
                        "status": "active",
                        "policy_version": self.policy.version,
                        "created_at": self.now,
                        "created_by": self.actor.username[:64],
                    }
                )
                self.needs.append(_need(person_id, contact_id, degree, last, units[person_id]))
            else:
                contact_id = contact.id
                moved = False
                if degree < contact.degree:
                    # Exposed to the F0 itself now: the F1 dates count, not the F2 ones.
                    contact.degree, contact.via_contact_id, moved = degree, None, True
                    contact.first_exposure_at, contact.last_exposure_at = first, last
                if degree > contact.degree:
                    continue  # an F1 found again as someone's F2 stays an F1
                if first < contact.first_exposure_at:
                    contact.first_exposure_at = first
                if last > contact.last_exposure_at:
                    contact.last_exposure_at, moved = last, True
                if moved and contact.status == "active":
                    self.needs.append(
                        _need(person_id, contact.id, contact.degree, last, contact.unit_code)
                    )
            for item in items:
                known = self.keys.get((contact_id, item.key))
                if known is not None:
                    self._widen(known, item)
                    continue
                self.keys[(contact_id, item.key)] = (uuid.uuid4(), item.start, item.end)
                exposure_rows.append(
                    {
                        "id": self.keys[(contact_id, item.key)][0],
                        "contact_id": contact_id,
                        "key": item.key,
                        "via": item.via,
                        "source_person_id": item.source_person_id,
                        "venue_id": item.venue_id,
                        "household_id": item.household_id,
                        "vehicle_plate": item.vehicle_plate,
                        "start": item.start,
                        "end": item.end,
                        "overlap_minutes": item.overlap_minutes,
                        "note": "",
                    }
                )
        if new_rows:
            self.session.execute(insert(CONTACTS), new_rows)
            for contact in self.session.scalars(
                select(Contact).where(Contact.id.in_([r["id"] for r in new_rows]))
            ):
                self.contacts[contact.person_id] = contact
        if exposure_rows:
            self.session.execute(insert(EXPOSURES), exposure_rows)
        self.new_contacts += len(new_rows)
        self.new_exposures += len(exposure_rows)
        self.session.flush()

    def _widen(self, known: tuple[uuid.UUID, datetime, datetime], item: Found) -> None:
        """The same exposure seen over a longer time (a wider window, a late check-out)."""
        exposure_id, start, end = known
        if item.start >= start and item.end <= end:
            return
        start, end = min(start, item.start), max(end, item.end)
        minutes = None if item.overlap_minutes is None else int((end - start).total_seconds() // 60)
        self.session.execute(
            update(Exposure)
            .where(Exposure.id == exposure_id)
            .values(start=start, end=end, overlap_minutes=minutes)
        )

    def follow_up(self) -> None:
        quarantine.ensure_orders(
            session=self.session,
            actor=self.actor,
            needs=self.needs,
            policy=self.policy,
            now=self.now,
        )
        self.needs = []


def _need(
    person_id: uuid.UUID,
    contact_id: uuid.UUID,
    degree: int,
    last: datetime,
    unit_code: str | None,
) -> quarantine.Need:
    kind = "quarantine" if degree == 1 else "monitoring"
    return quarantine.Need(person_id, contact_id, kind, last, unit_code)


def _units(session: Session, person_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    """Each live person's unit of residence (merged-away records are left out)."""
    found: dict[uuid.UUID, str | None] = {}
    for first in range(0, len(person_ids), 1000):
        # Merged records are skipped here, not in SQL: with that condition SQLite reads the
        # whole table through the merged_into_id index instead of looking up the keys.
        for pid, temporary, permanent, merged in session.execute(
            select(
                Person.id,
                Person.temporary_unit_code,
                Person.permanent_unit_code,
                Person.merged_into_id,
            ).where(Person.id.in_(person_ids[first : first + 1000]))
        ):
            if merged is None:
                found[pid] = temporary or permanent
    return found


def _f1_windows(
    session: Session, contacts: Iterable[Contact]
) -> dict[uuid.UUID, tuple[datetime, datetime]]:
    """Each active F1's exposure-to-quarantine window: from the first exposure until the
    earliest open order of theirs was issued (they were confined from then on)."""
    active = {c.person_id: c for c in contacts if c.degree == 1 and c.status == "active"}
    issued: dict[uuid.UUID, datetime] = {}
    people = list(active)
    for first in range(0, len(people), 1000):
        for person_id, at in session.execute(
            select(QuarantineOrder.person_id, QuarantineOrder.issued_at).where(
                QuarantineOrder.person_id.in_(people[first : first + 1000]),
                QuarantineOrder.status == quarantine.OPEN,
            )
        ):
            issued[person_id] = min(at, issued.get(person_id, at))
    return {
        person_id: (c.first_exposure_at, issued.get(person_id, c.created_at))
        for person_id, c in active.items()
    }


def trace(
    *, session: Session, actor: Actor, case: Case, now: datetime | None = None
) -> TraceResult:
    """Find and record the case's F1 and F2, their exposures and their orders."""
    actor.require(Permission.CASES_MANAGE)
    now = now or utcnow()
    policy = policies.current(session)
    merger = Merger(session, case, policy, actor, now)

    found = exposures.find(session, {case.person_id: window(case, policy)}, policy)
    cases_of = open_cases(session, [f.person_id for f in found])
    links: dict[uuid.UUID, tuple[Case, Found]] = {}
    first_degree: list[Found] = []
    for item in found:
        if item.person_id == case.person_id:
            continue
        other = cases_of.get(item.person_id)
        if other is not None:
            if other.id != case.id:
                links.setdefault(other.id, (other, item))
            continue
        first_degree.append(item)
    merger.add(first_degree, 1)
    merger.follow_up()

    if policy.trace_f2:
        windows = _f1_windows(session, merger.contacts.values())
        second = exposures.find(session, windows, policy)
        first_contacts = {p for p, c in merger.contacts.items() if c.degree == 1}
        excluded = {case.person_id} | first_contacts
        excluded |= set(open_cases(session, [f.person_id for f in second]))
        merger.add([f for f in second if f.person_id not in excluded], 2)
        merger.follow_up()

    for other, item in links.values():
        clusters.link(session, case, other, clusters.place_of(session, item))
    case.traced_at = now
    case.policy_version = policy.version
    contacts = sorted(merger.contacts.values(), key=lambda c: (c.degree, c.first_exposure_at))
    f1 = sum(1 for c in contacts if c.degree == 1)
    session.add(
        CaseEvent(
            case_id=case.id,
            kind="traced",
            detail=(
                f"F1 {f1}, F2 {len(contacts) - f1}; {merger.new_contacts} new contacts, "
                f"{merger.new_exposures} new exposures (policy {policy.version})"
            ),
            by=actor.username[:64],
        )
    )
    audit.record(
        session,
        actor,
        "trace",
        "case",
        case.id,
        unit_code=case.unit_code,
        detail=f"{len(contacts)} contacts, {merger.new_contacts} new",
    )
    session.flush()
    return TraceResult(
        case=case,
        policy=policy,
        contacts=contacts,
        new_contacts=merger.new_contacts,
        new_exposures=merger.new_exposures,
        linked_cases=[other for other, _ in links.values()],
    )
