"""Pairing at the sampling site: a tube's barcode, then each person's pass, card or number.

The sampling page queues every step on the device with its own UUID and sends the queue when
the network allows; each step is applied once, in order, and answered applied / duplicate /
rejected, so a re-sent queue changes nothing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import distinct, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from phongdich.auth import audit
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.credentials import scanned
from phongdich.credentials.passes import initials_of
from phongdich.credentials.verify import TrustStore
from phongdich.db import utcnow
from phongdich.errors import Conflict, Invalid, NotFound
from phongdich.persons.models import Person
from phongdich.testing import campaigns
from phongdich.testing.models import Campaign, RetestOrder, Sample, SamplingSite, Shipment, Tube
from phongdich.testing.schemas import (
    BatchOutcome,
    MemberPublic,
    OpOutcome,
    SamplingOp,
    TubePublic,
)
from phongdich.web.reasons import N_

OPEN, CLOSED, SHIPPED, RECEIVED, RESULTED = "open", "closed", "shipped", "received", "resulted"
SINGLE, POOL = "single", "pool"
_BARCODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{3,39}$")
# A device's clock may be off; a step dated further ahead than this is refused.
MAX_CLOCK_AHEAD = timedelta(minutes=10)
MAX_DELAY = timedelta(days=14)
ALREADY_SAMPLED = N_("already sampled in this round")


def barcode(value: str | None, field: str = "barcode") -> str:
    code = (value or "").strip().upper()
    if not _BARCODE.match(code):
        raise Invalid(field, N_("a tube barcode: 4 to 40 letters, digits or '-'"))
    return code


def find_tube(session: Session, code: str) -> Tube | None:
    return session.scalar(select(Tube).where(Tube.barcode == code))


def members(session: Session, tube: Tube) -> Sequence[Sample]:
    return session.scalars(
        select(Sample)
        .where(Sample.tube_id == tube.id, Sample.removed_at.is_(None))
        .order_by(Sample.sampled_at, Sample.id)
    ).all()


def capacity(tube: Tube, campaign: Campaign) -> int:
    return 1 if tube.kind == SINGLE else campaign.max_pool_size


def tube_view(
    session: Session, tube: Tube, colours: dict[uuid.UUID, str] | None = None
) -> TubePublic:
    campaign = session.get_one(Campaign, tube.campaign_id)
    site = session.get_one(SamplingSite, tube.site_id)
    shipment = session.get(Shipment, tube.shipment_id) if tube.shipment_id else None
    lab_code = None
    if tube.lab_id is not None:
        from phongdich.testing.models import Lab

        lab = session.get(Lab, tube.lab_id)
        lab_code = lab.code if lab else None
    people: list[MemberPublic] = []
    for sample in members(session, tube):
        person = session.get_one(Person, sample.person_id)
        people.append(
            MemberPublic(
                sample_id=sample.id,
                initials=initials_of(person.full_name),
                birth_year=person.birth_year,
                colour=(colours or {}).get(sample.id),
                retest=sample.retest_order_id is not None,
            )
        )
    return TubePublic(
        barcode=tube.barcode,
        kind=tube.kind,
        status=tube.status,
        campaign_code=campaign.code,
        site_code=site.code,
        round=tube.round,
        capacity=capacity(tube, campaign),
        members=people,
        result=tube.result,
        result_revision=tube.result_revision,
        shipment_code=shipment.code if shipment else None,
        lab_code=lab_code,
    )


def _when(at: datetime | None, now: datetime) -> datetime:
    if at is None:
        return now
    if at.tzinfo is None:
        raise Invalid("at", "a time with its zone")
    if at > now + MAX_CLOCK_AHEAD:
        raise Invalid("at", N_("in the future: check the device's clock"))
    if at < now - MAX_DELAY:
        raise Invalid("at", N_("more than 14 days ago"))
    return at


def _site_for(session: Session, actor: Actor, op: SamplingOp) -> tuple[Campaign, SamplingSite]:
    if not op.campaign_code:
        raise Invalid("campaign_code", "required to open a tube")
    if not op.site_code:
        raise Invalid("site_code", "required to open a tube")
    # Found by code, not through `sees`: a team lent from another unit samples at the site it
    # was assigned to, in a campaign its own unit does not run.
    code = op.campaign_code.strip().upper()
    campaign = session.scalar(select(Campaign).where(Campaign.code == code))
    if campaign is None:
        raise NotFound("campaign", code)
    site = campaigns.get_site(session, campaign, op.site_code)
    if not campaigns.may_sample_at(session, actor, site):
        raise NotFound("sampling site", op.site_code)
    if campaign.status != campaigns.ACTIVE:
        raise Invalid("campaign_code", N_("the campaign is closed"))
    return campaign, site


def _tube_at_hand(session: Session, actor: Actor, code: str) -> tuple[Tube, Campaign]:
    """A tube the actor may work on: opened at a site where they sample."""
    # Locked until the step commits: two phones adding to one pool at once must not both
    # take its last place.
    tube = session.scalar(select(Tube).where(Tube.barcode == code).with_for_update())
    if tube is None:
        raise NotFound("tube", code)
    site = session.get_one(SamplingSite, tube.site_id)
    if not campaigns.may_sample_at(session, actor, site):
        raise NotFound("tube", code)
    return tube, session.get_one(Campaign, tube.campaign_id)


def open_tube(session: Session, actor: Actor, op: SamplingOp, now: datetime) -> tuple[Tube, bool]:
    """(tube, opened now); the same barcode opened again at the same site is the same tube."""
    code = barcode(op.barcode)
    campaign, site = _site_for(session, actor, op)
    kind = SINGLE if campaign.max_pool_size == 1 else op.kind
    existing = find_tube(session, code)
    if existing is not None:
        # A re-sent queue opens again a tube it has since closed (or shipped): the same tube.
        if existing.site_id == site.id and existing.round == campaign.current_round:
            return existing, False
        raise Conflict(f"tube {code} is already in use")
    at = _when(op.at, now)
    tube = Tube(
        barcode=code,
        campaign_id=campaign.id,
        site_id=site.id,
        unit_code=site.unit_code,
        round=campaign.current_round,
        kind=kind,
        status=OPEN,
        opened_at=at,
        opened_by=actor.username[:64],
    )
    session.add(tube)
    session.flush()
    return tube, True


def _open_order(session: Session, person_id: uuid.UUID) -> RetestOrder | None:
    return session.scalar(
        select(RetestOrder)
        .where(RetestOrder.person_id == person_id, RetestOrder.status == "open")
        .order_by(RetestOrder.created_at)
        .limit(1)
        .with_for_update()  # one retest sample per order, whichever phone is first
    )


def add_sample(
    session: Session,
    actor: Actor,
    op: SamplingOp,
    trust: TrustStore,
    now: datetime,
) -> tuple[Tube, Sample, str | None, bool]:
    """(tube, sample, colour, added now). Retests go into single tubes only, and fulfil the
    person's open retest order."""
    code = barcode(op.barcode)
    known = session.get(Sample, op.id)
    if known is not None:
        return session.get_one(Tube, known.tube_id), known, None, False
    tube, campaign = _tube_at_hand(session, actor, code)
    if tube.status != OPEN:
        raise Invalid("barcode", N_("this tube is closed: open a new one"))
    if not op.text:
        raise Invalid("text", "required: the pass, CCCD QR or document number")
    at = _when(op.at, now)
    site = session.get_one(SamplingSite, tube.site_id)
    who = scanned.identify(
        session, op.text, trust, now, register_unit_code=site.unit_code, where=f"site {site.code}"
    )
    person = who.person
    present = members(session, tube)
    if any(s.person_id == person.id for s in present):
        raise Invalid("text", N_("already in this tube"))
    if len(present) >= capacity(tube, campaign):
        raise Invalid(
            "barcode",
            N_("a single tube holds one person: close it")
            if tube.kind == SINGLE
            else N_("the pool is full: close the tube"),
        )
    order = _open_order(session, person.id)
    sample_campaign, sample_round = campaign.id, tube.round
    if order is not None:
        if tube.kind != SINGLE:
            raise Invalid("text", N_("this person needs an individual retest: use a single tube"))
        order.status = "sampled"
        sample_campaign = order.campaign_id
        source = session.get_one(Tube, order.source_tube_id)
        sample_round = source.round
    else:
        earlier = session.scalar(
            select(Tube.barcode)
            .join(Sample, Sample.tube_id == Tube.id)
            .where(
                Sample.campaign_id == campaign.id,
                Sample.round == tube.round,
                Sample.person_id == person.id,
                Sample.removed_at.is_(None),
                Sample.retest_order_id.is_(None),
            )
            .limit(1)
        )
        if earlier is not None:
            raise Invalid("text", f"already sampled in this round (tube {earlier})")
    sample = Sample(
        id=op.id,
        tube_id=tube.id,
        campaign_id=sample_campaign,
        round=sample_round,
        person_id=person.id,
        unit_code=person.unit_code,
        retest_order_id=order.id if order is not None else None,
        sampled_at=at,
        sampled_by=actor.username[:64],
    )
    session.add(sample)
    session.flush()
    audit.record(session, actor, "sample", "person", person.id, unit_code=person.unit_code)
    return tube, sample, who.colour, True


