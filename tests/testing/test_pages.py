"""Testing pages: the officials' overview and campaign pages, the sampling page, shipping."""

from __future__ import annotations

import html
import re
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from phongdich.persons.models import Person
from phongdich.testing import pooling
from phongdich.testing.models import Campaign, CampaignUnit, Sample, SamplingSite, Tube
from tests.factories import HANG_BAC, PHUC_XA, TRUC_BACH, cccd, make_person, make_user
from tests.testing.factories import enter, fill_tube, make_campaign, make_lab, new_barcode, ship
from tests.web.pages import field_error, field_value, sign_in


def _text(response_text: str) -> str:
    return html.unescape(response_text)


def _campaign_form(**overrides: str) -> dict[str, str]:
    values = {
        "name": "Xét nghiệm phố Hòe Nhai",
        "unit_code": PHUC_XA,
        "target_unit_codes": "",
        "method": "pcr",
        "max_pool_size": "5",
        "starts_on": "2021-09-01",
        "ends_on": "2021-09-10",
        "address_contains": "Hòe Nhai",
    }
    values.update(overrides)
    return values


def _op(step: str, barcode: str, **values: object) -> dict[str, object]:
    return {"id": str(uuid.uuid4()), "op": step, "barcode": barcode, **values}


def _row(page: str, code: str) -> str:
    """The cells of the progress table's row for a unit or site code."""
    match = re.search(rf'<tr data-code="{re.escape(code)}">(.*?)</tr>', page, re.S)
    assert match, f"no row for {code}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


# Who sees what


def test_each_page_is_for_its_role(client: TestClient, session: Session) -> None:
    campaign, _ = make_campaign(session)
    anonymous = client.get("/testing", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/testing"

    sign_in(client, session, Role.LAB_TECHNICIAN, PHUC_XA)
    assert client.get("/testing").status_code == 403
    assert client.get(f"/testing/campaigns/{campaign.code}").status_code == 403
    assert client.get("/testing/campaigns/new").status_code == 403
    assert client.get("/testing/sample").status_code == 403

    sign_in(client, session, Role.VENUE_MANAGER, PHUC_XA)
    assert client.get("/testing/sample").status_code == 403
    refused = client.post("/testing/sample/ops", json={"ops": [_op("close", "TB-00000001")]})
    assert refused.status_code == 403
    assert client.post("/testing/sample/ship", data={"lab_code": "X"}).status_code == 403

    sign_in(client, session, Role.SAMPLING_STAFF, PHUC_XA)
    assert client.get("/testing").status_code == 403
    assert client.get("/testing/sample").status_code == 200

    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    overview = client.get("/testing")
    assert overview.status_code == 200
    assert f'href="/testing/campaigns/{campaign.code}"' in overview.text
    assert 'href="/testing/campaigns/new"' in overview.text

    # Another district's officials do not see the campaign at all.
    sign_in(client, session, Role.COMMUNE_OFFICER, HANG_BAC)
    assert client.get(f"/testing/campaigns/{campaign.code}").status_code == 404
    assert campaign.code not in client.get("/testing").text


def test_the_overview_shows_new_positives_lab_load_and_positivity(
    client: TestClient, session: Session
) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session, capacity=1)
    sick = make_person(session, full_name="Phan Thị Mai")
    well = make_person(session, full_name="Đặng Văn Nam")
    positive = fill_tube(session, campaign, site, [sick], kind="single")
    negative = fill_tube(session, campaign, site, [well], kind="single")
    waiting = fill_tube(session, campaign, site, [make_person(session)])
    ship(session, lab, [positive, negative, waiting])
    enter(session, positive, "positive", ct=24.0)
    enter(session, negative, "negative")

    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    page = _text(client.get("/testing").text)
    assert "Phan Thị Mai" in page
    assert positive in page
    assert "Đặng Văn Nam" not in page  # negatives are not listed
    load_row = re.search(
        rf"<tr[^>]*>\s*<td>CDC Hà Nội <code>{lab.code}</code>(.*?)</tr>", page, re.S
    )
    assert load_row
    cells = re.findall(r"<td>(.*?)</td>", load_row.group(1), re.S)
    assert cells[0:4] == ["1", "0", "1", "2"]  # in transit, waiting, capacity, today
    assert "sắp hết công suất" in load_row.group(1)
    assert "Phường Phúc Xá" in page
    assert "1 / 2" in page  # one positive of two individual results today
    assert "50.0%" in page

    # A sampling team member's unit of another district sees none of it.
    sign_in(client, session, Role.COMMUNE_OFFICER, HANG_BAC)
    assert "Phan Thị Mai" not in _text(client.get("/testing").text)


