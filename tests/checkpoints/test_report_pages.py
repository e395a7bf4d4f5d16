"""The report pages, the exports and the API: what officials open each evening."""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pypdfium2  # type: ignore[import-untyped]  # ships no type information
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from phongdich.auth.actor import system_actor
from phongdich.auth.roles import Role
from phongdich.checkpoints import registry, reports
from phongdich.checkpoints.models import Checkpoint
from tests.checkpoints.helpers import Gate, gate, officer
from tests.checkpoints.passages import NewPassage, record_passages
from tests.factories import BA_DINH, HA_NOI, HCM, HOAN_KIEM, PHUC_XA, make_person
from tests.web.pages import sign_in

__all__ = ["gate", "officer"]

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def report_day() -> date:
    return reports.today() - timedelta(days=1)


def cross(session: Session, checkpoint: Checkpoint, people: int, **values: object) -> None:
    at = datetime.combine(report_day(), time(10), tzinfo=LOCAL)
    record_passages(
        session=session,
        actor=system_actor("tests"),
        checkpoint=checkpoint,
        passages=[
            NewPassage(uuid.uuid4(), at, make_person(session).id, **values)  # type: ignore[arg-type]
            for _ in range(people)
        ],
    )


@pytest.fixture
def commune_gate(session: Session, gate: Gate, unique: str) -> Checkpoint:
    """Ba Đình's gate with 2 people from Hồ Chí Minh City, and Phúc Xá's with 3."""
    cross(session, gate.checkpoint, 2, origin_unit_code=HCM)
    checkpoint = registry.register_checkpoint(
        session=session, actor=gate.officer, code=f"PX-{unique}", name="Chốt Phúc Xá",
        unit_code=PHUC_XA,
    )  # fmt: skip
    cross(session, checkpoint, 3, verdict="turn_back")
    return checkpoint


def test_the_district_page_sums_and_lists_its_checkpoints(
    client: TestClient, session: Session, gate: Gate, commune_gate: Checkpoint
) -> None:
    sign_in(client, session, Role.DISTRICT_OFFICER, BA_DINH)
    day = report_day().isoformat()
    page = client.get(f"/checkpoints/reports?day={day}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "Quận Ba Đình" in html
    assert gate.checkpoint.code in html
    assert commune_gate.code in html
    assert 'data-figure="people-in">5<' in html
    assert 'data-figure="turned-back">3<' in html
    assert f'href="/checkpoints/reports?unit={PHUC_XA}&amp;day={day}"' in html  # down a level
    assert f"/checkpoints/{commune_gate.code}/reports/{day}" in html
    assert "Thành phố Hồ Chí Minh" in html  # the origin, by name
    # Down to the commune: its own checkpoint only.
    commune = client.get(f"/checkpoints/reports?unit={PHUC_XA}&day={day}").text
    assert commune_gate.code in commune
    assert gate.checkpoint.code not in commune
    assert 'data-figure="people-in">3<' in commune
    # Today by default, with a link to the previous day.
    today = client.get("/checkpoints/reports")
    assert today.status_code == 200
    assert f"day={(reports.today() - timedelta(days=1)).isoformat()}" in today.text


def test_a_checkpoint_day_page(
    client: TestClient, session: Session, gate: Gate, commune_gate: Checkpoint
) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    day = report_day().isoformat()
    page = client.get(f"/checkpoints/{commune_gate.code}/reports/{day}")
    assert page.status_code == 200, page.text
    assert "Chốt Phúc Xá" in page.text
    assert 'data-figure="turned-back">3<' in page.text
    # Another unit's checkpoint, and the units above, look not found to the commune.
    assert client.get(f"/checkpoints/{gate.checkpoint.code}/reports/{day}").status_code == 404
    assert client.get(f"/checkpoints/reports?unit={BA_DINH}").status_code == 404
    assert client.get(f"/api/checkpoint-reports?unit={HOAN_KIEM}").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/checkpoints/reports?day=yesterday",
        "/checkpoints/reports?day=2021-02-30",
        "/checkpoints/reports?day=2999-01-01",
        "/checkpoints/reports?unit=nowhere",
        "/checkpoints/reports?unit=" + "9" * 60,
        "/checkpoints/reports.xlsx?day=13/13/2021",
        "/checkpoints/reports.pdf?unit=%00",
        "/checkpoints/NO-SUCH/reports/2021-09-10",
        "/checkpoints/CK/reports/not-a-day",
        "/api/checkpoint-reports?day=x",
        "/api/checkpoint-reports?unit=99999",
    ],
)
def test_bad_queries_are_4xx(client: TestClient, session: Session, gate: Gate, url: str) -> None:
    sign_in(client, session, Role.PROVINCE_OFFICER, HA_NOI)
    response = client.get(url)
    assert 400 <= response.status_code < 500, (url, response.status_code)