def remove_sample(
    session: Session, actor: Actor, op: SamplingOp, now: datetime
) -> tuple[Tube, bool]:
    """Undo a wrong scan while the tube is still open."""
    code = barcode(op.barcode)
    tube, _ = _tube_at_hand(session, actor, code)
    if op.sample_id is None:
        raise Invalid("sample_id", "required: the id of the step that added the person")
    sample = session.get(Sample, op.sample_id)
    if sample is None or sample.tube_id != tube.id:
        raise NotFound("sample", op.sample_id)
    if sample.removed_at is not None:
        return tube, False
    if tube.status != OPEN:
        raise Invalid("barcode", N_("this tube is closed: nobody can be taken out"))
    sample.removed_at = _when(op.at, now)
    if sample.retest_order_id is not None:
        order = session.get_one(RetestOrder, sample.retest_order_id)
        order.status = "open"
    session.flush()
    audit.record(session, actor, "unsample", "person", sample.person_id, unit_code=sample.unit_code)
    return tube, True


def close_tube(session: Session, actor: Actor, op: SamplingOp, now: datetime) -> tuple[Tube, bool]:
    code = barcode(op.barcode)
    tube, _ = _tube_at_hand(session, actor, code)
    if tube.status != OPEN:
        return tube, False
    if not members(session, tube):
        raise Invalid("barcode", N_("an empty tube cannot be closed"))
    tube.status = CLOSED
    tube.closed_at = _when(op.at, now)
    session.flush()
    return tube, True