# Creating a campaign


def test_the_campaign_form_creates_a_campaign(client: TestClient, session: Session) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    form = client.get("/testing/campaigns/new")
    assert form.status_code == 200
    assert field_value(form.text, "unit_code") == PHUC_XA
    created = client.post("/testing/campaigns/new", data=_campaign_form(), follow_redirects=False)
    assert created.status_code == 303
    code = created.headers["location"].split("/")[3].split("?")[0]
    campaign = session.scalars(select(Campaign).where(Campaign.code == code)).one()
    assert (campaign.name, campaign.max_pool_size, campaign.method) == (
        "Xét nghiệm phố Hòe Nhai",
        5,
        "pcr",
    )
    assert campaign.address_contains == "hoe nhai"
    targets = session.scalars(
        select(CampaignUnit.unit_code).where(CampaignUnit.campaign_id == campaign.id)
    ).all()
    assert targets == [PHUC_XA]
    page = client.get(created.headers["location"])
    assert page.status_code == 200
    assert "Xét nghiệm phố Hòe Nhai" in _text(page.text)


def test_campaign_form_errors_are_shown_next_to_the_field_with_the_values_kept(
    client: TestClient, session: Session
) -> None:
    sign_in(client, session, Role.DISTRICT_OFFICER, "001")
    before = session.scalar(select(func.count()).select_from(Campaign))

    no_name = client.post("/testing/campaigns/new", data=_campaign_form(name=""))
    assert no_name.status_code == 422
    assert field_error(no_name.text, "name") == "bắt buộc"
    assert field_value(_text(no_name.text), "address_contains") == "Hòe Nhai"

    pool = client.post("/testing/campaigns/new", data=_campaign_form(max_pool_size="mười"))
    assert pool.status_code == 422
    assert field_error(pool.text, "max_pool_size") == "một số nguyên từ 1 đến 30"
    assert field_value(_text(pool.text), "max_pool_size") == "mười"
    # A digit Python reads as one but int() does not ("²"): the same answer, not a 500.
    squared = client.post("/testing/campaigns/new", data=_campaign_form(max_pool_size="²"))
    assert squared.status_code == 422
    assert field_error(squared.text, "max_pool_size") == "một số nguyên từ 1 đến 30"

    backwards = client.post("/testing/campaigns/new", data=_campaign_form(ends_on="2021-08-01"))
    assert backwards.status_code == 422
    assert field_error(backwards.text, "ends_on") == "bằng hoặc sau ngày bắt đầu"

    bad_date = client.post("/testing/campaigns/new", data=_campaign_form(starts_on="31/02/2021"))
    assert bad_date.status_code == 422
    assert field_error(bad_date.text, "starts_on") == "một ngày dạng YYYY-MM-DD hoặc DD/MM/YYYY"

    outside = client.post(
        "/testing/campaigns/new", data=_campaign_form(target_unit_codes=f"{PHUC_XA}, {TRUC_BACH}")
    )
    assert outside.status_code == 422
    assert field_error(_text(outside.text), "target_unit_codes") == (
        "không nằm trong đơn vị tổ chức chiến dịch"
    )
    assert field_value(outside.text, "target_unit_codes") == f"{PHUC_XA}, {TRUC_BACH}"

    foreign = client.post("/testing/campaigns/new", data=_campaign_form(unit_code=HANG_BAC))
    assert foreign.status_code == 422
    assert field_error(_text(foreign.text), "unit_code") == "ngoài địa bàn của bạn"

    method = client.post("/testing/campaigns/new", data=_campaign_form(method="elisa"))
    assert method.status_code == 422
    assert field_error(_text(method.text), "method") is not None
    assert session.scalar(select(func.count()).select_from(Campaign)) == before

    # The district runs a campaign over both of its communes.
    both = client.post(
        "/testing/campaigns/new",
        data=_campaign_form(unit_code="001", target_unit_codes=f"{PHUC_XA} {TRUC_BACH}"),
        follow_redirects=False,
    )
    assert both.status_code == 303


# A campaign's progress


