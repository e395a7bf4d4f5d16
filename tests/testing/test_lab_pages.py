"""Lab pages (overview, receiving, one result, the machine's CSV, a tube's history and its
correction) and the citizen's own results page."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phongdich.auth.devices import COOKIE
from phongdich.auth.roles import Role
from phongdich.config import Settings, get_settings
from phongdich.credentials.keys import keyring
from phongdich.credentials.passes import issue_current_pass
from phongdich.db import utcnow
from phongdich.persons.models import Person
from phongdich.testing.models import Campaign, Lab, SamplingSite, TubeResult
from phongdich.testing.sampling import find_tube
from tests.factories import HA_NOI, HCM, PHUC_XA, audit_entries, cccd, make_person
from tests.testing.factories import SYSTEM, enter, fill_tube, make_campaign, make_lab, ship
from tests.web.pages import field_error, field_value, sign_in

MISSING_HEADING = "THIẾU: có trong lô nhưng chưa quét"
EXTRA_HEADING = "THỪA: đã quét nhưng không có trong lô"
POOL_WAITING = "Mẫu gộp dương tính – chờ xét nghiệm lại đơn"
NOT_FOUND_VI = "Không tìm thấy kết quả nào khớp với thông tin này."


def _local(at: datetime) -> str:
    """What a datetime-local field sends."""
    return at.astimezone(get_settings().tz).strftime("%Y-%m-%dT%H:%M:%S")


def _setup(
    session: Session, singles: int = 3, pool: int = 0
) -> tuple[Campaign, SamplingSite, Lab, list[str], str]:
    """A campaign in Phúc Xá, a lab there, single tubes (and a pool) shipped to it."""
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    tubes = [
        fill_tube(session, campaign, site, [make_person(session)], kind="single")
        for _ in range(singles)
    ]
    if pool:
        tubes.append(
            fill_tube(session, campaign, site, [make_person(session) for _ in range(pool)])
        )
    return campaign, site, lab, tubes, ship(session, lab, tubes)


def _counts(html: str) -> dict[str, int]:
    """The `<li><strong>N</strong> label</li>` figures of a page."""
    found = re.findall(r"<li[^>]*><strong[^>]*>(\d+)</strong>\s*([^<]+?)\s*</li>", html)
    return {label: int(n) for n, label in found}


# The overview


def test_the_overview_is_for_the_technicians_of_the_lab(
    client: TestClient, session: Session
) -> None:
    *_, lab, tubes, code = _setup(session)
    sign_in(client, session, Role.LAB_TECHNICIAN, HA_NOI)
    page = client.get("/testing/lab")
    assert page.status_code == 200
    assert lab.code in page.text
    assert f'href="/testing/lab/shipments/{code}"' in page.text
    figures = _counts(page.text)
    assert figures["đang vận chuyển"] == 3
    assert figures["ống mỗi ngày"] == lab.daily_capacity

    sign_in(client, session, Role.LAB_TECHNICIAN, HCM)
    elsewhere = client.get("/testing/lab")
    assert elsewhere.status_code == 200
    assert lab.code not in elsewhere.text

    sign_in(client, session, Role.SAMPLING_STAFF, PHUC_XA)
    for path in (
        "/testing/lab",
        "/testing/lab/results",
        "/testing/lab/results/import",
        f"/testing/lab/shipments/{code}",
        f"/testing/lab/tubes/{tubes[0]}",
    ):
        assert client.get(path).status_code in (403, 404), path


# Receiving


def test_receiving_reports_missing_and_extra_tubes_and_takes_late_ones(
    client: TestClient, session: Session
) -> None:
    *_, tubes, code = _setup(session)
    sign_in(client, session, Role.LAB_TECHNICIAN, HA_NOI)
    form = client.get(f"/testing/lab/shipments/{code.lower()}")
    assert form.status_code == 200
    assert 'name="barcodes"' in form.text
    assert MISSING_HEADING not in form.text  # nothing is missing before anything is scanned

    # A USB scanner types each code and Enter; one tube has not arrived, one does not belong.
    scanned = f"{tubes[0]}\r\n{tubes[1].lower()}\r\nXTRA-0001\r\n{tubes[0]}\r\n"
    done = client.post(f"/testing/lab/shipments/{code}", data={"barcodes": scanned})
    assert done.status_code == 200
    assert _counts(done.text)["đã nhận"] == 2
    missing = done.text.split(MISSING_HEADING)[1].split("</ul>")[0]
    assert f"<code>{tubes[2]}</code>" in missing
    assert tubes[0] not in missing
    extra = done.text.split(EXTRA_HEADING)[1].split("</ul>")[0]
    assert "<code>XTRA-0001</code>" in extra

    late = client.post(f"/testing/lab/shipments/{code}", data={"barcodes": tubes[2]})
    assert _counts(late.text)["đã nhận"] == 3
    assert MISSING_HEADING not in late.text
    assert EXTRA_HEADING in late.text  # the stray tube is still reported

    empty = client.post(f"/testing/lab/shipments/{code}", data={"barcodes": "  \n "})
    assert empty.status_code == 422
    assert field_error(empty.text, "barcodes") == "bắt buộc"
    bad = client.post(f"/testing/lab/shipments/{code}", data={"barcodes": f"{tubes[0]}\nx!"})
    assert bad.status_code == 422
    assert "<code>x!</code>" in (field_error(bad.text, "barcodes") or "")

    sign_in(client, session, Role.LAB_TECHNICIAN, HCM)
    assert client.get(f"/testing/lab/shipments/{code}").status_code == 404
    refused = client.post(f"/testing/lab/shipments/{code}", data={"barcodes": tubes[0]})
    assert refused.status_code == 404
    assert client.get("/testing/lab/shipments/VC-NOPE").status_code == 404


# One result


def test_a_result_is_entered_once_and_a_different_one_is_a_conflict(
    client: TestClient, session: Session
) -> None:
    *_, tubes, _code = _setup(session)
    sign_in(client, session, Role.LAB_TECHNICIAN, HA_NOI)
    form = client.get("/testing/lab/results")
    assert form.status_code == 200
    shown = datetime.fromisoformat(field_value(form.text, "tested_at") or "")
    now = _local(utcnow() + timedelta(seconds=1))  # not before the tube was opened
    # Now, on the lab's clock (the field shows local time without a zone).
    assert abs(shown - datetime.fromisoformat(now)) <= timedelta(minutes=1)

    values = {"barcode": tubes[0], "result": "negative", "method": "pcr", "tested_at": now}
    saved = client.post("/testing/lab/results", data=values)
    assert saved.status_code == 200
    assert f"Đã lưu kết quả cho ống nghiệm {tubes[0]}." in saved.text
    assert 'value="pcr" selected' in saved.text
    tube = find_tube(session, tubes[0])
    assert tube is not None
    assert tube.result == "negative"

    again = client.post("/testing/lab/results", data=values)
    assert again.status_code == 200
    assert "đã có đúng kết quả này" in again.text

    other = client.post(
        "/testing/lab/results", data={**values, "result": "positive", "ct_value": "22"}
    )
    assert other.status_code == 409
    assert f'href="/testing/lab/tubes/{tubes[0]}#correction"' in other.text
    assert session.scalar(select(func.count()).select_from(TubeResult)) == 1

    bad = client.post(
        "/testing/lab/results",
        data={
            "barcode": "x",
            "result": "",
            "ct_value": "abc",
            "method": "pcr",
            "tested_at": _local(utcnow() + timedelta(days=1)),
        },
    )
    assert bad.status_code == 422
    for name in ("barcode", "result", "ct_value", "tested_at"):
        assert field_error(bad.text, name), name
    assert field_error(bad.text, "tested_at") == "ở thời điểm tương lai"

    unknown = client.post("/testing/lab/results", data={**values, "barcode": "TB-NONE-1"})
    assert unknown.status_code == 404
    assert field_error(unknown.text, "barcode")
    garbage = client.post("/testing/lab/results", data={"tested_at": "yesterday", "method": "x"})
    assert garbage.status_code == 422

    sign_in(client, session, Role.LAB_TECHNICIAN, HCM)
    theirs = client.post("/testing/lab/results", data={**values, "barcode": tubes[1]})
    assert theirs.status_code == 404
    assert find_tube(session, tubes[1]) is not None
    assert session.scalar(select(func.count()).select_from(TubeResult)) == 1


# The machine's CSV


def test_the_import_reports_bad_rows_and_a_second_upload_adds_nothing(
    client: TestClient, session: Session
) -> None:
    *_, lab, tubes, _code = _setup(session)
    sign_in(client, session, Role.LAB_TECHNICIAN, HA_NOI)
    form = client.get(f"/testing/lab/results/import?lab={lab.code}")
    assert form.status_code == 200
    assert f'<option value="{lab.code}" selected>' in form.text
    when = utcnow().isoformat()
    text = (
        "tube_barcode,result,ct_value,method,tested_at\n"
        f"{tubes[0]},negative,,pcr,{when}\n"
        f"{tubes[1]},positive,25.1,RT-PCR,{when}\n"
        f"NOPE-1,negative,,pcr,{when}\n"
        f"{tubes[2]},maybe,,pcr,{when}\n"
    ).encode()

    def upload() -> str:
        response = client.post(
            "/testing/lab/results/import",
            data={"lab_code": lab.code},
            files={"file": ("may-xet-nghiem.csv", text, "text/csv")},
        )
        assert response.status_code == 200
        return response.text

    first = upload()
    assert _counts(first) == {"tạo mới": 2, "không thay đổi": 0, "bị từ chối": 2}
    rows = re.findall(r"<tr><td>(\d+)</td><td><code>(\w+)</code></td>", first)
    assert rows == [("4", "tube_barcode"), ("5", "result")]
    second = upload()
    assert _counts(second) == {"tạo mới": 0, "không thay đổi": 2, "bị từ chối": 2}

    no_file = client.post("/testing/lab/results/import", data={"lab_code": lab.code})
    assert no_file.status_code == 422
    no_lab = client.post(
        "/testing/lab/results/import",
        data={"lab_code": "ELSEWHERE"},
        files={"file": ("a.csv", text, "text/csv")},
    )
    assert no_lab.status_code == 422
    assert field_error(no_lab.text, "lab_code") == "chọn một phòng xét nghiệm của bạn"
    wrong_columns = client.post(
        "/testing/lab/results/import",
        data={"lab_code": lab.code},
        files={"file": ("a.csv", b"barcode,outcome\nTB-1,neg\n", "text/csv")},
    )
    assert wrong_columns.status_code == 422
    assert session.scalar(select(func.count()).select_from(TubeResult)) == 2


# A tube's history and its correction


def test_a_correction_needs_a_reason_and_keeps_both_revisions(
    client: TestClient, session: Session
) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    person = make_person(session, full_name="Hoàng Thị Lan")
    single = fill_tube(session, campaign, site, [person], kind="single")
    ship(session, lab, [single])
    enter(session, single, "negative")
    technician = sign_in(client, session, Role.LAB_TECHNICIAN, HA_NOI)

    page = client.get(f"/testing/lab/tubes/{single.lower()}")
    assert page.status_code == 200
    assert 'id="correction"' in page.text
    assert "Hoàng" not in page.text
    assert person.documents[0].number not in page.text

    values = {
        "result": "positive",
        "ct_value": "21,5",
        "method": "pcr",
        "tested_at": _local(utcnow() + timedelta(seconds=1)),
    }
    no_reason = client.post(f"/testing/lab/tubes/{single}", data=values)
    assert no_reason.status_code == 422
    assert field_error(no_reason.text, "reason") == "hãy ghi lý do thay đổi kết quả"
    out_of_range = client.post(
        f"/testing/lab/tubes/{single}", data={**values, "ct_value": "99", "reason": "re-read"}
    )
    assert out_of_range.status_code == 422
    assert field_error(out_of_range.text, "ct_value")
    assert session.scalar(select(func.count()).select_from(TubeResult)) == 1

    done = client.post(
        f"/testing/lab/tubes/{single}",
        data={**values, "reason": "mẫu bị tráo trên khay 4"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/testing/lab/tubes/{single}?corrected=1"
    history = client.get(done.headers["location"])
    assert "Đã lưu đính chính" in history.text
    rows = re.findall(r"<tr>\s*<td>(\d)</td>\s*<td>([^<]+)</td>\s*<td>([^<]*)</td>", history.text)
    assert rows == [("1", "Âm tính", ""), ("2", "Dương tính", "21.5")]
    assert "mẫu bị tráo trên khay 4" in history.text
    assert technician.username in history.text

    assert client.get("/testing/lab/tubes/TB-NONE-9").status_code == 404
    assert client.get("/testing/lab/tubes/x").status_code == 422
    sign_in(client, session, Role.LAB_TECHNICIAN, HCM)
    assert client.get(f"/testing/lab/tubes/{single}").status_code == 404


# The citizen's own results


def test_a_citizen_sees_a_positive_pool_as_waiting_for_a_retest(
    client: TestClient, session: Session, settings: Settings
) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    people = [make_person(session, full_name="Vũ Văn Nam") for _ in range(3)]
    pool = fill_tube(session, campaign, site, people)
    ship(session, lab, [pool])
    enter(session, pool, "positive", ct=27.0)
    citizen = people[0]
    assert citizen.phone

    form = client.get("/results")
    assert form.status_code == 200
    assert 'action="/results"' in form.text

    number, stranger = citizen.documents[0].number, cccd()
    wrong_phone = client.post("/results", data={"document_number": number, "phone": "0999999999"})
    unknown = client.post("/results", data={"document_number": stranger, "phone": citizen.phone})
    assert wrong_phone.status_code == unknown.status_code == 404
    assert NOT_FOUND_VI in wrong_phone.text
    # The same page either way, apart from the number typed.
    assert wrong_phone.text.replace(number, "N") == unknown.text.replace(stranger, "N")
    assert COOKIE not in client.cookies
    malformed = client.post("/results", data={"document_number": "12", "phone": "abc"})
    assert malformed.status_code == 404

    found = client.post(
        "/results", data={"document_number": citizen.documents[0].number, "phone": citizen.phone}
    )
    assert found.status_code == 200
    assert POOL_WAITING in found.text
    assert "Xét nghiệm diện rộng" in found.text
    assert "Mẫu gộp" in found.text
    assert 'href="/pass"' in found.text
    assert found.headers["cache-control"] == "no-store"
    reads = [
        e
        for e in audit_entries(session, action="read", object_id=citizen.id)
        if e.object_type == "test_results"
    ]
    assert len(reads) == 1
    assert reads[0].role == "citizen"

    # The phone remembers them: the next visit shows the results at once.
    assert client.cookies.get(COOKIE)
    again = client.get("/results")
    assert POOL_WAITING in again.text
    client.post("/results/forget")
    assert POOL_WAITING not in client.get("/results").text

    # Their personal pass finds them too; a pass that is not one finds nobody.
    issued = issue_current_pass(
        session=session, actor=SYSTEM, person=citizen, keys=keyring(settings)
    )
    by_pass = client.post("/results", data={"pass": issued.text})
    assert by_pass.status_code == 200
    assert POOL_WAITING in by_pass.text
    assert not client.cookies.get(COOKIE)
    assert client.post("/results", data={"pass": "PD1:garbage"}).status_code == 404

    # Once their individual retest has its result, the pool no longer says "waiting".
    retest = fill_tube(session, campaign, site, [citizen], kind="single")
    ship(session, lab, [retest])
    enter(session, retest, "negative")
    answered = client.post("/results", data={"pass": issued.text})
    assert POOL_WAITING not in answered.text
    outcomes = re.findall(r'<p class="results-outcome"><strong>([^<]+)</strong>', answered.text)
    assert outcomes == ["Âm tính", "Mẫu gộp dương tính – xem kết quả xét nghiệm lại đơn"]


def test_the_citizen_page_says_waiting_then_the_individual_result(
    client: TestClient, session: Session
) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    person: Person = make_person(session)
    single = fill_tube(session, campaign, site, [person], kind="single")
    ship(session, lab, [single])
    data = {"document_number": person.documents[0].number, "phone": person.phone or ""}
    assert "Đang chờ kết quả" in client.post("/results", data=data).text
    enter(session, single, "negative")
    page = client.get("/results")
    assert "Âm tính" in page.text
    assert "Đang chờ kết quả" not in page.text


def test_odd_requests_get_a_4xx_never_a_500(client: TestClient, session: Session) -> None:
    *_, tubes, code = _setup(session, singles=1)
    anonymous = client.get("/testing/lab", follow_redirects=False)
    assert anonymous.status_code in (303, 401)
    sign_in(client, session, Role.LAB_TECHNICIAN, HA_NOI)
    odd = [
        client.get("/testing/lab/shipments/" + "Z" * 40),
        client.get("/testing/lab/shipments/" + "Z" * 41),
        client.get("/testing/lab/tubes/%20"),
        client.post(f"/testing/lab/tubes/{tubes[0]}", data={"result": "positive"}),
        client.post(f"/testing/lab/tubes/{tubes[0]}", data={"reason": "x" * 5000}),
        client.post("/testing/lab/results", data={"barcode": tubes[0], "ct_value": "nan"}),
        client.post("/testing/lab/results", data={"tested_at": "99999-01-01T00:00"}),
        client.post("/results", data={"pass": "HC1:NCFOXN%TS3DH"}),
        client.post("/results", data={"pass": "PD1:" + "A" * 5000}),
    ]
    for response in odd:
        assert 400 <= response.status_code < 500, (response.request.url, response.status_code)
    # A tube without a result has nothing to correct, and says so.
    no_result = client.post(
        f"/testing/lab/tubes/{tubes[0]}",
        data={
            "result": "positive",
            "method": "pcr",
            "tested_at": _local(utcnow() + timedelta(seconds=1)),
            "reason": "typed on the wrong tube",
        },
    )
    assert no_result.status_code == 422
    assert field_error(no_result.text, "result")
    assert client.get(f"/testing/lab/shipments/{code}").status_code == 200
