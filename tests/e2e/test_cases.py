"""A small outbreak opened by hand in a real browser: a district officer opens the case of a
demo resident who went out and lives with others, a household member who became an F1 turns
positive and is opened as a case too, and the cluster page draws both with their contacts the
way the API describes them; the JSON download holds the same graph."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import exists, func, select

from phongdich.cases.models import Case, Contact
from phongdich.checkins.models import CheckinEvent
from phongdich.config import get_settings
from phongdich.db import utcnow
from phongdich.persons.models import IdentityDocument, Person
from tests.e2e.conftest import LiveApp, Screenshots
from tests.e2e.test_officials import log_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

DISTRICT_OFFICER = "yte.badinh"
BA_DINH_COMMUNES = ("00001", "00004")  # Phúc Xá, Trúc Bạch


@dataclass(frozen=True)
class Resident:
    id: uuid.UUID
    full_name: str
    document_number: str


def _resident(session: Any, person: Person) -> Resident:
    number = session.scalars(
        select(IdentityDocument.number)
        .where(IdentityDocument.person_id == person.id)
        .order_by(IdentityDocument.number)
    ).first()
    assert number is not None
    return Resident(person.id, person.full_name, number)


def a_household_that_went_out(live_app: LiveApp) -> tuple[Resident, Resident]:
    """Two people of one Ba Đình household, neither an open case; the first checked in
    somewhere in the last two days. People nobody has traced yet come first, but the demo's
    own outbreak may have made everyone a contact already: the test works either way."""
    since = utcnow() - timedelta(hours=40)
    with live_app.database.transaction() as session:
        here = (
            Person.permanent_unit_code.in_(BA_DINH_COMMUNES)
            & (
                Person.temporary_unit_code.is_(None)
                | Person.temporary_unit_code.in_(BA_DINH_COMMUNES)
            )
            & Person.merged_into_id.is_(None)
            & ~exists().where(Case.person_id == Person.id, Case.outcome.is_(None))
        )
        traced = exists().where(Contact.person_id == Person.id)
        went_out = select(CheckinEvent.person_id).where(CheckinEvent.at >= since)
        sizes = (
            select(Person.household_id)
            .where(Person.merged_into_id.is_(None))
            .group_by(Person.household_id)
            .having(func.count() >= 2)
        )
        for first in session.scalars(
            select(Person)
            .where(here, Person.id.in_(went_out), Person.household_id.in_(sizes))
            .order_by(traced, Person.name_folded, Person.id)
        ):
            second = session.scalars(
                select(Person)
                .where(here, Person.household_id == first.household_id, Person.id != first.id)
                .order_by(traced, Person.name_folded, Person.id)
                .limit(1)
            ).first()
            if second is not None:
                return _resident(session, first), _resident(session, second)
    pytest.fail("the demo city has no Ba Đình household that went out in the last two days")


def open_case_in_the_form(page: Page, resident: Resident, hours_ago: float) -> str:
    """The list page's form, as an officer fills it in; returns the new case's code."""
    page.get_by_role("navigation").get_by_role("link", name="Ca bệnh").click()
    page.wait_for_url(re.compile(r"/cases$"))
    form = page.locator("#open-case")
    form.get_by_label("Số giấy tờ").fill(resident.document_number)
    reference = (utcnow() - timedelta(hours=hours_ago)).astimezone(get_settings().tz)
    form.locator("#f-reference_time").fill(reference.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_role("button", name="Mở ca bệnh và truy vết").click()
    page.wait_for_url(re.compile(r"/cases/BN-[A-Z0-9]+"))
    assert page.get_by_role("heading", level=1).inner_text().startswith(resident.full_name)
    match = re.search(r"/cases/(BN-[A-Z0-9]+)", page.url)
    assert match is not None
    return match.group(1)


def test_a_cluster_opened_by_hand_is_drawn_as_the_api_describes_it(
    page: Page, live_app: LiveApp, shot: Screenshots, tmp_path: Path
) -> None:
    first, second = a_household_that_went_out(live_app)
    log_in(page, live_app, DISTRICT_OFFICER)

    first_code = open_case_in_the_form(page, first, hours_ago=1)
    shot(page, "first-case")
    f1_table = page.locator("table.case-contacts[data-degree='1']")
    member = f1_table.locator(f"tr[data-person='{second.id}']")
    assert member.count() == 1
    assert "hộ gia đình" in member.inner_text()

    second_code = open_case_in_the_form(page, second, hours_ago=0.5)
    timeline = page.locator("#timeline").inner_text()
    assert "Chuyển từ người tiếp xúc thành F0" in timeline
    cluster_link = page.locator(".case-facts a[href^='/clusters/']")
    cluster_code = cluster_link.inner_text().strip()
    cluster_link.click()
    page.wait_for_url(f"**/clusters/{cluster_code}")

    graph = page.locator("#cluster-graph svg")
    graph.wait_for()
    shot(page, "cluster")
    api = page.request.get(f"/api/clusters/{cluster_code}/graph")
    assert api.ok
    data = api.json()
    expected = Counter(node["kind"] for node in data["nodes"])
    drawn = Counter(
        kind
        for kind in graph.locator("[data-kind]").evaluate_all(
            "nodes => nodes.map(n => n.getAttribute('data-kind'))"
        )
    )
    assert drawn == expected
    assert expected["case"] >= 2
    assert expected["F1"] >= 1
    ids = graph.locator("[data-kind]").evaluate_all(
        "nodes => nodes.map(n => n.getAttribute('data-id'))"
    )
    assert sorted(ids) == sorted(node["id"] for node in data["nodes"])
    cases = graph.locator("[data-kind='case']").evaluate_all(
        "nodes => nodes.map(n => n.getAttribute('data-id'))"
    )
    assert {str(first.id), str(second.id)} <= set(cases)
    # One line per pair of people who met, each joining two drawn nodes.
    pairs = {(edge["from"], edge["to"]) for edge in data["edges"]}
    assert graph.locator("line.edge").count() == len(pairs)
    assert graph.locator(".legend [data-legend]").count() == 3
    assert page.locator("[data-count='case']").inner_text() == str(expected["case"])
    codes = page.locator("main").inner_text()
    assert first_code in codes
    assert second_code in codes

    with page.expect_download() as waiting:
        page.get_by_role("link", name="Tải về JSON").click()
    download = waiting.value
    assert download.suggested_filename == f"{cluster_code}.json"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    exported = json.loads(saved.read_text(encoding="utf-8"))
    assert exported["cluster"] == cluster_code
    assert sorted(exported["nodes"], key=lambda n: n["id"]) == sorted(
        data["nodes"], key=lambda n: n["id"]
    )
    assert len(exported["edges"]) == len(data["edges"])