def test_the_progress_page_shows_the_real_figures(client: TestClient, session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    people = [make_person(session) for _ in range(3)]
    lone = make_person(session)
    pool = fill_tube(session, campaign, site, people)
    single = fill_tube(session, campaign, site, [lone], kind="single")
    fill_tube(session, campaign, site, [make_person(session)], close=False)

    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    page = _text(client.get(f"/testing/campaigns/{campaign.code}").text)
    assert re.search(r'id="results-back"><strong>0 / 5</strong>', page)
    assert 'id="no-advice"' in page
    assert _row(page, site.code).startswith("Nhà văn hóa tổ 5 SITE1 0 / 5")

    ship(session, lab, [pool, single])
    enter(session, pool, "positive", ct=27.0)
    enter(session, single, "negative")
    page = _text(client.get(f"/testing/campaigns/{campaign.code}").text)
    # One of five sampled has a result: the pool's members wait for their retests.
    assert re.search(r'id="results-back"><strong>1 / 5</strong>', page)
    assert 'id="waiting-members">3<' in page
    unit_row = _row(page, PHUC_XA)
    residents = session.scalar(
        select(func.count()).select_from(Person).where(Person.permanent_unit_code == PHUC_XA)
    )
    assert unit_row == f"Phường Phúc Xá {PHUC_XA} 1 / 5 {residents} 5 1 0 3"
    assert re.search(r"<strong>1</strong> đang mở", page)
    assert re.search(r"<strong>2</strong> đã có kết quả", page)
    # One individual result, negative: positivity 0, single tubes best.
    advice = pooling.advise(0.0, campaign.max_pool_size)
    assert f'id="suggested-pool-size">{advice.pool_size}<' in page
    assert page.count('class="testing-best"') == 1
    assert len(re.findall(r"<tr(?: class=\"testing-best\")?><td>\d+</td>", page)) == 10


def test_the_suggested_pool_size_follows_the_positivity(
    client: TestClient, session: Session
) -> None:
    campaign, site = make_campaign(session, max_pool_size=12)
    lab = make_lab(session)
    singles = [
        fill_tube(session, campaign, site, [make_person(session)], kind="single") for _ in range(10)
    ]
    ship(session, lab, singles)
    for index, code in enumerate(singles):
        enter(session, code, "positive" if index == 0 else "negative")
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    page = client.get(f"/testing/campaigns/{campaign.code}").text
    advice = pooling.advise(0.1, 12)
    assert advice.pool_size == 4  # Dorfman's table: 4 at 10%
    assert 'id="suggested-pool-size">4<' in page
    assert "10.00%" in page
    assert f"{advice.tests_per_person:.3f}" in page
    best = re.search(r'<tr class="testing-best"><td>(\d+)</td><td>([\d.]+)</td>', page)
    assert best
    assert best.groups() == ("4", f"{pooling.tests_per_person(0.1, 4):.3f}")


def test_managers_add_sites_assign_staff_and_run_rounds(
    client: TestClient, session: Session
) -> None:
    campaign, _ = make_campaign(session)
    staff, _ = make_user(session, Role.SAMPLING_STAFF, TRUC_BACH)
    clerk, _ = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    url = f"/testing/campaigns/{campaign.code}"

    added = client.post(
        f"{url}/sites",
        data={"code": "truong-th", "name": "Trường tiểu học", "unit_code": PHUC_XA},
        follow_redirects=False,
    )
    assert added.status_code == 303
    assert session.scalar(
        select(SamplingSite.name).where(
            SamplingSite.campaign_id == campaign.id, SamplingSite.code == "TRUONG-TH"
        )
    ) == ("Trường tiểu học")
    again = client.post(
        f"{url}/sites", data={"code": "TRUONG-TH", "name": "Trường", "unit_code": PHUC_XA}
    )
    assert again.status_code == 409
    assert "TRUONG-TH" in again.text
    outside = client.post(
        f"{url}/sites", data={"code": "XA2", "name": "Nhà văn hóa", "unit_code": TRUC_BACH}
    )
    assert outside.status_code == 422
    assert field_error(_text(outside.text), "unit_code") == "ngoài địa bàn của bạn"
    assert field_value(_text(outside.text), "name") == "Nhà văn hóa"

    assigned = client.post(
        f"{url}/staff",
        data={"site_code": "TRUONG-TH", "username": staff.username},
        follow_redirects=False,
    )
    assert assigned.status_code == 303
    assert staff.username in client.get(url).text
    wrong_role = client.post(
        f"{url}/staff", data={"site_code": "TRUONG-TH", "username": clerk.username}
    )
    assert wrong_role.status_code == 422
    assert field_error(_text(wrong_role.text), "username") == (
        "chỉ tổ lấy mẫu và cán bộ y tế được lấy mẫu"
    )
    nobody = client.post(f"{url}/staff", data={"site_code": "NOPE", "username": staff.username})
    assert nobody.status_code == 404

    assert client.post(f"{url}/next-round", follow_redirects=False).status_code == 303
    session.expire_all()
    assert session.get_one(Campaign, campaign.id).current_round == 2
    assert client.post(f"{url}/close", follow_redirects=False).status_code == 303
    session.expire_all()
    assert session.get_one(Campaign, campaign.id).status == "closed"
    closed = client.post(f"{url}/next-round")
    assert closed.status_code == 422
    assert "chiến dịch đã kết thúc" in _text(closed.text)
    assert "Bắt đầu đợt tiếp theo" not in _text(client.get(url).text)

    # Reading officials without the campaign in their area cannot change it.
    sign_in(client, session, Role.SAMPLING_STAFF, PHUC_XA)
    assert client.post(f"{url}/close").status_code == 403


def test_the_people_list_upload_reports_bad_rows(client: TestClient, session: Session) -> None:
    campaign, _ = make_campaign(session)
    worker = make_person(session)
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    url = f"/testing/campaigns/{campaign.code}/people"
    assert client.get(url).status_code == 200
    csv = f"document_number\n{worker.documents[0].number}\n{cccd()}\n12AB\n"
    first = client.post(url, files={"file": ("workers.csv", csv.encode(), "text/csv")})
    assert first.status_code == 200
    page = _text(first.text)
    assert re.search(r"<strong>1</strong> đã thêm", page)
    assert re.search(r"<strong>2</strong> bị từ chối", page)
    assert "không có người nào đã đăng ký với giấy tờ này" in page
    assert re.findall(r"<tr><td>(\d+)</td><td><code>document_number", page) == ["3", "4"]
    second = _text(client.post(url, files={"file": ("workers.csv", csv.encode())}).text)
    assert re.search(r"<strong>0</strong> đã thêm", second)
    assert re.search(r"<strong>1</strong> đã có trong danh sách", second)
    missing_column = client.post(url, files={"file": ("x.csv", b"name\nAn\n")})
    assert missing_column.status_code == 422
    no_file = client.post(url, files={"file": ("", b"")})
    assert no_file.status_code == 422
    session.expire_all()
    assert session.get_one(Campaign, campaign.id).population == "list"


# The sampling page


def test_the_sampling_page_lists_sites_retests_and_labs(
    client: TestClient, session: Session
) -> None:
    campaign, site = make_campaign(session, max_pool_size=1)
    other, _ = make_campaign(session, unit=HANG_BAC, site_code="HB1")
    lab = make_lab(session)
    people = [
        make_person(session, full_name="Hoàng Văn Đức"),
        make_person(session, full_name="Bùi Thị Hoa"),
    ]
    pooled_campaign, pooled_site = make_campaign(session, site_code="POOL1")
    pool = fill_tube(session, pooled_campaign, pooled_site, people)
    ship(session, lab, [pool])
    enter(session, pool, "positive")

    sign_in(client, session, Role.SAMPLING_STAFF, PHUC_XA)
    page = _text(client.get("/testing/sample").text)
    assert f"campaign={campaign.code}&site={site.code}" in page
    assert other.code not in page  # another district's site
    assert 'id="sampling"' not in page  # two sites: one must be chosen
    assert "Hoàng Văn Đức" in page
    assert "Bùi Thị Hoa" in page
    assert people[0].documents[0].number in page
    assert "cần xét nghiệm lại riêng" in page
    assert lab.code in page

    chosen = client.get(f"/testing/sample?campaign={campaign.code}&site={site.code}")
    assert chosen.headers["cache-control"] == "no-store"
    assert f'data-campaign="{campaign.code}"' in chosen.text
    assert 'data-max-pool="1"' in chosen.text
    assert re.search(r'value="pool"\s+disabled', chosen.text)
    assert "/static/sampling.js" in chosen.text
    assert client.get("/static/sampling.js").status_code == 200


def test_the_ops_endpoint_applies_each_step_once(client: TestClient, session: Session) -> None:
    campaign, site = make_campaign(session, max_pool_size=3)
    people = [make_person(session) for _ in range(3)]
    sign_in(client, session, Role.SAMPLING_STAFF, PHUC_XA)
    code = new_barcode()
    opened = _op("open", code, campaign_code=campaign.code, site_code=site.code, kind="pool")
    adds = [_op("add", code, text=p.documents[0].number) for p in people]
    undo = _op("remove", code, sample_id=adds[1]["id"])
    close = _op("close", code)
    batch = {"ops": [opened, *adds, undo, close]}

    first = client.post("/testing/sample/ops", json=batch)
    assert first.status_code == 200
    body = first.json()
    assert (body["applied"], body["duplicate"], body["rejected"]) == (6, 0, 0)
    last = body["results"][-1]["tube"]
    assert last["status"] == "closed"
    assert sorted(m["sample_id"] for m in last["members"]) == sorted(
        [str(adds[0]["id"]), str(adds[2]["id"])]
    )

    again = client.post("/testing/sample/ops", json=batch).json()
    assert (again["applied"], again["duplicate"], again["rejected"]) == (0, 6, 0)
    for person in people:
        in_tube = session.scalar(
            select(func.count())
            .select_from(Sample)
            .join(Tube, Tube.id == Sample.tube_id)
            .where(Tube.barcode == code, Sample.person_id == person.id)
        )
        assert in_tube == 1

    late = client.post(
        "/testing/sample/ops",
        json={"ops": [_op("add", code, text=make_person(session).documents[0].number)]},
    ).json()
    assert late["rejected"] == 1
    assert late["results"][0]["reason"] == "ống nghiệm này đã đóng: hãy mở ống mới"
    twice = client.post(
        "/testing/sample/ops",
        json={
            "ops": [
                _op("open", "TB-AGAIN01", campaign_code=campaign.code, site_code=site.code),
                _op("add", "TB-AGAIN01", text=people[0].documents[0].number),
            ]
        },
    ).json()
    assert twice["results"][1]["reason"] == f"đã được lấy mẫu trong đợt này (ống {code})"
    bad = client.post("/testing/sample/ops", json={"ops": [_op("open", "x")]}).json()
    assert bad["results"][0]["reason"] == "mã vạch ống nghiệm: 4 đến 40 chữ cái, chữ số hoặc '-'"


def test_closed_tubes_are_shipped_from_the_sampling_page(
    client: TestClient, session: Session
) -> None:
    campaign, site = make_campaign(session)
    busy = make_lab(session, capacity=2)
    tubes = [fill_tube(session, campaign, site, [make_person(session)]) for _ in range(2)]
    still_open = fill_tube(session, campaign, site, [make_person(session)], close=False)
    sign_in(client, session, Role.SAMPLING_STAFF, PHUC_XA)
    where = {"campaign": campaign.code, "site": site.code}

    refused = client.post(
        "/testing/sample/ship",
        data={**where, "lab_code": busy.code, "barcodes": f"{tubes[0]}\n{still_open}"},
    )
    assert refused.status_code == 422
    assert field_error(_text(refused.text), "barcodes") == (
        f"ống nghiệm {still_open} chưa đóng hoặc đã được gửi: chỉ gửi các ống đã đóng"
    )
    assert tubes[0] in field_value_textarea(refused.text)
    no_lab = client.post("/testing/sample/ship", data={**where, "barcodes": tubes[0]})
    assert field_error(no_lab.text, "lab_code") == "bắt buộc"

    sent = client.post(
        "/testing/sample/ship",
        data={**where, "lab_code": busy.code, "barcodes": f"{tubes[0]}\r\n{tubes[1].lower()}\n"},
    )
    assert sent.status_code == 200
    page = _text(sent.text)
    shipment = re.search(r'id="shipment-code">(VC-\w+)<', page)
    assert shipment
    assert f"phòng xét nghiệm {busy.code}: 2 ống đang chờ, công suất 2 ống mỗi ngày" in page
    statuses = session.scalars(select(Tube.status).where(Tube.barcode.in_(tubes))).all()
    assert statuses == ["shipped", "shipped"]
    assert f'data-sent="{tubes[0]} {tubes[1]}"' in page


def field_value_textarea(page: str) -> str:
    match = re.search(r'<textarea id="f-barcodes"[^>]*>(.*?)</textarea>', page, re.S)
    assert match
    return match.group(1)
