"""A campaign's progress: people to sample, sampled, results back, positive and waiting for a
retest, per unit and per site; the unit's positivity and the pool size it suggests."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, distinct, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import Actor
from phongdich.db import utcnow
from phongdich.testing import campaigns, pooling
from phongdich.testing.models import Campaign, RetestOrder, Sample, Tube

POSITIVITY_DAYS = 7


@dataclass
class Figures:
    to_sample: int | None = None
    sampled: int = 0
    results_back: int = 0
    positive: int = 0
    waiting_retest: int = 0


@dataclass(frozen=True)
class Progress:
    campaign: Campaign
    round: int
    total: Figures
    units: dict[str, Figures]
    sites: dict[uuid.UUID, Figures]
    tubes: dict[str, int]
    positivity: float | None
    tested_7d: int
    suggested: pooling.Advice | None


def _sample_counts(
    session: Session, campaign: Campaign, round_: int, key: Any
) -> dict[Any, Figures]:
    """Per key of the screening sample (the person's unit, or the site): people sampled, with an
    individual result (from the screening tube, or from the retest a pool or an invalid tube
    asked for), and positive. A member of a positive pool has no result back until retested."""
    figures: dict[Any, Figures] = defaultdict(Figures)
    retest = aliased(Sample)

    def retested(*outcomes: str) -> ColumnElement[bool]:
        return exists().where(
            retest.person_id == Sample.person_id,
            retest.campaign_id == Sample.campaign_id,
            retest.round == Sample.round,
            retest.retest_order_id.is_not(None),
            retest.removed_at.is_(None),
            retest.outcome.in_(outcomes),
        )

    individual = ("negative", "positive")
    back = or_(Sample.outcome.in_(individual), retested(*individual))
    positive = or_(Sample.outcome == "positive", retested("positive"))
    for value, sampled, with_result, positives in session.execute(
        select(
            key,
            func.count(distinct(Sample.person_id)),
            func.count(distinct(Sample.person_id)).filter(back),
            func.count(distinct(Sample.person_id)).filter(positive),
        )
        .select_from(Sample)
        .join(Tube, Tube.id == Sample.tube_id)
        .where(
            Sample.campaign_id == campaign.id,
            Sample.round == round_,
            Sample.removed_at.is_(None),
            Sample.retest_order_id.is_(None),
        )
        .group_by(key)
    ):
        figures[value].sampled = sampled
        figures[value].results_back = with_result
        figures[value].positive = positives
    return figures


def positivity(
    session: Session, unit_path: str, now: datetime, days: int = POSITIVITY_DAYS
) -> tuple[float | None, int]:
    """Share of individual results that were positive in the unit over the last days."""
    subtree = select(AdminUnit.code).where(
        or_(AdminUnit.path == unit_path, AdminUnit.path.startswith(unit_path + "/"))
    )
    tested, positive = session.execute(
        select(
            func.count(),
            func.count().filter(Sample.outcome == "positive"),
        ).where(
            Sample.outcome.in_(("negative", "positive")),
            Sample.outcome_at >= now - timedelta(days=days),
            Sample.unit_code.in_(subtree.scalar_subquery()),
        )
    ).one()
    return (positive / tested if tested else None), tested


def progress(*, session: Session, actor: Actor, code: str, now: datetime | None = None) -> Progress:
    campaign = campaigns.get_campaign(session=session, actor=actor, code=code)
    now = now or utcnow()
    round_ = campaign.current_round
    units: dict[str, Figures] = defaultdict(Figures)
    for unit_code, n in campaigns.population_by_unit(session, campaign).items():
        units[unit_code].to_sample = n
    for sampled_unit, fig in _sample_counts(session, campaign, round_, Sample.unit_code).items():
        target = units[str(sampled_unit or "")]
        target.sampled, target.results_back, target.positive = (
            fig.sampled,
            fig.results_back,
            fig.positive,
        )
    sites: dict[uuid.UUID, Figures] = defaultdict(Figures)
    for site in campaigns.sites_of(session, campaign):
        sites[site.id] = Figures()
    for site_id, fig in _sample_counts(session, campaign, round_, Tube.site_id).items():
        sites[site_id] = fig
    # People (not orders) still waiting for a retest asked by this round's tubes.
    for order_unit, waiting in session.execute(
        select(RetestOrder.unit_code, func.count(distinct(RetestOrder.person_id)))
        .join(Tube, Tube.id == RetestOrder.source_tube_id)
        .where(
            RetestOrder.campaign_id == campaign.id,
            RetestOrder.status.in_(("open", "sampled")),
            Tube.round == round_,
        )
        .group_by(RetestOrder.unit_code)
    ):
        units[order_unit or ""].waiting_retest = waiting
    total = Figures(to_sample=0)
    for fig in units.values():
        total.to_sample = (total.to_sample or 0) + (fig.to_sample or 0)
        total.sampled += fig.sampled
        total.results_back += fig.results_back
        total.positive += fig.positive
        total.waiting_retest += fig.waiting_retest
    tubes = {
        str(status): int(n)
        for status, n in session.execute(
            select(Tube.status, func.count())
            .where(Tube.campaign_id == campaign.id, Tube.round == round_)
            .group_by(Tube.status)
        )
    }
    rate, tested = positivity(session, campaigns.unit_path(session, campaign.unit_code), now)
    suggested = pooling.advise(rate, campaign.max_pool_size) if rate is not None else None
    return Progress(
        campaign, round_, total, dict(units), dict(sites), tubes, rate, tested, suggested
    )
