"""Case pages: the list and the form to open a case, the case page with its contacts, tracing
again, changing a case, declaring a contact, jurisdiction, the cluster page and its JSON."""

from __future__ import annotations

import html
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor, system_actor
from phongdich.auth.roles import Role
from phongdich.cases import service, tracing
from phongdich.cases.models import Case, CaseEvent, Contact, QuarantineOrder
from phongdich.checkins import service as checkins
from phongdich.checkins.schemas import CheckinEventIn
from phongdich.config import get_settings
from phongdich.persons.models import Person
from phongdich.venues.models import Venue
from tests.cases.helpers import make_venue
from tests.factories import PHUC_XA, TRUC_BACH, cccd, make_person
from tests.web.pages import field_error, field_value, sign_in

SYSTEM = system_actor("tests")
# Whole minutes, as typed in a datetime-local field.
START = datetime.now(UTC).replace(second=0, microsecond=0)


def ago(hours: float) -> datetime:
    return START - timedelta(hours=hours)


def local(moment: datetime) -> str:
    """What a datetime-local field sends: local time without an offset."""
    return moment.astimezone(get_settings().tz).strftime("%Y-%m-%dT%H:%M")


def text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", page))


def person(session: Session, name: str, unit: str = PHUC_XA) -> tuple[Person, str]:
    number = cccd()
    found = make_person(session, document_number=number, full_name=name, permanent_unit_code=unit)
    return found, number


def visit(session: Session, venue: Venue, who: Person, arrived: datetime, left: datetime) -> None:
    items = [
        CheckinEventIn(
            id=uuid.uuid4(), venue_code=venue.code, person_id=who.id, at=at, direction=way
        )
        for at, way in ((arrived, "in"), (left, "out"))
    ]
    report = checkins.ingest(session=session, actor=SYSTEM, events=items)
    assert set(report.statuses) == {"accepted"}, report.statuses


def open_case(session: Session, who: Person, hours_ago: float = 2) -> Case:
    case, created = service.open_case(
        session=session, actor=SYSTEM, person_id=who.id, reference_time=ago(hours_ago)
    )
    assert created
    tracing.trace(session=session, actor=SYSTEM, case=case)
    return case


@pytest.fixture
def officer(client: TestClient, session: Session) -> Actor:
    return sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)


@pytest.fixture
def market(session: Session) -> Venue:
    return make_venue(session, SYSTEM, name="Chợ Hòe Nhai")


def open_form(number: str, **more: str) -> dict[str, str]:
    return {
        "document_number": number,
        "reference_time": local(ago(3)),
        "symptom_onset": "no",
        "severity": "mild",
        **more,
    }


# The list and opening a case


def test_the_list_shows_open_cases_and_all_on_request(
    client: TestClient, session: Session, officer: Actor
) -> None:
    binh, _ = person(session, "Trần Thị Bình")
    cuong, _ = person(session, "Lê Văn Cường")
    open_one, closed = open_case(session, binh), open_case(session, cuong)
    service.update_case(
        session=session,
        actor=SYSTEM,
        code=closed.code,
        change=service.CaseChange(outcome="recovered"),
    )
    page = client.get("/cases")
    assert page.status_code == 200
    assert f'data-code="{open_one.code}"' in page.text
    assert f'data-code="{closed.code}"' not in page.text
    assert "Trần Thị Bình" in text(page.text)
    every = client.get("/cases?show=all")
    assert f'data-code="{open_one.code}"' in every.text
    assert f'data-code="{closed.code}"' in every.text
    assert "Mở ca bệnh" in text(page.text)
    assert "Open a case" in client.get("/cases?lang=en").text


