"""The sampling table in a real browser: pooled and single tubes paired by document number, a
wrong scan undone, steps queued offline and sent once, closed tubes shipped to a lab; and the
official's campaign page with its figures and the suggested pool size."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from phongdich.auth.actor import system_actor
from phongdich.persons.models import Person
from phongdich.testing import campaigns, figures, labs
from phongdich.testing.models import Sample, Shipment, Tube
from phongdich.testing.schemas import CampaignInput, LabInput, SiteInput
from tests.e2e.conftest import LiveApp, Screenshots
from tests.factories import make_person
from tests.testing.factories import enter, fill_tube, ship

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

pytestmark = pytest.mark.e2e

PHONE_WIDTH, PHONE_HEIGHT = 390, 844
PHUC_XA = "00001"
SAMPLER = "laymau.phucxa"  # the demo's sampling team in Phúc Xá
OFFICIAL = "yte.phucxa"
SYSTEM = system_actor("tests")


@dataclass(frozen=True)
class Setting:
    campaign: str
    site: str
    lab: str
    documents: list[str]
    people: list[uuid.UUID]


def a_campaign(live_app: LiveApp, people: int, max_pool_size: int = 5) -> Setting:
    """A campaign in Phúc Xá with one site, a lab, and residents to sample."""
    tag = uuid.uuid4().hex[:6].upper()
    with live_app.database.transaction() as session:
        campaign = campaigns.create_campaign(
            session=session,
            actor=SYSTEM,
            data=CampaignInput.model_validate(
                {
                    "name": f"Xét nghiệm Phúc Xá {tag}",
                    "unit_code": PHUC_XA,
                    "max_pool_size": max_pool_size,
                    "starts_on": "2021-09-01",
                    "ends_on": "2021-09-30",
                }
            ),
        )
        site = campaigns.add_site(
            session=session,
            actor=SYSTEM,
            campaign_code=campaign.code,
            data=SiteInput(code=f"S{tag}", name="Nhà văn hóa tổ 5", unit_code=PHUC_XA),
        )
        lab = labs.create_lab(
            session=session,
            actor=SYSTEM,
            data=LabInput(
                code=f"LAB{tag}", name=f"CDC {tag}", unit_code=PHUC_XA, daily_capacity=1000
            ),
        )
        residents = [make_person(session, permanent_unit_code=PHUC_XA) for _ in range(people)]
        return Setting(
            campaign.code,
            site.code,
            lab.code,
            [p.documents[0].number for p in residents],
            [p.id for p in residents],
        )


def log_in(page: Page, live_app: LiveApp, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(live_app.passwords[username])
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(r"/$"))


def scan(page: Page, selector: str, text: str) -> None:
    """What a USB scanner does: type into the input and press Enter."""
    field = page.locator(selector)
    field.fill(text)
    field.press("Enter")


def queue_count(page: Page, expected: str, timeout: float = 10_000) -> None:
    page.locator("#queue-count").filter(has_text=re.compile(rf"^{expected}$")).wait_for(
        timeout=timeout
    )


def tube_samples(live_app: LiveApp, barcode: str) -> list[tuple[uuid.UUID, bool]]:
    """(person, still in the tube) for every sample row of a tube."""
    with live_app.database.transaction() as session:
        return [
            (person_id, removed_at is None)
            for person_id, removed_at in session.execute(
                select(Sample.person_id, Sample.removed_at)
                .join(Tube, Tube.id == Sample.tube_id)
                .where(Tube.barcode == barcode)
            )
        ]


def tube_status(live_app: LiveApp, barcode: str) -> str | None:
    with live_app.database.transaction() as session:
        return session.scalar(select(Tube.status).where(Tube.barcode == barcode))


def test_a_sampling_team_pairs_tubes_offline_and_ships_them(
    browser: Browser, live_app: LiveApp, shot: Screenshots
) -> None:
    setting = a_campaign(live_app, people=6)
    docs, ids = setting.documents, setting.people
    tag = setting.site[1:]
    pool, single, offline = f"TB-P{tag}", f"TB-S{tag}", f"TB-O{tag}"
    context = browser.new_context(
        base_url=live_app.url,
        locale="vi-VN",
        viewport={"width": PHONE_WIDTH, "height": PHONE_HEIGHT},
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        log_in(page, live_app, SAMPLER)
        page.goto(f"/testing/sample?campaign={setting.campaign}&site={setting.site}")
        shot(page, "sampling-page")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
        assert page.locator("#net-state").inner_text() == "Đang trực tuyến"

        # A pool of three, one of them a wrong scan taken out again.
        scan(page, "#tube-barcode", pool)
        page.locator("#tube-code").filter(has_text=pool).wait_for()
        for document in docs[:3]:
            scan(page, "#person-text", document)
        members = page.locator("#members li:not(.pending)")
        members.nth(2).wait_for()
        assert members.count() == 3
        assert re.search(r"sinh năm \d{4}", members.nth(0).inner_text())
        assert page.locator("#tube-fill").inner_text() == "3 / 5"
        shot(page, "pool-of-three")
        wrong = members.nth(1).get_attribute("data-sample")
        members.nth(1).get_by_role("button", name="Bỏ người này khỏi ống nghiệm").click()
        page.locator("#tube-fill").filter(has_text="2 / 5").wait_for()
        page.get_by_role("button", name="Đóng ống nghiệm").click()
        page.locator("#closed-list").get_by_text(pool).wait_for()
        queue_count(page, "0")
        shot(page, "pool-closed")

        # A single tube for one person.
        page.get_by_label("Mẫu đơn").check()
        scan(page, "#tube-barcode", single)
        page.locator("#tube-kind").filter(has_text="mẫu đơn").wait_for()
        # Someone already in the pool is refused, with the reason in Vietnamese.
        scan(page, "#person-text", docs[0])
        page.locator("#rejected-list").get_by_text(
            f"đã được lấy mẫu trong đợt này (ống {pool})"
        ).wait_for()
        assert page.locator("#members li").count() == 0
        shot(page, "refused")
        page.get_by_role("button", name="Ẩn đi").click()
        assert page.locator("#rejected").is_hidden()
        scan(page, "#person-text", docs[3])
        page.locator("#members li:not(.pending)").first.wait_for()
        assert page.locator("#person-text").is_disabled()  # a single tube holds one person
        page.get_by_role("button", name="Đóng ống nghiệm").click()
        queue_count(page, "0")

        # No network: the steps wait on the phone, counted.
        context.set_offline(True)
        page.get_by_label("Mẫu gộp").check()
        scan(page, "#tube-barcode", offline)
        scan(page, "#person-text", docs[4])
        scan(page, "#person-text", docs[5])
        page.get_by_role("button", name="Đóng ống nghiệm").click()
        queue_count(page, "4")
        assert "Mất mạng" in page.locator("#net-state").inner_text()
        shot(page, "offline-queue")
        assert tube_status(live_app, offline) is None

        # The network comes back but answers are lost on the way: the server applies the
        # steps, the phone never hears it and keeps them. The queue survives a reload.
        lost: list[int] = []
        losing: list[bool] = []

        def answer_lost(route: Route) -> None:
            # Held back entirely until the reload is done (SQLite answers a write racing the
            # page's own audit write with 503, which the page retries anyway), then lost once.
            if losing and not lost and route.fetch().ok:
                lost.append(1)
            route.abort()

        page.route("**/testing/sample/ops", answer_lost)
        context.set_offline(False)
        page.reload()
        queue_count(page, "4")
        losing.append(True)
        for _ in range(300):
            if lost:
                break
            page.wait_for_timeout(100)
        assert lost, "the page did not send its queue again"
        assert tube_status(live_app, offline) == "closed"
        queue_count(page, "4")
        page.unroute("**/testing/sample/ops")
        queue_count(page, "0", timeout=45_000)
        assert page.locator("#net-state").inner_text() == "Đang trực tuyến"
        assert page.locator("#rejected").is_hidden()  # re-sent steps are known, not refused
        shot(page, "sent-once")

        # Ship the three closed tubes.
        page.get_by_role("button", name="Đưa vào chuyến hàng bên dưới").click()
        shipped = page.locator("#f-barcodes").input_value().split()
        assert sorted(shipped) == sorted([pool, single, offline])
        page.locator("#f-lab_code").select_option(setting.lab)
        page.get_by_role("button", name="Gửi chuyến hàng").click()
        code = page.locator("#shipment-code").inner_text()
        shot(page, "shipped")
        assert code.startswith("VC-")
        assert page.locator("#closed-list li").count() == 0
    finally:
        context.close()

    in_pool = tube_samples(live_app, pool)
    assert sorted(in_pool) == sorted([(ids[0], True), (ids[1], False), (ids[2], True)])
    with live_app.database.transaction() as session:
        removed = session.get_one(Sample, uuid.UUID(str(wrong)))
        assert removed.person_id == ids[1]
        assert removed.removed_at is not None
        statuses = dict(
            session.execute(
                select(Tube.barcode, Tube.status).where(Tube.barcode.in_([pool, single, offline]))
            ).all()
        )
        shipment = session.scalars(select(Shipment).where(Shipment.code == code)).one()
        in_shipment = session.scalars(
            select(Tube.barcode).where(Tube.shipment_id == shipment.id)
        ).all()
    assert tube_samples(live_app, single) == [(ids[3], True)]
    # Each person once, although the offline steps reached the server twice.
    assert sorted(tube_samples(live_app, offline)) == sorted([(ids[4], True), (ids[5], True)])
    assert statuses == {pool: "shipped", single: "shipped", offline: "shipped"}
    assert sorted(in_shipment) == sorted([pool, single, offline])


def test_an_official_sees_the_campaign_figures_and_the_suggested_pool_size(
    page: Page, live_app: LiveApp, shot: Screenshots
) -> None:
    setting = a_campaign(live_app, people=8, max_pool_size=10)
    with live_app.database.transaction() as session:
        campaign = campaigns.get_campaign(session=session, actor=SYSTEM, code=setting.campaign)
        site = campaigns.get_site(session, campaign, setting.site)
        people = [session.get_one(Person, person_id) for person_id in setting.people]
        lab = labs.find_lab(session, setting.lab)
        singles = [fill_tube(session, campaign, site, [p], kind="single") for p in people[:6]]
        pooled = fill_tube(session, campaign, site, people[6:])
        ship(session, lab, singles)
        for index, code in enumerate(singles):
            enter(session, code, "positive" if index == 0 else "negative")
        progress = figures.progress(session=session, actor=SYSTEM, code=setting.campaign)
        assert progress.suggested is not None
        suggested = progress.suggested.pool_size
    assert pooled

    log_in(page, live_app, OFFICIAL)
    page.goto("/testing")
    page.locator(f'a[href="/testing/campaigns/{setting.campaign}"]').first.click()
    page.wait_for_url(re.compile(setting.campaign))
    shot(page, "campaign")
    assert page.locator("#results-back").inner_text().startswith("6 / 8")
    assert page.locator("#total-sampled").inner_text() == "8"
    assert page.locator("#suggested-pool-size").inner_text() == str(suggested)
    assert page.locator(".testing-dorfman tbody tr").count() == 10
    best = page.locator(".testing-dorfman tr.testing-best td").first.inner_text()
    assert best == str(suggested)
    site_row = page.locator(f'tr[data-code="{setting.site}"]').inner_text()
    assert "6 / 8" in site_row
