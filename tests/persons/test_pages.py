"""The persons pages: every form's happy path, and bad input always a 4xx page with the reason."""

from __future__ import annotations

import html
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from phongdich.persons.models import DuplicateDismissal, Person
from tests.factories import HANG_BAC, PHUC_XA, TRUC_BACH, cccd, make_person
from tests.web.pages import field_error, field_value, sign_in


def _form(**overrides: str) -> dict[str, str]:
    values = {
        "document_number": cccd(sex="female", born=1990),
        "document_kind": "",
        "nationality": "",
        "full_name": "Lê Thị Hoa",
        "birth_date": "12/05/1990",
        "sex": "female",
        "phone": "0912 345 678",
        "permanent_unit_code": PHUC_XA,
        "permanent_address": "Số 5 phố Phó Đức Chính",
        "temporary_unit_code": "",
        "temporary_address": "",
        "household_code": "",
    }
    values.update(overrides)
    return values


def _text(response_text: str) -> str:
    return html.unescape(response_text)


# Registering


def test_register_form_is_vietnamese_and_starts_with_the_officers_commune(
    client: TestClient, session: Session
) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    page = client.get("/persons/new")
    assert page.status_code == 200
    assert "Đăng ký người dân" in page.text
    assert "Mã QR trên thẻ CCCD" in page.text
    assert field_value(page.text, "permanent_unit_code") == PHUC_XA
    assert '<option value="00001">Phường Phúc Xá</option>' in page.text