def apply(
    *,
    session: Session,
    actor: Actor,
    ops: Sequence[SamplingOp],
    trust: TrustStore,
    now: datetime | None = None,
) -> BatchOutcome:
    """Apply queued steps in order; each in its own savepoint, so one bad step spoils none."""
    actor.require(Permission.TESTING_SAMPLE)
    now = now or utcnow()
    results: list[OpOutcome] = []
    counts = {"applied": 0, "duplicate": 0, "rejected": 0}
    for op in ops:
        colours: dict[uuid.UUID, str] = {}
        try:
            with session.begin_nested():
                if op.op == "open":
                    tube, done = open_tube(session, actor, op, now)
                elif op.op == "add":
                    tube, sample, colour, done = add_sample(session, actor, op, trust, now)
                    if colour:
                        colours[sample.id] = colour
                elif op.op == "remove":
                    tube, done = remove_sample(session, actor, op, now)
                else:
                    tube, done = close_tube(session, actor, op, now)
        except IntegrityError:
            # Another phone's step for the same person won the race (the unique index).
            results.append(
                OpOutcome(id=op.id, status="rejected", field="text", reason=ALREADY_SAMPLED)
            )
            counts["rejected"] += 1
            continue
        except (Invalid, NotFound, Conflict) as exc:
            field = exc.field if isinstance(exc, Invalid) else "barcode"
            reason = exc.reason if isinstance(exc, Invalid) else str(exc)
            results.append(OpOutcome(id=op.id, status="rejected", field=field, reason=reason))
            counts["rejected"] += 1
            continue
        status = "applied" if done else "duplicate"
        counts[status] += 1
        results.append(OpOutcome(id=op.id, status=status, tube=tube_view(session, tube, colours)))
    return BatchOutcome(**counts, results=results)


def get_tube(*, session: Session, actor: Actor, code: str) -> Tube:
    """For sampling staff (their sites), officials (their area) and the tube's lab."""
    tube = find_tube(session, barcode(code))
    if tube is None:
        raise NotFound("tube", code)
    site = session.get_one(SamplingSite, tube.site_id)
    if campaigns.may_sample_at(session, actor, site):
        return tube
    if actor.can(Permission.TESTING_READ) and campaigns.covers_unit(session, actor, tube.unit_code):
        return tube
    if actor.can(Permission.TESTING_LAB) and tube.lab_id is not None:
        from phongdich.testing.labs import works_at

        if works_at(session, actor, tube.lab_id):
            return tube
    raise NotFound("tube", code)


def retest_orders(
    *, session: Session, actor: Actor, unit_code: str | None = None, status: str = "open"
) -> Sequence[tuple[RetestOrder, Person, Campaign, Tube]]:
    """Who is to be retested, by their unit: what the sampling page of the unit lists."""
    if not (actor.can(Permission.TESTING_SAMPLE) or actor.can(Permission.TESTING_READ)):
        actor.require(Permission.TESTING_READ)
    from phongdich.auth.actor import in_jurisdiction

    query = (
        select(RetestOrder, Person, Campaign, Tube)
        .join(Person, Person.id == RetestOrder.person_id)
        .join(Campaign, Campaign.id == RetestOrder.campaign_id)
        .join(Tube, Tube.id == RetestOrder.source_tube_id)
        .where(RetestOrder.status == status, in_jurisdiction(actor, RetestOrder.unit_code))
        .order_by(RetestOrder.created_at, RetestOrder.id)
        .limit(1000)
    )
    if unit_code:
        query = query.where(RetestOrder.unit_code == unit_code)
    found = session.execute(query).all()
    audit.record_many(
        session,
        actor,
        "read",
        "person",
        [(order.person_id, order.unit_code) for order, *_ in found],
        detail="retest orders",
    )
    return [(o, p, c, t) for o, p, c, t in found]


def waiting_count(session: Session, campaign: Campaign) -> int:
    """People of the current round still waiting for a retest."""
    return int(
        session.scalar(
            select(func.count(distinct(RetestOrder.person_id)))
            .join(Tube, Tube.id == RetestOrder.source_tube_id)
            .where(
                RetestOrder.campaign_id == campaign.id,
                RetestOrder.status.in_(("open", "sampled")),
                Tube.round == campaign.current_round,
            )
        )
        or 0
    )
