"""Campaigns: who may create, see and run them; sites and teams; the population; progress."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.roles import Role
from phongdich.db import utcnow
from phongdich.errors import Conflict, Forbidden, Invalid, NotFound
from phongdich.testing import campaigns, figures, labs
from phongdich.testing.models import Campaign
from phongdich.testing.schemas import CampaignInput, SiteInput
from tests.factories import (
    BA_DINH,
    HANG_BAC,
    PHUC_XA,
    TAN_DINH,
    TRUC_BACH,
    audit_entries,
    cccd,
    make_person,
    make_user,
)
from tests.testing.factories import SYSTEM, enter, fill_tube, make_campaign, make_lab, ship


def campaign_input(**overrides: object) -> CampaignInput:
    values: dict[str, object] = {
        "name": "Xét nghiệm quận Ba Đình",
        "unit_code": BA_DINH,
        "target_unit_codes": [PHUC_XA],
        "max_pool_size": 10,
        "starts_on": date(2021, 9, 1),
        "ends_on": date(2021, 9, 14),
    }
    values.update(overrides)
    return CampaignInput.model_validate(values)


def district_campaign(session: Session) -> tuple[Campaign, Actor]:
    _, district = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)
    created = campaigns.create_campaign(session=session, actor=district, data=campaign_input())
    return created, district


def test_an_officer_creates_a_campaign_in_their_area(session: Session) -> None:
    campaign, district = district_campaign(session)
    assert campaign.code.startswith("XN-")
    assert (campaign.unit_code, campaign.method, campaign.population) == (
        BA_DINH,
        "pcr",
        "residents",
    )
    assert (campaign.current_round, campaign.status, campaign.created_by) == (
        1,
        "active",
        district.username,
    )
    assert campaigns.target_codes(session, campaign) == [PHUC_XA]
    assert [e.object_type for e in audit_entries(session, object_id=campaign.id)] == ["campaign"]


def test_no_targets_means_the_running_unit_and_the_method_has_aliases(session: Session) -> None:
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    created = campaigns.create_campaign(
        session=session,
        actor=officer,
        data=campaign_input(unit_code=PHUC_XA, target_unit_codes=[], method="Test nhanh"),
    )
    assert campaigns.target_codes(session, created) == [PHUC_XA]
    assert created.method == "rapid_antigen"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"unit_code": TRUC_BACH, "target_unit_codes": []}, "unit_code"),
        ({"unit_code": "99999"}, "unit_code"),
        ({"unit_code": PHUC_XA, "target_unit_codes": [TRUC_BACH]}, "target_unit_codes.0"),
        ({"unit_code": PHUC_XA, "target_unit_codes": [PHUC_XA, "99999"]}, "target_unit_codes.1"),
        ({"unit_code": PHUC_XA, "ends_on": date(2021, 8, 31)}, "ends_on"),
        ({"unit_code": PHUC_XA, "ends_on": date(2022, 9, 30)}, "ends_on"),
        ({"unit_code": PHUC_XA, "method": "smell"}, "method"),
        ({"unit_code": PHUC_XA, "name": " x "}, "name"),
    ],
)
def test_creation_rules(session: Session, overrides: dict[str, object], field: str) -> None:
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    with pytest.raises(Invalid) as caught:
        campaigns.create_campaign(session=session, actor=officer, data=campaign_input(**overrides))
    assert caught.value.field == field


def test_a_district_campaign_may_not_target_another_district(session: Session) -> None:
    _, district = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)
    with pytest.raises(Invalid) as caught:
        campaigns.create_campaign(
            session=session, actor=district, data=campaign_input(target_unit_codes=[HANG_BAC])
        )
    assert caught.value.field == "target_unit_codes.0"


def test_a_campaign_code_is_used_once(session: Session) -> None:
    campaigns.create_campaign(session=session, actor=SYSTEM, data=campaign_input(code="bd-01"))
    with pytest.raises(Conflict):
        campaigns.create_campaign(session=session, actor=SYSTEM, data=campaign_input(code="BD-01"))


@pytest.mark.parametrize("role", [Role.SAMPLING_STAFF, Role.LAB_TECHNICIAN, Role.CITIZEN])
def test_only_officials_create_campaigns(session: Session, role: Role) -> None:
    _, actor = make_user(session, role, None if role is Role.CITIZEN else PHUC_XA)
    with pytest.raises(Forbidden):
        campaigns.create_campaign(
            session=session, actor=actor, data=campaign_input(unit_code=PHUC_XA)
        )


def test_who_sees_and_who_manages_a_district_campaign(session: Session) -> None:
    campaign, district = district_campaign(session)
    _, commune = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    _, elsewhere = make_user(session, Role.PROVINCE_OFFICER, "79")
    _, other_district = make_user(session, Role.DISTRICT_OFFICER, "002")
    # The covered commune's officer sees it and its progress, but does not run it.
    assert campaigns.get_campaign(session=session, actor=commune, code=campaign.code) is campaign
    assert campaign in campaigns.list_campaigns(session=session, actor=commune)
    figures.progress(session=session, actor=commune, code=campaign.code)
    with pytest.raises(NotFound):
        campaigns.managed_campaign(session=session, actor=commune, code=campaign.code)
    with pytest.raises(NotFound):
        campaigns.next_round(session=session, actor=commune, code=campaign.code)
    with pytest.raises(NotFound):
        campaigns.add_site(
            session=session,
            actor=commune,
            campaign_code=campaign.code,
            data=SiteInput(code="S-1", name="Trạm 1", unit_code=PHUC_XA),
        )
    for outsider in (elsewhere, other_district):
        with pytest.raises(NotFound):
            campaigns.get_campaign(session=session, actor=outsider, code=campaign.code)
        assert campaign not in campaigns.list_campaigns(session=session, actor=outsider)
    # The lower-case code reaches it too.
    assert (
        campaigns.managed_campaign(session=session, actor=district, code=campaign.code.lower())
        is campaign
    )


def test_rounds_and_closing(session: Session) -> None:
    campaign, district = district_campaign(session)
    assert (
        campaigns.next_round(session=session, actor=district, code=campaign.code).current_round == 2
    )
    campaigns.close_campaign(session=session, actor=district, code=campaign.code)
    assert campaign.status == "closed"
    with pytest.raises(Invalid) as caught:
        campaigns.next_round(session=session, actor=district, code=campaign.code)
    assert caught.value.reason == "the campaign is closed"
    assert [e.action for e in audit_entries(session, object_id=campaign.id)] == [
        "create",
        "next-round",
        "close",
    ]


def test_sites_lie_inside_the_running_unit_and_codes_are_unique(session: Session) -> None:
    campaign, district = district_campaign(session)
    site = campaigns.add_site(
        session=session,
        actor=district,
        campaign_code=campaign.code,
        data=SiteInput(
            code="nvh-5", name="Nhà văn hóa tổ 5", unit_code=TRUC_BACH, address=" Ngõ 2 "
        ),
    )
    assert (site.code, site.unit_code, site.address) == ("NVH-5", TRUC_BACH, "Ngõ 2")
    with pytest.raises(Conflict):
        campaigns.add_site(
            session=session,
            actor=district,
            campaign_code=campaign.code,
            data=SiteInput(code="NVH-5", name="Trạm khác", unit_code=PHUC_XA),
        )
    with pytest.raises(Invalid) as caught:
        campaigns.add_site(
            session=session,
            actor=SYSTEM,
            campaign_code=campaign.code,
            data=SiteInput(code="HB-1", name="Hàng Bạc", unit_code=HANG_BAC),
        )
    assert caught.value.field == "unit_code"
    assert [s.code for s in campaigns.sites_of(session, campaign)] == ["NVH-5"]
    assert campaigns.get_site(session, campaign, "nvh-5") is site
    with pytest.raises(NotFound):
        campaigns.get_site(session, campaign, "NOPE")


def test_only_sampling_staff_and_officials_join_a_team(session: Session) -> None:
    campaign, site = make_campaign(session)
    sampler, _ = make_user(session, Role.SAMPLING_STAFF, TRUC_BACH)
    official, _ = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    for user in (sampler, official, sampler):
        campaigns.assign_staff(
            session=session,
            actor=SYSTEM,
            campaign_code=campaign.code,
            site_code=site.code,
            username=user.username.upper(),
        )
    assert campaigns.staff_of(session, [site.id])[site.id] == sorted(
        [sampler.username, official.username]
    )
    assert len(audit_entries(session, action="assign")) == 2
    for role in (Role.LAB_TECHNICIAN, Role.VENUE_MANAGER, Role.CHECKPOINT_OFFICER):
        user, _ = make_user(session, role, PHUC_XA)
        with pytest.raises(Invalid) as caught:
            campaigns.assign_staff(
                session=session,
                actor=SYSTEM,
                campaign_code=campaign.code,
                site_code=site.code,
                username=user.username,
            )
        assert caught.value.reason == "only sampling staff and officials sample"
    with pytest.raises(Invalid) as caught:
        campaigns.assign_staff(
            session=session,
            actor=SYSTEM,
            campaign_code=campaign.code,
            site_code=site.code,
            username="nobody-here",
        )
    assert caught.value.field == "username"


def test_a_site_is_open_to_local_staff_and_to_its_lent_team(session: Session) -> None:
    campaign, site = make_campaign(session)
    _, local = make_user(session, Role.SAMPLING_STAFF, PHUC_XA)
    lent_user, lent = make_user(session, Role.SAMPLING_STAFF, TAN_DINH)
    _, lab = make_user(session, Role.LAB_TECHNICIAN, PHUC_XA)
    assert campaigns.may_sample_at(session, local, site)
    assert not campaigns.may_sample_at(session, lent, site)
    assert not campaigns.may_sample_at(session, lab, site)
    assert campaigns.sites_for(session, lent) == []
    campaigns.assign_staff(
        session=session,
        actor=SYSTEM,
        campaign_code=campaign.code,
        site_code=site.code,
        username=lent_user.username,
    )
    assert campaigns.may_sample_at(session, lent, site)
    assert campaigns.sites_for(session, lent) == [(campaign, site)]
    campaigns.close_campaign(session=session, actor=SYSTEM, code=campaign.code)
    assert campaigns.sites_for(session, lent) == []


def test_a_people_list_replaces_the_residents(session: Session) -> None:
    campaign, _ = make_campaign(session)
    workers = [make_person(session, permanent_unit_code=TRUC_BACH) for _ in range(2)]
    make_person(session)  # a resident of Phúc Xá
    before = campaigns.population_by_unit(session, campaign)
    assert before == {PHUC_XA: 1}
    numbers = [w.documents[0].number for w in workers]
    text = "document_number,name\n" + "\n".join(
        [f"{numbers[0]},A", "12ab,B", f"{cccd()},C", f"{numbers[1]},D", f"{numbers[0]},A"]
    )
    report = campaigns.import_people(
        session=session, actor=SYSTEM, campaign_code=campaign.code, source=text
    )
    assert (report.created, report.unchanged) == (2, 1)
    assert [(e.line, e.field) for e in report.errors] == [
        (3, "document_number"),
        (4, "document_number"),
    ]
    assert report.errors[1].reason == "no registered person holds this document"
    assert campaign.population == "list"
    assert campaigns.population_by_unit(session, campaign) == {TRUC_BACH: 2}
    again = campaigns.import_people(
        session=session, actor=SYSTEM, campaign_code=campaign.code, source=text.encode()
    )
    assert (again.created, again.unchanged, len(again.errors)) == (0, 3, 2)
    assert campaigns.population_by_unit(session, campaign) == {TRUC_BACH: 2}


def test_a_list_with_no_known_people_keeps_the_residents(session: Session) -> None:
    campaign, _ = make_campaign(session)
    report = campaigns.import_people(
        session=session,
        actor=SYSTEM,
        campaign_code=campaign.code,
        source=f"document_number\n{cccd()}\n",
    )
    assert (report.created, len(report.errors)) == (0, 1)
    assert campaign.population == "residents"


def test_a_street_campaign_counts_the_street_only(session: Session) -> None:
    for _ in range(2):
        make_person(session, permanent_address="Số 9 phố Quán Thánh")
    make_person(session, permanent_address="Số 1 phố Hòe Nhai")
    make_person(session, permanent_unit_code=TRUC_BACH, permanent_address="Số 3 Quán Thánh")
    street = campaigns.create_campaign(
        session=session,
        actor=SYSTEM,
        data=campaign_input(address_contains="QUÁN THÁNH", target_unit_codes=[PHUC_XA]),
    )
    assert street.address_contains == "quan thanh"
    assert campaigns.population_by_unit(session, street) == {PHUC_XA: 2}
    whole = campaigns.create_campaign(
        session=session, actor=SYSTEM, data=campaign_input(target_unit_codes=[])
    )
    assert campaigns.population_by_unit(session, whole) == {PHUC_XA: 3, TRUC_BACH: 1}
    progress = figures.progress(session=session, actor=SYSTEM, code=street.code)
    assert progress.total.to_sample == 2
    assert progress.units[PHUC_XA].to_sample == 2


def test_progress_per_unit_and_per_site(session: Session) -> None:
    campaign, site = make_campaign(session)
    second = campaigns.add_site(
        session=session,
        actor=SYSTEM,
        campaign_code=campaign.code,
        data=SiteInput(code="SITE2", name="Trường tiểu học", unit_code=PHUC_XA),
    )
    lab = make_lab(session)
    residents = [make_person(session) for _ in range(6)]
    visitor = make_person(session, permanent_unit_code=TRUC_BACH)
    negative_pool = fill_tube(session, campaign, site, residents[:3])
    positive_pool = fill_tube(session, campaign, second, [residents[3], visitor])
    single = fill_tube(session, campaign, site, [residents[4]], kind="single")
    waiting = fill_tube(session, campaign, site, [residents[5]], kind="single")
    ship(session, lab, [negative_pool, positive_pool, single, waiting])
    enter(session, negative_pool, "negative")
    enter(session, positive_pool, "positive", ct=30.0)
    enter(session, single, "positive", ct=21.0)

    progress = figures.progress(session=session, actor=SYSTEM, code=campaign.code)
    assert progress.round == 1
    phuc_xa, truc_bach = progress.units[PHUC_XA], progress.units[TRUC_BACH]
    # Members of the positive pool have no result of their own until retested.
    assert (phuc_xa.to_sample, phuc_xa.sampled, phuc_xa.results_back) == (6, 6, 4)
    assert (phuc_xa.positive, phuc_xa.waiting_retest) == (1, 1)
    assert (truc_bach.to_sample, truc_bach.sampled, truc_bach.results_back) == (None, 1, 0)
    assert truc_bach.waiting_retest == 1
    total = progress.total
    assert (total.to_sample, total.sampled, total.results_back, total.positive) == (6, 7, 4, 1)
    assert total.waiting_retest == 2
    assert (progress.sites[site.id].sampled, progress.sites[site.id].positive) == (5, 1)
    assert (progress.sites[second.id].sampled, progress.sites[second.id].results_back) == (2, 0)
    assert progress.tubes == {"resulted": 3, "shipped": 1}
    # Individual results of the last 7 days: 3 negatives, 1 positive.
    assert progress.positivity == pytest.approx(0.25)
    assert progress.tested_7d == 4
    assert progress.suggested is not None
    assert (progress.suggested.prevalence, progress.suggested.pool_size) == (0.25, 3)
    assert progress.suggested.max_pool_size == 10
    # The visitor's retest comes back positive: counted where the pool was sampled.
    retest = fill_tube(session, campaign, site, [visitor], kind="single")
    ship(session, lab, [retest])
    enter(session, retest, "positive", ct=25.0)
    after = figures.progress(session=session, actor=SYSTEM, code=campaign.code)
    assert (after.units[TRUC_BACH].results_back, after.units[TRUC_BACH].positive) == (1, 1)
    assert (after.sites[second.id].results_back, after.sites[second.id].positive) == (1, 1)
    assert (after.total.sampled, after.total.results_back, after.total.positive) == (7, 5, 2)
    assert after.total.waiting_retest == 1


def test_progress_counts_the_current_round_and_positivity_a_week(session: Session) -> None:
    campaign, site = make_campaign(session, max_pool_size=5)
    lab = make_lab(session)
    people = [make_person(session) for _ in range(4)]
    pool = fill_tube(session, campaign, site, people)
    ship(session, lab, [pool])
    enter(session, pool, "negative")
    assert figures.progress(session=session, actor=SYSTEM, code=campaign.code).total.sampled == 4
    campaigns.next_round(session=session, actor=SYSTEM, code=campaign.code)
    later = figures.progress(session=session, actor=SYSTEM, code=campaign.code)
    assert (later.round, later.total.sampled, later.total.to_sample, later.tubes) == (2, 0, 4, {})
    assert later.positivity == 0.0
    assert later.suggested is not None
    assert later.suggested.pool_size == 5
    old = figures.progress(
        session=session, actor=SYSTEM, code=campaign.code, now=utcnow() + timedelta(days=8)
    )
    assert (old.positivity, old.tested_7d, old.suggested) == (None, 0, None)
    # A lab in another province never changes the unit's positivity.
    assert labs.list_labs(session=session) == [lab]


def test_waiting_retests_count_people_of_the_current_round(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    people = [make_person(session) for _ in range(3)]
    pool = fill_tube(session, campaign, site, people)
    ship(session, lab, [pool])
    enter(session, pool, "positive", ct=31.0)
    assert (
        figures.progress(session=session, actor=SYSTEM, code=campaign.code).total.waiting_retest
        == 3
    )
    campaigns.next_round(session=session, actor=SYSTEM, code=campaign.code)
    later = figures.progress(session=session, actor=SYSTEM, code=campaign.code)
    assert (later.round, later.total.sampled, later.total.waiting_retest) == (2, 0, 0)


def test_labs_and_venue_managers_do_not_see_campaigns(session: Session) -> None:
    campaign, _ = make_campaign(session)
    for role in (Role.LAB_TECHNICIAN, Role.VENUE_MANAGER):
        _, actor = make_user(session, role, PHUC_XA)
        with pytest.raises(NotFound):
            campaigns.get_campaign(session=session, actor=actor, code=campaign.code)
        assert campaigns.list_campaigns(session=session, actor=actor) == []
