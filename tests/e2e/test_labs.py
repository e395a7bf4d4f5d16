"""A lab's day in a real browser: a shipment received with a tube missing, the machine's CSV
with bad rows imported twice, a positive pool of ten whose retests close one by one, a
corrected result with its history, and a citizen of the pool finding their own result."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phongdich.db import utcnow
from phongdich.testing import labs, sampling
from phongdich.testing.models import Campaign, RetestOrder, SamplingSite, Tube
from phongdich.testing.schemas import LabInput
from tests.e2e.conftest import LiveApp, Screenshots
from tests.factories import make_person
from tests.testing.factories import NO_TRUST, SYSTEM, make_campaign, op, ship

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FilePayload, Page

pytestmark = pytest.mark.e2e

PHONE_WIDTH, PHONE_HEIGHT = 390, 844
PHUC_XA = "00001"
TECHNICIAN = "xetnghiem.cdc"  # the demo's technician of the Hà Nội CDC lab, city-wide


@dataclass(frozen=True)
class Member:
    document_number: str
    phone: str


@dataclass(frozen=True)
class Round:
    lab_code: str
    shipment: str
    pool: str
    singles: list[str]
    members: list[Member]


def sampled(
    session: Session,
    campaign: Campaign,
    site: SamplingSite,
    code: str,
    documents: list[str],
    *,
    kind: str,
    at: datetime,
) -> str:
    """A tube filled and closed by the sampling team at `at`: results come later than that."""
    where = {"campaign_code": campaign.code, "site_code": site.code}
    ops = [op("open", code, kind=kind, at=at, **where)]
    ops += [op("add", code, text=number, at=at) for number in documents]
    ops.append(op("close", code, at=at))
    outcome = sampling.apply(session=session, actor=SYSTEM, ops=ops, trust=NO_TRUST)
    assert all(r.status == "applied" for r in outcome.results), outcome
    return code


def a_screening_round(live_app: LiveApp) -> Round:
    """A campaign in Phúc Xá sampled an hour ago: a pool of ten and three single tubes shipped
    to a new lab."""
    tag = uuid.uuid4().hex[:6].upper()
    at = utcnow() - timedelta(hours=1)
    with live_app.database.transaction() as session:
        lab = labs.create_lab(
            session=session,
            actor=SYSTEM,
            data=LabInput(
                code=f"LAB-{tag}",
                name=f"Phòng xét nghiệm {tag}",
                unit_code=PHUC_XA,
                daily_capacity=500,
                methods=["pcr"],
            ),
        )
        campaign, site = make_campaign(session, site_code=f"S{tag}")
        people = [make_person(session, permanent_unit_code=PHUC_XA) for _ in range(10)]
        members = [Member(p.documents[0].number, p.phone or "") for p in people]
        numbers = [m.document_number for m in members]
        pool = sampled(session, campaign, site, f"P-{tag}", numbers, kind="pool", at=at)
        singles = [
            sampled(
                session,
                campaign,
                site,
                f"S-{tag}-{i}",
                [make_person(session, permanent_unit_code=PHUC_XA).documents[0].number],
                kind="single",
                at=at,
            )
            for i in range(3)
        ]
        shipment = ship(session, lab, [pool, *singles])
        return Round(lab.code, shipment, pool, singles, members)


def retests_shipped(live_app: LiveApp, found: Round) -> tuple[str, list[str]]:
    """The sampling team took each pool member's individual retest minutes ago and ships them."""
    at = utcnow() - timedelta(minutes=5)
    with live_app.database.transaction() as session:
        pool = session.scalars(select(Tube).where(Tube.barcode == found.pool)).one()
        campaign = session.get_one(Campaign, pool.campaign_id)
        site = session.get_one(SamplingSite, pool.site_id)
        tubes = [
            sampled(
                session,
                campaign,
                site,
                f"{found.pool}-R{index}",
                [member.document_number],
                kind="single",
                at=at,
            )
            for index, member in enumerate(found.members)
        ]
        return ship(session, labs.find_lab(session, found.lab_code), tubes), tubes


def waiting_retests(live_app: LiveApp, pool: str) -> int:
    """The pool's members whose individual result is not back yet."""
    with live_app.database.transaction() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(RetestOrder)
                .join(Tube, Tube.id == RetestOrder.source_tube_id)
                .where(Tube.barcode == pool, RetestOrder.status.in_(("open", "sampled")))
            )
            or 0
        )


def open_retests(live_app: LiveApp, pool: str) -> int:
    with live_app.database.transaction() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(RetestOrder)
                .join(Tube, Tube.id == RetestOrder.source_tube_id)
                .where(Tube.barcode == pool, RetestOrder.status == "open")
            )
            or 0
        )


def log_in(page: Page, live_app: LiveApp, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(live_app.passwords[username])
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(r"/$"))


def scan(page: Page, barcodes: list[str]) -> None:
    """What a USB scanner does: type each code, then Enter."""
    field = page.get_by_label("Mã vạch ống nghiệm, mỗi dòng một mã")
    for code in barcodes:
        field.press_sequentially(code)
        field.press("Enter")
    page.get_by_role("button", name="Ghi nhận đã nhận mẫu").click()
    page.get_by_text(f"Đã quét {len(barcodes)} mã vạch.").wait_for()


