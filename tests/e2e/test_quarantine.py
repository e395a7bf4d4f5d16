"""A commune officer's outbreak day in the browser: the quarantine list and its health checks,
a lockdown declared and narrowed, a zone level overridden.

The demo city may or may not hold an outbreak already: when no order in Phúc Xá is waiting for
today's check, a case is opened for a resident living with others and traced, so the household
gets quarantine orders.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import system_actor
from phongdich.cases import quarantine, service, tracing, zones
from phongdich.cases.models import Case, HealthCheck, QuarantineOrder
from phongdich.db import utcnow
from phongdich.persons.models import Person
from phongdich.text import fold
from tests.e2e.conftest import LiveApp, Screenshots

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

OFFICER = "yte.phucxa"
PHUC_XA = "00001"
SYSTEM = system_actor("tests")
RESIDENT_UNIT = func.coalesce(Person.temporary_unit_code, Person.permanent_unit_code)


def log_in(page: Page, live_app: LiveApp, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(live_app.passwords[username])
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(r"/$"))


def _unchecked_order(session: Session) -> uuid.UUID | None:
    """An open order in Phúc Xá whose person has no health check today."""
    checked_today = select(HealthCheck.order_id).where(HealthCheck.day == zones.today())
    return session.scalar(
        select(QuarantineOrder.id)
        .where(
            QuarantineOrder.status == quarantine.OPEN,
            QuarantineOrder.unit_code == PHUC_XA,
            QuarantineOrder.id.not_in(checked_today),
        )
        .order_by(QuarantineOrder.issued_at)
        .limit(1)
    )


def _outbreak(session: Session) -> None:
    """A Phúc Xá resident living with others in Phúc Xá tests positive and is traced."""
    households = (
        select(Person.household_id)
        .where(Person.household_id.is_not(None), RESIDENT_UNIT == PHUC_XA)
        .group_by(Person.household_id)
        .having(func.count() > 1)
        .scalar_subquery()
    )
    with_cases = select(Case.person_id).scalar_subquery()
    person = session.scalars(
        select(Person)
        .where(
            Person.household_id.in_(households),
            RESIDENT_UNIT == PHUC_XA,
            Person.id.not_in(with_cases),
            Person.merged_into_id.is_(None),
        )
        .order_by(Person.name_folded)
        .limit(1)
    ).one()
    now = utcnow()
    case, _ = service.open_case(
        session=session,
        actor=SYSTEM,
        person_id=person.id,
        reference_time=now - timedelta(hours=2),
        now=now,
    )
    tracing.trace(session=session, actor=SYSTEM, case=case, now=now)


def an_order_to_check(live_app: LiveApp) -> tuple[uuid.UUID, str]:
    """The order's id and the person's name."""
    with live_app.database.transaction() as session:
        order_id = _unchecked_order(session)
        if order_id is None:
            _outbreak(session)
            order_id = _unchecked_order(session)
        assert order_id is not None, "tracing gave no order in Phúc Xá"
        order = session.get_one(QuarantineOrder, order_id)
        return order_id, session.get_one(Person, order.person_id).full_name


def a_street_and_counts(live_app: LiveApp) -> tuple[str, int, int]:
    """Phúc Xá's most lived-in street, its residents and all of Phúc Xá's."""
    with live_app.database.transaction() as session:
        residents = session.execute(
            select(Person.address_folded, Person.temporary_address, Person.permanent_address).where(
                RESIDENT_UNIT == PHUC_XA, Person.merged_into_id.is_(None)
            )
        ).all()
    streets = Counter(
        match.group(1)
        for _, temporary, permanent in residents
        if (match := re.search(r"phố (.+)$", temporary or permanent))
    )
    street, _ = streets.most_common(1)[0]
    on_street = sum(1 for folded, _, _ in residents if fold(street) in folded)
    return street, on_street, len(residents)


def test_record_a_health_check(page: Page, live_app: LiveApp, shot: Screenshots) -> None:
    order_id, name = an_order_to_check(live_app)
    log_in(page, live_app, OFFICER)
    page.get_by_role("navigation").get_by_role("link", name="Cách ly").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Cách ly và theo dõi")
    row = page.locator(f"#order-{order_id}")
    assert name in row.inner_text()
    assert row.locator(".check-status").inner_text().strip() == "chưa khám"
    to_do = int(page.locator("#count-checks").inner_text())
    shot(page, "list")

    row.get_by_text("Ghi kết quả khám sức khỏe").click()
    row.get_by_label("Nhiệt độ (°C)").fill("38,2")
    row.get_by_label("Sốt").check()
    row.get_by_label("Ho", exact=True).check()
    row.get_by_label("Ghi chú").fill("Đã báo trạm y tế")
    shot(page, "form")
    row.get_by_role("button", name="Lưu kết quả khám").click()
    page.wait_for_url(re.compile(r"/quarantine\?day=.*notice=saved"))
    assert page.get_by_text("Đã lưu thay đổi.").is_visible()
    row = page.locator(f"#order-{order_id}")
    assert "đã khám" in row.locator(".check-status").inner_text()
    assert int(page.locator("#count-checks").inner_text()) == to_do - 1
    shot(page, "checked")
    with live_app.database.transaction() as session:
        check = session.scalars(select(HealthCheck).where(HealthCheck.order_id == order_id)).one()
        assert (check.temperature, sorted(check.symptoms)) == (38.2, ["cough", "fever"])


def test_declare_and_narrow_a_lockdown(page: Page, live_app: LiveApp, shot: Screenshots) -> None:
    street, on_street, everyone = a_street_and_counts(live_app)
    assert 0 < on_street < everyone
    log_in(page, live_app, OFFICER)
    page.get_by_role("navigation").get_by_role("link", name="Phong tỏa").click()
    page.get_by_label("Đơn vị (mã)").fill(PHUC_XA)
    page.locator("#f-reason").fill("F0 ở phường Phúc Xá")
    page.get_by_label("Khu vực, mỗi dòng một khu vực").fill(f"quarter {PHUC_XA}")
    page.get_by_role("button", name="Ban bố phong tỏa").click()
    assert "Dòng 1" in page.locator("#e-areas").inner_text()
    shot(page, "bad-line")

    page.get_by_label("Khu vực, mỗi dòng một khu vực").fill(f"unit {PHUC_XA}")
    page.get_by_role("button", name="Ban bố phong tỏa").click()
    page.wait_for_url(re.compile(r"/lockdowns/PT-[A-Z0-9]+\?notice=saved"))
    assert int(page.locator("#residents-total").inner_text()) == everyone
    shot(page, "declared")

    page.get_by_label(re.compile("toàn bộ đơn vị")).check()
    page.get_by_label("Khu vực nhỏ hơn cần thêm, mỗi dòng một khu vực").fill(
        f"street {PHUC_XA} {street}"
    )
    page.locator("#f-reason").fill("Các phố khác âm tính")
    page.get_by_role("button", name="Thu hẹp phong tỏa").click()
    page.wait_for_url(re.compile(r"/lockdowns/PT-[A-Z0-9]+\?notice=saved"))
    assert int(page.locator("#residents-total").inner_text()) == on_street
    history = page.locator("#lockdown-history li")
    assert history.count() == 2
    assert history.nth(0).get_attribute("data-action") == "declare"
    assert "F0 ở phường Phúc Xá" in history.nth(0).inner_text()
    assert history.nth(1).get_attribute("data-action") == "narrow"
    assert "Các phố khác âm tính" in history.nth(1).inner_text()
    assert street in history.nth(1).inner_text()
    shot(page, "narrowed")


LEVEL_NAMES = {1: "Cấp 1 · xanh", 2: "Cấp 2 · vàng", 3: "Cấp 3 · cam", 4: "Cấp 4 · đỏ"}


def test_override_a_zone_level(page: Page, live_app: LiveApp, shot: Screenshots) -> None:
    reason = f"Ổ dịch mới chưa vào số liệu ({uuid.uuid4().hex[:6]})"
    with live_app.database.transaction() as session:
        current = session.get_one(AdminUnit, PHUC_XA).zone_level
    level = 2 if current != 2 else 3
    log_in(page, live_app, OFFICER)
    page.get_by_role("navigation").get_by_role("link", name="Cấp độ dịch").click()
    row = page.locator(f"#unit-{PHUC_XA}")
    row.get_by_text("Điều chỉnh").click()
    row.get_by_role("button", name="Đặt cấp độ").click()
    assert row.locator(f"#e-reason-{PHUC_XA}").is_visible()
    shot(page, "no-reason")

    row = page.locator(f"#unit-{PHUC_XA}")
    row.get_by_label("Cấp", exact=True).select_option(str(level))
    row.get_by_label("Lý do").fill(reason)
    row.get_by_role("button", name="Đặt cấp độ").click()
    page.wait_for_url(re.compile(rf"/zones/{PHUC_XA}\?notice=saved"))
    assert page.locator("#level-now").inner_text() == LEVEL_NAMES[level]
    latest = page.locator("#zone-history tbody tr").first
    assert latest.get_attribute("class") == "overridden"
    cells = latest.locator("td")
    assert cells.nth(1).inner_text() == LEVEL_NAMES[level]
    assert OFFICER in cells.nth(4).inner_text()
    assert cells.nth(5).inner_text() == reason
    page.get_by_role("link", name="‹ Cấp độ dịch").click()
    assert LEVEL_NAMES[level] in page.locator(f"#unit-{PHUC_XA} .zone-badge").inner_text()
    shot(page, "history")