def test_opening_a_case_traces_it_at_once(
    client: TestClient, session: Session, officer: Actor, market: Venue
) -> None:
    f0, number = person(session, "Phạm Thị Dung")
    neighbour, _ = person(session, "Hoàng Văn Em")
    visit(session, market, f0, ago(10), ago(9))
    visit(session, market, neighbour, ago(9.75), ago(9))
    reference = ago(3)
    sent = client.post(
        "/cases",
        data=open_form(number, reference_time=local(reference), symptom_onset="yes"),
        follow_redirects=False,
    )
    assert sent.status_code == 303, text(sent.text)
    case = session.scalars(select(Case).where(Case.person_id == f0.id)).one()
    assert sent.headers["location"].startswith(f"/cases/{case.code}")
    # The local time typed is read in Asia/Ho_Chi_Minh.
    assert case.reference_time.replace(tzinfo=UTC) == reference
    assert case.reference_kind == "symptom_onset"
    assert case.traced_at is not None
    shown = text(client.get(sent.headers["location"]).text)
    assert "Phạm Thị Dung" in shown
    f1 = re.search(r'data-degree="1">(.*?)</table>', shown, re.S)
    assert f1 is not None
    assert "Hoàng Văn Em" in f1.group(1)
    assert market.code in f1.group(1)
    assert "45 phút" in f1.group(1)
    assert 'id="policy-version">1<' in shown


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"document_number": "12345"}, "document_number", "CCCD có 12 chữ số"),
        ({"document_number": ""}, "document_number", "bắt buộc"),
        ({"reference_time": ""}, "reference_time", "bắt buộc"),
        ({"reference_time": "hôm qua"}, "reference_time", "2021-09-10 08:30"),
        ({"symptom_onset": "maybe"}, "symptom_onset", "có hoặc không"),
        ({"severity": "terrible"}, "severity", "asymptomatic"),
    ],
)
def test_a_refused_open_form_names_the_field(
    client: TestClient,
    session: Session,
    officer: Actor,
    overrides: dict[str, str],
    field: str,
    reason: str,
) -> None:
    _, number = person(session, "Vũ Thị Giang")
    sent = client.post("/cases", data=open_form(number, **overrides))
    assert sent.status_code == 422
    error = field_error(sent.text, field)
    assert error is not None
    assert reason in html.unescape(error), error
    assert field_value(sent.text, "document_number") == overrides.get("document_number", number)
    assert session.scalars(select(Case)).first() is None


def test_unknown_future_and_already_open_are_refused_beside_the_field(
    client: TestClient, session: Session, officer: Actor
) -> None:
    sent = client.post("/cases", data=open_form(cccd()))
    assert sent.status_code == 404
    assert field_error(sent.text, "document_number") is not None
    found, number = person(session, "Đỗ Văn Hải")
    future = client.post("/cases", data=open_form(number, reference_time=local(ago(-5))))
    assert future.status_code == 422
    assert field_error(future.text, "reference_time") == "không được ở tương lai"
    case = open_case(session, found)
    again = client.post("/cases", data=open_form(number))
    assert again.status_code == 422
    assert case.code in (field_error(again.text, "document_number") or "")


# One case


def test_trace_again_reports_the_new_contacts(
    client: TestClient, session: Session, officer: Actor, market: Venue
) -> None:
    f0, _ = person(session, "Ngô Thị Hoa")
    visit(session, market, f0, ago(12), ago(11))
    case = open_case(session, f0)
    late, _ = person(session, "Bùi Văn Khoa")
    visit(session, market, late, ago(11.5), ago(10))  # an upload that came late
    traced = client.post(f"/cases/{case.code}/trace", follow_redirects=False)
    assert traced.status_code == 303
    assert traced.headers["location"] == f"/cases/{case.code}?traced=1"
    page = text(client.get(traced.headers["location"]).text)
    assert "1 người tiếp xúc mới" in page
    assert "Bùi Văn Khoa" in page
    again = client.post(f"/cases/{case.code}/trace", follow_redirects=False)
    assert again.headers["location"] == f"/cases/{case.code}?traced=0"


def test_change_the_severity_and_refuse_a_future_onset(
    client: TestClient, session: Session, officer: Actor
) -> None:
    f0, _ = person(session, "Đinh Thị Lan")
    case = open_case(session, f0)
    changed = client.post(
        f"/cases/{case.code}/change", data={"severity": "severe"}, follow_redirects=False
    )
    assert changed.status_code == 303
    session.refresh(case)
    assert (case.severity, case.classification) == ("severe", "confirmed")
    page = client.get(f"/cases/{case.code}").text
    assert re.search(r'id="case-severity">\s*nặng', page)
    kinds = session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()
    assert "severity" in kinds
    future = client.post(f"/cases/{case.code}/change", data={"symptom_onset": local(ago(-3))})
    assert future.status_code == 422
    assert field_error(future.text, "symptom_onset") == "không được ở tương lai"
    bad = client.post(f"/cases/{case.code}/change", data={"outcome": "gone"})
    assert bad.status_code == 422
    assert field_error(bad.text, "outcome") is not None