def test_a_lab_runs_a_round_and_a_citizen_finds_the_result(
    page: Page, browser: Browser, live_app: LiveApp, shot: Screenshots
) -> None:
    # Generous waits: the two-core machine may be running other suites at the same time.
    page.set_default_timeout(30_000)
    found = a_screening_round(live_app)
    log_in(page, live_app, TECHNICIAN)

    # The shipment arrives with one single tube missing.
    page.goto("/testing/lab")
    page.get_by_role("heading", name=re.compile(found.lab_code)).wait_for()
    shot(page, "overview")
    page.locator(f'a[href="/testing/lab/shipments/{found.shipment}"]').click()
    page.get_by_role("heading", name=re.compile(found.shipment)).wait_for()
    scan(page, [found.pool, *found.singles[:2]])
    shot(page, "received")
    assert page.locator(".lab-receipt li").all_inner_texts() == [
        "4 ống nghiệm trong lô",
        "3 đã nhận",
        "1 thiếu",
        "0 thừa",
    ]
    assert page.locator(".lab-missing li").all_inner_texts() == [found.singles[2]]

    # The machine's CSV, with two bad rows, imported twice.
    when = utcnow().isoformat()
    csv = (
        "tube_barcode,result,ct_value,method,tested_at\n"
        f"{found.pool},positive,28.4,pcr,{when}\n"
        f"{found.singles[0]},negative,,pcr,{when}\n"
        f"{found.singles[1]},negative,,RT-PCR,{when}\n"
        f"NOPE-{found.pool},negative,,pcr,{when}\n"
        f"{found.singles[2]},maybe,,pcr,{when}\n"
    ).encode()
    upload: FilePayload = {"name": "may-pcr.csv", "mimeType": "text/csv", "buffer": csv}
    page.goto("/testing/lab/results/import")
    page.get_by_label("Phòng xét nghiệm", exact=True).select_option(found.lab_code)
    for attempt in ("first", "second"):
        page.get_by_label("Tệp CSV").set_input_files(files=[upload])
        page.get_by_role("button", name="Nhập kết quả").click()
        page.get_by_role("heading", name=re.compile("may-pcr.csv")).wait_for()
        shot(page, f"import-{attempt}")
        counts = page.locator(".lab-import-counts li").all_inner_texts()
        rows = page.locator("table.rejected tbody tr").all_inner_texts()
        assert [row.split()[0] for row in rows] == ["5", "6"]
        if attempt == "first":
            assert counts == ["3 tạo mới", "0 không thay đổi", "2 bị từ chối"]
        else:
            assert counts == ["0 tạo mới", "3 không thay đổi", "2 bị từ chối"]
        page.get_by_label("Phòng xét nghiệm", exact=True).select_option(found.lab_code)

    # The positive pool orders ten individual retests, which the sampling team takes.
    assert open_retests(live_app, found.pool) == 10
    retest_shipment, retests = retests_shipped(live_app, found)
    assert open_retests(live_app, found.pool) == 0  # sampled, waiting for their results
    assert waiting_retests(live_app, found.pool) == 10
    page.goto(f"/testing/lab/shipments/{retest_shipment}")
    scan(page, retests)
    assert page.locator(".lab-missing").count() == 0

    page.goto("/testing/lab/results")
    for index, code in enumerate(retests):
        page.get_by_label("Mã vạch ống nghiệm").fill(code)
        page.get_by_label("Kết quả", exact=True).select_option(
            "positive" if index == 4 else "negative"
        )
        page.get_by_label("Giá trị Ct").fill("31,2" if index == 4 else "")
        page.get_by_role("button", name="Lưu kết quả").click()
        page.get_by_text(f"Đã lưu kết quả cho ống nghiệm {code}.").wait_for()
        assert waiting_retests(live_app, found.pool) == 9 - index
    shot(page, "retests-done")

    # A single tube's result was wrong: corrected with a reason, both revisions kept.
    page.goto(f"/testing/lab/tubes/{found.singles[0]}")
    page.get_by_label("Kết quả mới").select_option("positive")
    page.get_by_label("Giá trị Ct").fill("24")
    page.get_by_label("Lý do đính chính").fill("Nhầm vị trí mẫu trên khay 2")
    page.get_by_role("button", name="Lưu đính chính").click()
    page.get_by_text("Đã lưu đính chính").wait_for()
    shot(page, "corrected")
    history = page.locator("table.lab-history tbody tr")
    assert history.count() == 2
    first, second = history.all_inner_texts()
    assert first.split("\t")[:2] == ["1", "Âm tính"]
    assert second.split("\t")[:3] == ["2", "Dương tính", "24.0"]
    assert "Nhầm vị trí mẫu trên khay 2" in second
    assert TECHNICIAN in second

    # A citizen of the pool, on their phone, finds their own result.
    context = browser.new_context(
        base_url=live_app.url,
        locale="vi-VN",
        viewport={"width": PHONE_WIDTH, "height": PHONE_HEIGHT},
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(30_000)
    phone = context.new_page()
    try:
        member = found.members[0]
        phone.goto("/results")
        phone.get_by_label("Số giấy tờ").fill(member.document_number)
        phone.get_by_label("Số điện thoại").fill(member.phone)
        phone.get_by_role("button", name="Xem kết quả của tôi").first.click()
        phone.locator(".results-list").wait_for()
        shot(phone, "citizen")
        outcomes = phone.locator(".results-outcome").all_inner_texts()
        # Newest first: their individual retest, then the pool, which waits no more.
        assert outcomes == ["Âm tính", "Mẫu gộp dương tính – xem kết quả xét nghiệm lại đơn"]
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
        # The phone remembers them.
        phone.goto("/results")
        assert phone.locator(".results-outcome").count() == 2
    finally:
        context.close()
