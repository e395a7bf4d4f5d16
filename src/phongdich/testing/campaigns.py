"""Screening campaigns, their sampling sites and teams, and their progress per unit and site."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth import audit
from phongdich.auth.actor import Actor, covers
from phongdich.auth.models import User
from phongdich.auth.roles import Permission
from phongdich.errors import Conflict, Invalid, NotFound
from phongdich.importing import ImportReport, read_source, rows
from phongdich.persons.documents import parse_document
from phongdich.persons.models import Person
from phongdich.persons.service import document_owner
from phongdich.testing.models import (
    Campaign,
    CampaignPerson,
    CampaignUnit,
    SamplingSite,
    SiteStaff,
)
from phongdich.testing.schemas import CampaignInput, SiteInput
from phongdich.text import clean_name, fold, new_code, parse_code
from phongdich.web.reasons import N_

METHODS = ("pcr", "rapid_antigen")
METHOD_LABELS = {"pcr": N_("RT-PCR"), "rapid_antigen": N_("Rapid antigen test")}
ACTIVE, CLOSED = "active", "closed"
_METHOD_ALIASES = {
    "rt_pcr": "pcr",
    "rtpcr": "pcr",
    "rapid": "rapid_antigen",
    "antigen": "rapid_antigen",
    "test_nhanh": "rapid_antigen",
}
SAMPLERS = ("sampling_staff", "commune_officer", "district_officer", "province_officer")


def unit(session: Session, code: str, field: str) -> AdminUnit:
    found = session.get(AdminUnit, code.strip()) if code and code.strip() else None
    if found is None:
        raise Invalid(field, f"no admin unit with code {code}" if code else "required")
    return found


def managed_unit(session: Session, actor: Actor, code: str, field: str) -> AdminUnit:
    """A unit the actor may run testing in: inside their jurisdiction."""
    found = unit(session, code, field)
    if not covers(actor, found.path):
        raise Invalid(field, N_("outside your jurisdiction"))
    return found


def method(value: str, field: str = "method") -> str:
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    key = _METHOD_ALIASES.get(key, key)
    if key not in METHODS:
        raise Invalid(field, "pcr | rapid_antigen")
    return key


def unit_path(session: Session, code: str) -> str:
    """The unit's path in the tree (its code when unknown)."""
    return session.scalar(select(AdminUnit.path).where(AdminUnit.code == code)) or code


def covers_unit(session: Session, actor: Actor, unit_code: str | None) -> bool:
    return unit_code is not None and covers(actor, unit_path(session, unit_code))


def unit_names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    return {
        str(code): str(name)
        for code, name in session.execute(
            select(AdminUnit.code, AdminUnit.name).where(AdminUnit.code.in_(list(codes)))
        )
    }


def sees(session: Session, actor: Actor, campaign: Campaign) -> bool:
    """Testing staff and officials of the running unit and above, and of every unit inside it,
    see it (labs and venue managers do not)."""
    if not any(actor.can(p) for p in (Permission.TESTING_READ, Permission.TESTING_SAMPLE)):
        return False
    path = unit_path(session, campaign.unit_code)
    if covers(actor, path):
        return True
    return actor.unit_path is not None and actor.unit_path.startswith(path + "/")


def manages(session: Session, actor: Actor, campaign: Campaign) -> bool:
    return actor.can(Permission.TESTING_MANAGE) and covers(
        actor, unit_path(session, campaign.unit_code)
    )


def _unique_code(session: Session) -> str:
    for _ in range(20):
        code = "XN-" + new_code(6)
        if session.scalar(select(Campaign.id).where(Campaign.code == code)) is None:
            return code
    raise Conflict("could not find a free campaign code; try again")


def create_campaign(*, session: Session, actor: Actor, data: CampaignInput) -> Campaign:
    actor.require(Permission.TESTING_MANAGE)
    name = clean_name(data.name)
    if len(name) < 2:
        raise Invalid("name", "required")
    running = managed_unit(session, actor, data.unit_code, "unit_code")
    targets: list[AdminUnit] = []
    for index, code in enumerate(dict.fromkeys(data.target_unit_codes or [running.code])):
        target = unit(session, code, f"target_unit_codes.{index}")
        if not (target.path == running.path or target.path.startswith(running.path + "/")):
            raise Invalid(f"target_unit_codes.{index}", N_("not inside the unit running it"))
        targets.append(target)
    if data.ends_on < data.starts_on:
        raise Invalid("ends_on", "on or after starts_on")
    if (data.ends_on - data.starts_on).days > 366:
        raise Invalid("ends_on", "within a year of starts_on")
    code = parse_code(data.code) if data.code else _unique_code(session)
    if session.scalar(select(Campaign.id).where(Campaign.code == code)) is not None:
        raise Conflict(f"a campaign with code {code} exists")
    campaign = Campaign(
        code=code,
        name=name,
        unit_code=running.code,
        method=method(data.method),
        max_pool_size=data.max_pool_size,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        address_contains=fold(data.address_contains),
        population="residents",
        created_by=actor.username[:64],
    )
    session.add(campaign)
    session.flush()
    for target in targets:
        session.add(CampaignUnit(campaign_id=campaign.id, unit_code=target.code))
    session.flush()
    audit.record(session, actor, "create", "campaign", campaign.id, unit_code=running.code)
    return campaign