def test_add_a_declared_contact(client: TestClient, session: Session, officer: Actor) -> None:
    f0, own_number = person(session, "Mai Thị Ngọc")
    colleague, number = person(session, "Tạ Văn Phúc")
    case = open_case(session, f0)
    form = {"document_number": number, "start": local(ago(20)), "end": local(ago(19))}
    added = client.post(f"/cases/{case.code}/contacts", data=form, follow_redirects=False)
    assert added.status_code == 303, text(added.text)
    contact = session.scalars(select(Contact).where(Contact.person_id == colleague.id)).one()
    assert (contact.degree, contact.case_id) == (1, case.id)
    order = session.scalars(
        select(QuarantineOrder).where(QuarantineOrder.person_id == colleague.id)
    ).one()
    assert order.kind == "quarantine"
    page = text(client.get(f"/cases/{case.code}").text)
    assert "Tạ Văn Phúc" in page
    assert 'data-via="declared"' in page
    backwards = client.post(f"/cases/{case.code}/contacts", data={**form, "end": local(ago(21))})
    assert backwards.status_code == 422
    assert field_error(backwards.text, "end") == "không được trước thời điểm bắt đầu"
    assert field_value(backwards.text, "document_number") == number
    itself = client.post(
        f"/cases/{case.code}/contacts", data={**form, "document_number": own_number}
    )
    assert itself.status_code == 422
    assert field_error(itself.text, "document_number") is not None
    english = client.get(f"/cases/{case.code}?lang=en").text
    assert "Add a declared contact" in english
    assert "Trace again" in english


def test_another_communes_case_is_not_found(
    client: TestClient, session: Session, market: Venue
) -> None:
    f0, _ = person(session, "Lý Thị Quỳnh")
    case = open_case(session, f0)
    sign_in(client, session, Role.COMMUNE_OFFICER, TRUC_BACH)
    page = client.get(f"/cases/{case.code}")
    assert page.status_code == 404
    assert "Lý Thị Quỳnh" not in text(page.text)
    assert client.post(f"/cases/{case.code}/trace").status_code == 404
    assert case.code not in client.get("/cases?show=all").text
    sign_in(client, session, Role.LAB_TECHNICIAN, PHUC_XA)
    assert client.get("/cases").status_code == 403


def test_contacts_outside_the_jurisdiction_are_shown_without_their_names(
    client: TestClient, session: Session, officer: Actor, market: Venue
) -> None:
    f0, _ = person(session, "Hà Thị Vân")
    visitor, _ = person(session, "Tôn Văn Xuân", unit=TRUC_BACH)
    visit(session, market, f0, ago(8), ago(7))
    visit(session, market, visitor, ago(7.5), ago(7))
    case = open_case(session, f0)
    page = text(client.get(f"/cases/{case.code}").text)
    assert 'id="count-f1">1<' in page
    assert "Tôn Văn Xuân" not in page
    assert "Một người ngoài địa bàn của bạn" in page
    assert "Phường Trúc Bạch" in page


# Clusters


def test_cluster_page_embeds_the_graph_and_downloads_it(
    client: TestClient, session: Session, officer: Actor, market: Venue
) -> None:
    f0, _ = person(session, "Cao Thị Sen")
    f1, number = person(session, "Kiều Văn Tài")
    other, _ = person(session, "Âu Thị Uyên")
    visit(session, market, f0, ago(30), ago(29))
    visit(session, market, f1, ago(29.5), ago(28))
    visit(session, market, other, ago(28.5), ago(27))
    first = open_case(session, f0, hours_ago=20)
    sent = client.post("/cases", data=open_form(number), follow_redirects=False)
    assert sent.status_code == 303
    second = session.scalars(select(Case).where(Case.person_id == f1.id)).one()
    session.refresh(first)
    assert second.cluster_id is not None
    assert second.cluster_id == first.cluster_id

    listed = client.get("/clusters").text
    code = re.search(r'data-code="(O-[^"]+)"', listed)
    assert code is not None
    page = client.get(f"/clusters/{code.group(1)}")
    assert page.status_code == 200
    assert '<script src="/static/cluster.js"' in page.text
    embedded = re.search(r'id="cluster-data">(.*?)</script>', page.text, re.S)
    assert embedded is not None
    graph = json.loads(embedded.group(1))
    api = client.get(f"/api/clusters/{code.group(1)}/graph").json()
    assert graph["nodes"] == api["nodes"]
    by_kind = {n["label"]: n["kind"] for n in graph["nodes"]}
    # Uyên met Tài: Sen's F2, and Tài's F1 once Tài became a case; the closest degree shows.
    assert by_kind == {"Cao Thị Sen": "case", "Kiều Văn Tài": "case", "Âu Thị Uyên": "F1"}

    download = client.get(f"/clusters/{code.group(1)}.json")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/json")
    assert download.headers["content-disposition"] == (
        f'attachment; filename="{code.group(1)}.json"'
    )
    assert download.json()["nodes"] == api["nodes"]
    assert client.get("/static/cluster.js").status_code == 200

    sign_in(client, session, Role.COMMUNE_OFFICER, TRUC_BACH)
    assert client.get(f"/clusters/{code.group(1)}").status_code == 404
    assert client.get(f"/clusters/{code.group(1)}.json").status_code == 404
