"""Declaring without a login, versions per person, and officials reading them back."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth.models import AuditEntry
from phongdich.auth.roles import Role
from phongdich.declarations.models import HealthDeclaration
from phongdich.declarations.schemas import DeclarationInput
from phongdich.declarations.service import PHONE_MISMATCH, declare
from phongdich.errors import Invalid
from phongdich.persons.documents import parse_document
from phongdich.persons.models import Person
from phongdich.persons.service import document_owner
from tests.factories import (
    HANG_BAC,
    PHUC_XA,
    TAN_DINH,
    TRUC_BACH,
    audit_entries,
    bearer,
    cccd,
    make_person,
    make_user,
)


def form(**overrides: Any) -> dict[str, Any]:
    """A first declaration: identity, address, no symptoms, no exposure."""
    values: dict[str, Any] = {
        "document_number": cccd(sex="female", born=1990),
        "phone": "0912345678",
        "full_name": "Lê Thị Hoa",
        "birth_date": "1990-05-06",
        "sex": "female",
        "address_unit_code": TRUC_BACH,
        "address": "12 Trúc Bạch",
    }
    values.update(overrides)
    return values


def test_an_unknown_document_registers_the_person(session: Session) -> None:
    values = form()
    declared = declare(session=session, data=DeclarationInput.model_validate(values))
    assert declared.registered
    person = document_owner(session, parse_document(values["document_number"]))
    assert person is not None
    assert person.id == declared.person.id
    assert (person.full_name, person.phone, person.permanent_unit_code) == (
        "Lê Thị Hoa",
        "0912345678",
        TRUC_BACH,
    )
    created = audit_entries(session, action="create", object_id=person.id)
    assert [(e.username, e.origin) for e in created] == [("system", "self-declaration")]
    assert declared.declaration.version == 1
    assert declared.declaration.unit_code == TRUC_BACH
    assert declared.declaration.symptoms == []


def test_declarations_are_versioned_never_overwritten(session: Session) -> None:
    person = make_person(session, permanent_unit_code=PHUC_XA, phone="0987000111")
    number = person.main_document.number if person.main_document else ""
    known = {"document_number": number, "phone": "+84 987 000 111", "address_unit_code": PHUC_XA}
    first = declare(session=session, data=DeclarationInput.model_validate(known))
    second = declare(
        session=session,
        data=DeclarationInput.model_validate({**known, "symptoms": ["fever", "cough"]}),
    )
    assert not first.registered
    assert (first.declaration.version, second.declaration.version) == (1, 2)
    stored = session.scalars(
        select(HealthDeclaration)
        .where(HealthDeclaration.person_id == person.id)
        .order_by(HealthDeclaration.version)
    ).all()
    assert [d.symptoms for d in stored] == [[], ["fever", "cough"]]


def test_identity_fields_are_ignored_for_a_known_person(session: Session) -> None:
    person = make_person(session, phone="0987000222")
    number = person.main_document.number if person.main_document else ""
    declare(
        session=session,
        data=DeclarationInput.model_validate(
            form(document_number=number, phone="0987000222", full_name="Someone Else")
        ),
    )
    assert session.get_one(Person, person.id).full_name == person.full_name


@pytest.mark.parametrize("registered_phone", ["0987000333", None])
def test_a_known_document_with_another_phone_is_refused_without_revealing(
    session: Session, registered_phone: str | None
) -> None:
    person = make_person(session, phone=registered_phone)
    number = person.main_document.number if person.main_document else ""
    with pytest.raises(Invalid) as caught:
        declare(
            session=session,
            data=DeclarationInput.model_validate(form(document_number=number, phone="0911111111")),
        )
    assert (caught.value.field, caught.value.reason) == ("phone", PHONE_MISMATCH)
    assert person.full_name not in caught.value.message
    assert session.scalar(select(HealthDeclaration.id)) is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"document_number": "12345"}, "document_number"),
        ({"document_number": cccd(sex="male", born=1990)}, "sex"),  # the CCCD says male
        ({"phone": "12"}, "phone"),
        ({"full_name": None}, "full_name"),
        ({"birth_date": None}, "birth_date"),
        ({"address_unit_code": "99999"}, "address_unit_code"),
        ({"symptoms": ["fever", "none"]}, "symptoms"),
        ({"symptoms": ["sneezing"]}, "symptoms"),
        ({"travelled_from_unit_code": HANG_BAC}, "travelled_from_unit_code"),
        ({"destination_unit_code": "nowhere"}, "destination_unit_code"),
    ],
)
def test_bad_declarations_name_the_field(
    session: Session, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(Invalid) as caught:
        declare(session=session, data=DeclarationInput.model_validate(form(**overrides)))
    assert caught.value.field == field


def test_travel_from_an_outbreak_area_keeps_its_zone_level(session: Session) -> None:
    session.execute(update(AdminUnit).where(AdminUnit.code == TAN_DINH).values(zone_level=4))
    declared = declare(
        session=session,
        data=DeclarationInput.model_validate(
            form(travelled_from_unit_code=TAN_DINH, contact_with_case=True)
        ),
    )
    assert (
        declared.declaration.travelled_from_zone_level,
        declared.declaration.contact_with_case,
    ) == (
        4,
        True,
    )


# The API


def test_declaring_needs_no_login(client: TestClient) -> None:
    answer = client.post("/api/declarations", json=form())
    assert answer.status_code == 201, answer.text
    assert answer.json()["version"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "0912345678"}, "document_number"),
        ({**form(), "symptoms": "fever"}, "symptoms"),
        ({**form(), "phone": "call me"}, "phone"),
        ({**form(), "surprise": 1}, "surprise"),
    ],
)
def test_bad_input_without_login_is_a_422_with_the_field(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    answer = client.post("/api/declarations", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field


def test_officials_read_declarations_in_their_jurisdiction_only(
    client: TestClient, session: Session
) -> None:
    values = form(address_unit_code=PHUC_XA)
    client.post("/api/declarations", json=values)
    client.post("/api/declarations", json={**values, "symptoms": ["tiredness"]})
    person = document_owner(session, parse_document(values["document_number"]))
    assert person is not None
    own, _ = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    other, _ = make_user(session, Role.COMMUNE_OFFICER, TRUC_BACH)
    url = f"/api/persons/{person.id}/declarations"
    listed = client.get(url, headers=bearer(session, own))
    assert listed.status_code == 200
    assert [d["version"] for d in listed.json()] == [2, 1]
    assert listed.json()[0]["symptoms"] == ["tiredness"]
    reads = session.scalars(
        select(AuditEntry).where(
            AuditEntry.object_type == "health_declaration", AuditEntry.username == own.username
        )
    ).all()
    assert len(reads) == 1
    assert client.get(url, headers=bearer(session, other)).status_code == 404


# The pages


def test_the_form_is_vietnamese_and_fits_a_phone(client: TestClient) -> None:
    page = client.get("/declare")
    assert page.status_code == 200
    assert "Tờ khai y tế" in page.text
    assert 'name="viewport" content="width=device-width' in page.text
    assert 'id="f-no_symptoms" checked' in page.text


def test_the_communes_of_a_province_are_listed_for_the_address(client: TestClient) -> None:
    listed = client.get("/declare/units", params={"province": "01"}).json()
    assert [u["code"] for u in listed] == [HANG_BAC, PHUC_XA, TRUC_BACH]
    assert client.get("/declare/units", params={"province": "%"}).json() == []


def test_declaring_on_the_page_offers_the_health_pass(client: TestClient) -> None:
    values = form()
    page = client.post("/declare", data={**values, "symptom_fever": "on", "no_symptoms": "on"})
    assert page.status_code == 200, page.text
    assert 'action="/pass"' in page.text
    assert f'name="document_number" value="{values["document_number"]}"' in page.text


def test_a_page_error_is_shown_next_to_the_field_with_the_values_kept(
    client: TestClient, session: Session
) -> None:
    person = make_person(session, phone="0987000444")
    number = person.main_document.number if person.main_document else ""
    page = client.post(
        "/declare",
        data={"document_number": number, "phone": "0911000000", "address_unit_code": PHUC_XA},
    )
    assert page.status_code == 422
    assert 'id="e-phone"' in page.text
    assert person.full_name not in page.text
    assert f'value="{number}"' in page.text


def test_the_person_page_shows_declarations(client: TestClient, session: Session) -> None:
    from tests.web.pages import sign_in

    values = form(address_unit_code=PHUC_XA)
    client.post("/api/declarations", json={**values, "contact_with_case": True})
    person = document_owner(session, parse_document(values["document_number"]))
    assert person is not None
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    page = client.get(f"/persons/{person.id}")
    assert page.status_code == 200
    assert "Tờ khai y tế" in page.text
    assert "Tiếp xúc với ca bệnh đã xác nhận" in page.text