def get_campaign(*, session: Session, actor: Actor, code: str) -> Campaign:
    campaign = session.scalar(select(Campaign).where(Campaign.code == code.strip().upper()))
    if campaign is None or not sees(session, actor, campaign):
        raise NotFound("campaign", code)
    return campaign


def managed_campaign(*, session: Session, actor: Actor, code: str) -> Campaign:
    campaign = get_campaign(session=session, actor=actor, code=code)
    if not manages(session, actor, campaign):
        raise NotFound("campaign", code)
    return campaign


def target_codes(session: Session, campaign: Campaign) -> list[str]:
    return list(
        session.scalars(
            select(CampaignUnit.unit_code)
            .where(CampaignUnit.campaign_id == campaign.id)
            .order_by(CampaignUnit.unit_code)
        )
    )


def list_campaigns(*, session: Session, actor: Actor) -> list[Campaign]:
    found = session.scalars(select(Campaign).order_by(Campaign.starts_on.desc(), Campaign.code))
    return [c for c in found if sees(session, actor, c)][:500]


def next_round(*, session: Session, actor: Actor, code: str) -> Campaign:
    """Everyone is to be sampled again (the repeated rounds of 2021's mass testing)."""
    campaign = managed_campaign(session=session, actor=actor, code=code)
    if campaign.status != ACTIVE:
        raise Invalid("code", N_("the campaign is closed"))
    campaign.current_round += 1
    session.flush()
    audit.record(
        session,
        actor,
        "next-round",
        "campaign",
        campaign.id,
        unit_code=campaign.unit_code,
        detail=f"round={campaign.current_round}",
    )
    return campaign


def close_campaign(*, session: Session, actor: Actor, code: str) -> Campaign:
    campaign = managed_campaign(session=session, actor=actor, code=code)
    campaign.status = CLOSED
    session.flush()
    audit.record(session, actor, "close", "campaign", campaign.id, unit_code=campaign.unit_code)
    return campaign


# Sites and teams


def add_site(
    *, session: Session, actor: Actor, campaign_code: str, data: SiteInput
) -> SamplingSite:
    campaign = managed_campaign(session=session, actor=actor, code=campaign_code)
    code = parse_code(data.code)
    place = managed_unit(session, actor, data.unit_code, "unit_code")
    running = unit_path(session, campaign.unit_code)
    if not (place.path == running or place.path.startswith(running + "/")):
        raise Invalid("unit_code", N_("not inside the unit running it"))
    name = clean_name(data.name)
    if len(name) < 2:
        raise Invalid("name", "required")
    exists = session.scalar(
        select(SamplingSite.id).where(
            SamplingSite.campaign_id == campaign.id, SamplingSite.code == code
        )
    )
    if exists is not None:
        raise Conflict(f"the campaign already has a site {code}")
    site = SamplingSite(
        campaign_id=campaign.id,
        code=code,
        name=name,
        unit_code=place.code,
        address=clean_name(data.address),
    )
    session.add(site)
    session.flush()
    audit.record(session, actor, "create", "sampling_site", site.id, unit_code=place.code)
    return site


def sites_of(session: Session, campaign: Campaign) -> Sequence[SamplingSite]:
    return session.scalars(
        select(SamplingSite)
        .where(SamplingSite.campaign_id == campaign.id)
        .order_by(SamplingSite.code)
    ).all()


def get_site(session: Session, campaign: Campaign, code: str) -> SamplingSite:
    site = session.scalar(
        select(SamplingSite).where(
            SamplingSite.campaign_id == campaign.id,
            SamplingSite.code == code.strip().upper(),
        )
    )
    if site is None:
        raise NotFound("sampling site", code)
    return site