def test_register_a_person(client: TestClient, session: Session) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    form = _form(household_code="HK-TEST-1")
    response = client.post("/persons/new", data=form, follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/persons/")
    assert location.endswith("?notice=registered")
    person = client.get(location)
    assert person.status_code == 200
    assert "Lê Thị Hoa" in person.text
    assert "Đã đăng ký người dân." in person.text
    assert form["document_number"] in person.text
    assert "HK-TEST-1" in person.text


def test_a_document_already_registered_leads_to_that_person(
    client: TestClient, session: Session
) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    existing = make_person(session, sex="female", born=date(1990, 5, 12), full_name="Lê Thị Hoa")
    number = existing.documents[0].number
    response = client.post(
        "/persons/new", data=_form(document_number=number), follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/persons/{existing.id}?notice=exists"
    assert "Giấy tờ này đã được đăng ký" in client.get(response.headers["location"]).text


def test_a_bad_cccd_is_shown_next_to_its_field_with_the_values_kept(
    client: TestClient, session: Session
) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    response = client.post("/persons/new", data=_form(document_number="999090123456"))
    assert response.status_code == 422
    error = field_error(response.text, "document_number")
    assert error is not None
    assert "mã tỉnh" in _text(error)
    assert field_value(response.text, "document_number") == "999090123456"
    assert field_value(response.text, "full_name") == "Lê Thị Hoa"
    assert field_value(response.text, "phone") == "0912 345 678"
    assert 'id="f-document_number" ' in response.text
    assert field_error(response.text, "full_name") is None


def test_a_cccd_that_disagrees_with_the_sex_marks_the_sex(
    client: TestClient, session: Session
) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    response = client.post("/persons/new", data=_form(document_number=cccd(sex="male", born=1990)))
    assert response.status_code == 422
    assert "Nam" in (field_error(response.text, "sex") or "")
    assert '<option value="female" selected>' in response.text


def test_english_pages_show_the_services_reason_in_english(
    client: TestClient, session: Session
) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    response = client.post("/persons/new?lang=en", data=_form(full_name="Lê Thị 2"))
    assert response.status_code == 422
    assert field_error(response.text, "full_name") == "a name has no digits"


def test_overlong_input_is_a_422_form_not_a_500(client: TestClient, session: Session) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    response = client.post("/persons/new", data=_form(document_number="1" * 100))
    assert response.status_code == 422
    assert field_error(response.text, "document_number") is not None


def test_registering_outside_the_jurisdiction_is_refused_on_the_form(
    client: TestClient, session: Session
) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    response = client.post("/persons/new", data=_form(permanent_unit_code=TRUC_BACH))
    assert response.status_code == 422
    assert "địa bàn" in _text(field_error(response.text, "permanent_unit_code") or "")


def test_a_document_held_outside_the_jurisdiction_is_a_409_on_the_form(
    client: TestClient, session: Session
) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    elsewhere = make_person(
        session, permanent_unit_code=HANG_BAC, sex="female", born=date(1990, 5, 12)
    )
    response = client.post(
        "/persons/new", data=_form(document_number=elsewhere.documents[0].number)
    )
    assert response.status_code == 409
    assert "ngoài địa bàn" in _text(field_error(response.text, "document_number") or "")


def test_the_cccd_qr_fills_the_form(client: TestClient, session: Session) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    number = cccd(sex="female", born=1990)
    qr = f"{number}|012345678|Lê Thị Hoa|12051990|Nữ|Số 5 phố Phó Đức Chính, Phúc Xá|01022021"
    response = client.post("/persons/new/qr", data={"qr": qr})
    assert response.status_code == 200
    assert field_value(response.text, "document_number") == number
    assert field_value(response.text, "full_name") == "Lê Thị Hoa"
    assert field_value(response.text, "birth_date") == "12/05/1990"
    assert '<option value="female" selected>' in response.text
    assert "012345678" in response.text
    assert field_value(response.text, "permanent_unit_code") == PHUC_XA


def test_a_broken_cccd_qr_is_a_422_with_the_reason(client: TestClient, session: Session) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    response = client.post("/persons/new/qr", data={"qr": "001190123456|Lê Thị Hoa"})
    assert response.status_code == 422
    assert "7 trường" in _text(field_error(response.text, "qr") or "")
    assert field_value(response.text, "qr") == "001190123456|Lê Thị Hoa"


def test_a_role_without_persons_write_gets_the_403_page(
    client: TestClient, session: Session
) -> None:
    sign_in(client, session, Role.CHECKPOINT_OFFICER, PHUC_XA)
    assert client.get("/persons/new").status_code == 403
    response = client.post("/persons/new", data=_form())
    assert response.status_code == 403
    assert "Không được phép" in response.text


def test_pages_need_a_login(client: TestClient) -> None:
    response = client.get("/persons/new", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/persons/new"


# The person page


def test_another_communes_officer_gets_the_404_page(client: TestClient, session: Session) -> None:
    person = make_person(session, permanent_unit_code=PHUC_XA)
    sign_in(client, session, Role.COMMUNE_OFFICER, TRUC_BACH)
    response = client.get(f"/persons/{person.id}")
    assert response.status_code == 404
    assert "Không tìm thấy" in response.text
    assert person.full_name not in response.text
    assert client.get(f"/persons/{person.id}/edit").status_code == 404


def test_a_malformed_person_id_is_a_4xx_page(client: TestClient, session: Session) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    response = client.get("/persons/not-a-uuid")
    assert response.status_code == 422
    assert "<html" in response.text


def test_the_person_page_lists_the_household_members_the_officer_may_see(
    client: TestClient, session: Session, unique: str
) -> None:
    household = f"HK-{unique}"
    head = make_person(session, household_code=household, full_name="Phạm Văn Hùng")
    make_person(
        session,
        household_code=household,
        full_name="Phạm Thị Mai",
        sex="female",
        born=date(2012, 3, 1),
    )
    # A lodger registered in another commune under the same household code.
    make_person(
        session,
        household_code=household,
        full_name="Đỗ Văn Khách",
        permanent_unit_code=TRUC_BACH,
    )
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    page = client.get(f"/persons/{head.id}")
    assert page.status_code == 200
    assert "Thành viên hộ gia đình" in page.text
    assert "Phạm Thị Mai" in page.text
    assert "Đỗ Văn Khách" not in page.text
    # A commune officer may not read the audit log: no link to it.
    assert f"/audit?object_id={head.id}" not in page.text


def test_officers_who_read_the_audit_log_get_a_link_to_the_records_entries(
    client: TestClient, session: Session
) -> None:
    person = make_person(session)
    sign_in(client, session, Role.PROVINCE_OFFICER, "01")
    page = client.get(f"/persons/{person.id}")
    link = f"/audit?object_id={person.id}"
    assert link in page.text
    entries = client.get(link)
    assert entries.status_code == 200
    assert "read" in entries.text


# Editing


def test_edit_a_person(client: TestClient, session: Session, unique: str) -> None:
    person = make_person(session)
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    form = client.get(f"/persons/{person.id}/edit")
    assert form.status_code == 200
    assert field_value(form.text, "full_name") == person.full_name
    assert field_value(form.text, "birth_date") == "02/04/1985"
    values = {
        "full_name": "Nguyễn Văn Ân",
        "birth_date": "02/04/1985",
        "sex": "male",
        "phone": "",
        "permanent_unit_code": PHUC_XA,
        "permanent_address": "Số 9 phố Hòe Nhai",
        "temporary_unit_code": "",
        "temporary_address": "",
        "household_code": f"HK-{unique}",
    }
    response = client.post(f"/persons/{person.id}/edit", data=values, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/persons/{person.id}?notice=saved"
    page = client.get(response.headers["location"]).text
    assert "Nguyễn Văn Ân" in page
    assert "Số 9 phố Hòe Nhai" in page
    assert "Đã lưu thay đổi." in page
    session.expire_all()
    saved = session.get_one(Person, person.id)
    assert saved.phone is None
    assert saved.household_code == f"HK-{unique}"


def test_bad_edits_are_422_forms_and_change_nothing(client: TestClient, session: Session) -> None:
    person = make_person(session)
    phone = person.phone
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    values = {"full_name": person.full_name, "phone": "12345", "sex": "male"}
    response = client.post(f"/persons/{person.id}/edit", data=values)
    assert response.status_code == 422
    assert "số điện thoại" in _text(field_error(response.text, "phone") or "")
    assert field_value(response.text, "phone") == "12345"
    emptied = client.post(
        f"/persons/{person.id}/edit", data={**values, "phone": "", "full_name": ""}
    )
    assert emptied.status_code == 422
    assert field_error(emptied.text, "full_name") is not None
    session.expire_all()
    assert session.get_one(Person, person.id).phone == phone


# Documents


def test_add_a_document(client: TestClient, session: Session) -> None:
    person = make_person(session)
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    response = client.post(
        f"/persons/{person.id}/documents",
        data={"number": "B1234567", "kind": "passport", "nationality": "VNM"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert "B1234567" in page
    assert "Đã thêm giấy tờ." in page


def test_a_bad_document_reopens_the_form_with_the_reason(
    client: TestClient, session: Session
) -> None:
    person = make_person(session)
    other = make_person(session, full_name="Trần Văn Bảo")
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    bad = client.post(f"/persons/{person.id}/documents", data={"number": "12345"})
    assert bad.status_code == 422
    assert field_error(bad.text, "number") is not None
    assert "<details open>" in bad.text
    taken = client.post(
        f"/persons/{person.id}/documents", data={"number": other.documents[0].number}
    )
    assert taken.status_code == 409
    assert "thuộc về người khác" in _text(field_error(taken.text, "number") or "")


# Importing


CSV_HEADER = "document_number,full_name,birth_date,sex,phone,unit_code,address,household_code\n"


def test_import_a_resident_list_with_one_bad_row(client: TestClient, session: Session) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    assert client.get("/persons/import").status_code == 200
    rows = (
        f"{cccd(born=1980)},Hoàng Văn Nam,1980-01-02,Nam,0987000111,{PHUC_XA},Số 2 Hòe Nhai,\n"
        f"{cccd(born=1981)},Hoàng Văn Bắc,31/02/1981,Nam,,{PHUC_XA},Số 3 Hòe Nhai,\n"
        f"{cccd(sex='female', born=1982)},Vũ Thị Lan,1982,Nữ,,{PHUC_XA},Số 4 Hòe Nhai,\n"
    )
    response = client.post(
        "/persons/import",
        files={"file": ("ds.csv", (CSV_HEADER + rows).encode(), "text/csv")},
    )
    assert response.status_code == 200
    text = _text(response.text)
    assert "<strong>2</strong> tạo mới" in text
    assert "<strong>1</strong> bị từ chối" in text
    assert "<tr><td>3</td><td><code>birth_date</code></td>" in text
    assert "31/02/1981 không phải là ngày có thật" in text


def test_file_level_import_errors_are_422_with_a_clear_message(
    client: TestClient, session: Session
) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    cases = {
        "không phải văn bản UTF-8": (CSV_HEADER + "Nguyễn Văn A\n").encode("utf-16"),
        "thiếu cột": b"document_number,full_name\n001085000001,A\n",
        "tệp trống": b"",
    }
    for expected, data in cases.items():
        response = client.post("/persons/import", files={"file": ("ds.csv", data, "text/csv")})
        assert response.status_code == 422, expected
        assert expected in _text(response.text)
    assert client.post("/persons/import").status_code == 422


def test_import_needs_the_import_permission(client: TestClient, session: Session) -> None:
    sign_in(client, session, Role.SAMPLING_STAFF, PHUC_XA)
    assert client.get("/persons/import").status_code == 403


# Duplicates


def _twins(session: Session) -> tuple[Person, Person]:
    a = make_person(session, full_name="Ngô Văn Tùng", phone="0911222333")
    b = make_person(session, full_name="Ngô Văn Tùng", phone="0911222333")
    return a, b


def test_likely_duplicates_side_by_side_and_merged(client: TestClient, session: Session) -> None:
    a, b = _twins(session)
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    page = client.get("/persons/duplicates")
    assert page.status_code == 200
    assert "Cùng số điện thoại" in page.text
    assert a.documents[0].number in page.text
    assert b.documents[0].number in page.text
    response = client.post(
        "/persons/duplicates/merge",
        data={"survivor_id": str(a.id), "duplicate_id": str(b.id)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    after = client.get(response.headers["location"])
    assert "Đã gộp hồ sơ." in after.text
    assert a.documents[0].number not in after.text
    session.expire_all()
    assert session.get_one(Person, b.id).merged_into_id == a.id


def test_not_the_same_person(client: TestClient, session: Session) -> None:
    a, b = _twins(session)
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    response = client.post(
        "/persons/duplicates/dismiss",
        data={"person_a": str(a.id), "person_b": str(b.id)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    after = client.get(response.headers["location"])
    assert "sẽ không được liệt kê nữa" in after.text
    assert a.documents[0].number not in after.text
    assert session.scalar(
        select(DuplicateDismissal.id).where(DuplicateDismissal.person_a_id == a.id)
    )


def test_bad_merges_are_4xx_pages(client: TestClient, session: Session) -> None:
    a, _ = _twins(session)
    elsewhere = make_person(session, permanent_unit_code=TRUC_BACH)
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    itself = client.post(
        "/persons/duplicates/merge", data={"survivor_id": str(a.id), "duplicate_id": str(a.id)}
    )
    assert itself.status_code == 422
    assert "không thể gộp một hồ sơ vào chính nó" in itself.text
    foreign = client.post(
        "/persons/duplicates/merge",
        data={"survivor_id": str(a.id), "duplicate_id": str(elsewhere.id)},
    )
    assert foreign.status_code == 404
    garbage = client.post(
        "/persons/duplicates/merge", data={"survivor_id": "x", "duplicate_id": "y"}
    )
    assert garbage.status_code == 422
    session.expire_all()
    assert session.get_one(Person, elsewhere.id).merged_into_id is None


# Searching


def test_search_by_name_without_diacritics(client: TestClient, session: Session) -> None:
    person = make_person(session, full_name="Đặng Thị Thu Hương", sex="female")
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    page = client.get("/persons", params={"q": "dang thi thu huong"})
    assert page.status_code == 200
    assert f'href="/persons/{person.id}"' in page.text
    assert "Đăng ký người dân" in page.text