def test_without_the_permission_the_pages_are_refused(client: TestClient, session: Session) -> None:
    sign_in(client, session, Role.LAB_TECHNICIAN, PHUC_XA)
    assert client.get("/checkpoints/reports").status_code == 403
    assert client.get("/api/checkpoint-reports").status_code == 403


def test_the_xlsx_holds_the_figures(
    client: TestClient, session: Session, gate: Gate, commune_gate: Checkpoint
) -> None:
    sign_in(client, session, Role.DISTRICT_OFFICER, BA_DINH)
    response = client.get(f"/checkpoints/reports.xlsx?unit={BA_DINH}&day={report_day()}")
    assert response.status_code == 200, response.text[-600:]
    assert "attachment" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    figures, checkpoints, origins = book.worksheets
    rows = {row[0]: row[1] for row in figures.iter_rows(values_only=True) if row and row[0]}
    assert rows["Người vào"] == 5
    assert rows["Buộc quay đầu (người)"] == 3
    assert "Quận Ba Đình" in str(figures["A1"].value)
    codes = [str(row[0]) for row in checkpoints.iter_rows(min_row=2, values_only=True)]
    assert any(gate.checkpoint.code in code for code in codes)
    assert any(commune_gate.code in code for code in codes)
    assert [row[:2] for row in origins.iter_rows(min_row=2, values_only=True)] == [
        ("Thành phố Hồ Chí Minh", 2),
        # The commune's passages name no origin: they count in the figures only.
    ]


def test_the_pdf_prints_vietnamese(
    client: TestClient, session: Session, gate: Gate, commune_gate: Checkpoint
) -> None:
    sign_in(client, session, Role.PROVINCE_OFFICER, HA_NOI)
    response = client.get(f"/checkpoints/reports.pdf?unit={BA_DINH}&day={report_day()}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    document = pypdfium2.PdfDocument(response.content)
    try:
        text = "".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()
    flat = " ".join(text.split())
    assert "Báo cáo chốt kiểm soát" in flat
    assert "Quận Ba Đình" in flat
    assert "Chốt Phúc Xá" in flat
    assert "Buộc quay đầu" in flat


def test_the_api_gives_the_roll_up(
    client: TestClient, session: Session, gate: Gate, commune_gate: Checkpoint
) -> None:
    sign_in(client, session, Role.PROVINCE_OFFICER, HA_NOI)
    response = client.get(f"/api/checkpoint-reports?unit={BA_DINH}&day={report_day()}")
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["unit"]["code"] == BA_DINH
    assert data["totals"]["people"]["in"] == 5
    assert data["risk"]["level"] in ("low", "elevated", "high")
    assert {c["code"] for c in data["checkpoints"]} == {gate.checkpoint.code, commune_gate.code}
    assert [c["code"] for c in data["children"]] == [PHUC_XA]
    province = client.get(f"/api/checkpoint-reports?day={report_day()}").json()
    assert province["unit"]["code"] == HA_NOI
    assert province["totals"]["people"]["in"] >= 5


def test_the_national_admin_sees_the_country_in_english(
    client: TestClient, session: Session, gate: Gate, commune_gate: Checkpoint
) -> None:
    sign_in(client, session, Role.NATIONAL_ADMIN)
    page = client.get(f"/checkpoints/reports?day={report_day()}&lang=en")
    assert page.status_code == 200, page.text
    assert "Whole country" in page.text
    assert f'href="/checkpoints/reports?unit={HA_NOI}&amp;day={report_day()}"' in page.text
    assert "people admitted" in page.text