def staff_of(session: Session, site_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    found: dict[uuid.UUID, list[str]] = defaultdict(list)
    if site_ids:
        for site_id, username in session.execute(
            select(SiteStaff.site_id, User.username)
            .join(User, User.id == SiteStaff.user_id)
            .where(SiteStaff.site_id.in_(site_ids))
            .order_by(User.username)
        ):
            found[site_id].append(username)
    return found


def assign_staff(
    *, session: Session, actor: Actor, campaign_code: str, site_code: str, username: str
) -> SamplingSite:
    campaign = managed_campaign(session=session, actor=actor, code=campaign_code)
    site = get_site(session, campaign, site_code)
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None or not user.active:
        raise Invalid("username", "no active user with that name")
    if user.role not in SAMPLERS:
        raise Invalid("username", N_("only sampling staff and officials sample"))
    known = session.get(SiteStaff, (site.id, user.id))
    if known is None:
        session.add(SiteStaff(site_id=site.id, user_id=user.id))
        session.flush()
        audit.record(
            session,
            actor,
            "assign",
            "sampling_site",
            site.id,
            unit_code=site.unit_code,
            detail=f"user={user.username}",
        )
    return site


def may_sample_at(session: Session, actor: Actor, site: SamplingSite) -> bool:
    """Staff of the site's area, or assigned to the site from elsewhere (teams are lent)."""
    if not actor.can(Permission.TESTING_SAMPLE):
        return False
    if covers(actor, unit_path(session, site.unit_code)):
        return True
    return (
        actor.user_id is not None and session.get(SiteStaff, (site.id, actor.user_id)) is not None
    )


def sites_for(session: Session, actor: Actor) -> list[tuple[Campaign, SamplingSite]]:
    """The active campaigns' sites where the actor may sample, for the sampling page."""
    rows_ = session.execute(
        select(Campaign, SamplingSite)
        .join(SamplingSite, SamplingSite.campaign_id == Campaign.id)
        .where(Campaign.status == ACTIVE)
        .order_by(Campaign.starts_on.desc(), SamplingSite.code)
    ).all()
    return [(c, s) for c, s in rows_ if may_sample_at(session, actor, s)][:200]


# The population


def import_people(
    *, session: Session, actor: Actor, campaign_code: str, source: bytes | str | Path
) -> ImportReport:
    """A list of people to screen (a factory's workers): one `document_number` per row.

    Makes the campaign's population this list; re-importing adds nobody twice.
    """
    campaign = managed_campaign(session=session, actor=actor, code=campaign_code)
    report = ImportReport()
    text = read_source(source)
    for line, row in rows(text, required=("document_number",)):
        try:
            person = document_owner(session, parse_document(row["document_number"]))
        except Invalid as exc:
            report.error(line, "document_number", exc.reason)
            continue
        if person is None:
            report.error(line, "document_number", N_("no registered person holds this document"))
            continue
        if session.get(CampaignPerson, (campaign.id, person.id)) is not None:
            report.unchanged += 1
            continue
        session.add(
            CampaignPerson(campaign_id=campaign.id, person_id=person.id, unit_code=person.unit_code)
        )
        session.flush()
        report.created += 1
    if report.created:
        campaign.population = "list"
        session.flush()
    audit.record(
        session,
        actor,
        "import",
        "campaign_people",
        campaign.id,
        unit_code=campaign.unit_code,
        detail=f"created={report.created} rejected={len(report.errors)}",
    )
    return report


def _person_unit() -> ColumnElement[str | None]:
    return func.coalesce(Person.temporary_unit_code, Person.permanent_unit_code)


def population_by_unit(session: Session, campaign: Campaign) -> dict[str, int]:
    """How many people the campaign is to sample, per commune (the person's unit)."""
    if campaign.population == "list":
        query = (
            select(CampaignPerson.unit_code, func.count())
            .where(CampaignPerson.campaign_id == campaign.id)
            .group_by(CampaignPerson.unit_code)
        )
        return {code or "": n for code, n in session.execute(query)}
    paths = [unit_path(session, code) for code in target_codes(session, campaign)]
    if not paths:
        return {}
    inside = or_(*(or_(AdminUnit.path == p, AdminUnit.path.startswith(p + "/")) for p in paths))
    conditions: list[ColumnElement[bool]] = [Person.merged_into_id.is_(None), inside]
    if campaign.address_contains:
        conditions.append(Person.address_folded.contains(campaign.address_contains))
    query = (
        select(AdminUnit.code, func.count())
        .select_from(Person)
        .join(AdminUnit, AdminUnit.code == _person_unit())
        .where(and_(*conditions))
        .group_by(AdminUnit.code)
    )
    return {str(code): int(n) for code, n in session.execute(query)}
