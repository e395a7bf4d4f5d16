from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from phongdich.errors import Invalid
from phongdich.persons.documents import (
    cccd_facts,
    check_cccd_matches,
    parse_birth,
    parse_cccd_qr,
    parse_document,
    parse_phone,
    parse_sex,
)

QR = "001085012345|012345678|Nguyễn Văn An|02041985|Nam|Số 1 Hòe Nhai, Phúc Xá, Ba Đình|15062021"


def field_of(exc: pytest.ExceptionInfo[Invalid]) -> str:
    return exc.value.field


@pytest.mark.parametrize(
    ("number", "sex", "year"),
    [
        ("001085012345", "male", 1985),
        ("079190000001", "female", 1990),
        ("001303000123", "female", 2003),
        ("001203000123", "male", 2003),
        ("096200999999", "male", 2000),
    ],
)
def test_cccd_facts_read_sex_and_birth_year_from_the_number(
    number: str, sex: str, year: int
) -> None:
    facts = cccd_facts(number)
    assert (facts.province_code, facts.sex, facts.birth_year_from) == (number[:3], sex, year)
    assert facts.serial == number[6:]


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("00108501234", "exactly 12 digits"),
        ("0010850123456", "exactly 12 digits"),
        ("00108501234a", "exactly 12 digits"),
        ("003085012345", "003 is none"),
        ("999085012345", "999 is none"),
    ],
)
def test_cccd_facts_reject_malformed_numbers(number: str, reason: str) -> None:
    with pytest.raises(Invalid) as exc:
        cccd_facts(number, "qr.number")
    assert exc.value.field == "qr.number"
    assert reason in exc.value.reason


@pytest.mark.parametrize(
    ("raw", "kind", "number", "country"),
    [
        ("001085012345", "cccd", "001085012345", "VNM"),
        (" 001 085-012.345 ", "cccd", "001085012345", "VNM"),
        ("123456789", "cmnd", "123456789", "VNM"),
    ],
)
def test_parse_document_guesses_the_kind(raw: str, kind: str, number: str, country: str) -> None:
    document = parse_document(raw)
    assert (document.kind, document.number, document.nationality) == (kind, number, country)


def test_parse_document_passport_needs_and_normalises_nationality() -> None:
    document = parse_document("b1234567", nationality=" kor ")
    assert (document.kind, document.number, document.nationality) == ("passport", "B1234567", "KOR")
    with pytest.raises(Invalid) as exc:
        parse_document("B1234567")
    assert (exc.value.field, exc.value.reason) == ("nationality", "required with a passport number")


def test_parse_document_accepts_a_twelve_digit_cmnd_when_told() -> None:
    document = parse_document("123456789012", kind="CMND")
    assert (document.kind, document.number) == ("cmnd", "123456789012")


@pytest.mark.parametrize(
    ("raw", "kwargs", "field", "reason"),
    [
        ("", {}, "document_number", "required"),
        ("  ", {}, "document_number", "required"),
        ("12345", {}, "document_number", "a CCCD has 12 digits and a CMND 9 or 12"),
        ("1234567890", {}, "document_number", "a CCCD has 12 digits and a CMND 9 or 12"),
        ("123456789", {"kind": "licence"}, "document_kind", "one of cccd, cmnd, passport"),
        ("B1234567", {"nationality": "US"}, "nationality", "three-letter ISO"),
        ("B1234567", {"nationality": "U5A"}, "nationality", "three-letter ISO"),
        ("12345678", {"kind": "cmnd"}, "document_number", "9 or 12 digits"),
        ("123456789", {"kind": "cccd"}, "document_number", "exactly 12 digits"),
        ("AB12", {"nationality": "USA"}, "document_number", "6-12 letters and digits"),
        ("B12345@7", {"nationality": "USA"}, "document_number", "6-12 letters and digits"),
    ],
)
def test_parse_document_rejects_bad_input(
    raw: str, kwargs: dict[str, str], field: str, reason: str
) -> None:
    with pytest.raises(Invalid) as exc:
        parse_document(raw, **kwargs)
    assert exc.value.field == field
    assert reason in exc.value.reason


def test_parse_document_names_the_callers_field() -> None:
    with pytest.raises(Invalid) as exc:
        parse_document("1", field="number")
    assert exc.value.field == "number"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("male", "male"),
        ("Nam", "male"),
        ("M", "male"),
        ("1", "male"),
        ("female", "female"),
        ("Nữ", "female"),
        ("NỮ", "female"),
        ("nu", "female"),
        ("2", "female"),
        ("", None),
        (None, None),
    ],
)
def test_parse_sex(text: str | None, expected: str | None) -> None:
    assert parse_sex(text) == expected


def test_parse_sex_accepts_decomposed_unicode() -> None:
    # Text pasted from some systems arrives in NFD: 'u' + combining horn + combining dot below.
    assert parse_sex(unicodedata.normalize("NFD", "Nữ")) == "female"


def test_parse_sex_rejects_other_values() -> None:
    with pytest.raises(Invalid) as exc:
        parse_sex("x", "qr.sex")
    assert (exc.value.field, exc.value.reason) == ("qr.sex", "male or female (Nam / Nữ)")


TODAY = date(2026, 1, 15)


@pytest.mark.parametrize(
    ("text", "born", "year"),
    [
        ("1987-03-21", date(1987, 3, 21), 1987),
        ("1987-3-1", date(1987, 3, 1), 1987),
        ("21/03/1987", date(1987, 3, 21), 1987),
        ("1/3/1987", date(1987, 3, 1), 1987),
        ("21031987", date(1987, 3, 21), 1987),
        ("1987", None, 1987),
        ("1900", None, 1900),
        ("2026-01-15", date(2026, 1, 15), 2026),
        ("", None, None),
        (None, None, None),
    ],
)
def test_parse_birth_formats(text: str | None, born: date | None, year: int | None) -> None:
    assert parse_birth(text, today=TODAY) == (born, year)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1987/03/21", "a date as YYYY-MM-DD or DD/MM/YYYY, or a year alone"),
        ("87", "a date as YYYY-MM-DD or DD/MM/YYYY, or a year alone"),
        ("March 1987", "a date as YYYY-MM-DD or DD/MM/YYYY, or a year alone"),
        ("1987-02-30", "1987-02-30 is not a real date"),
        ("31/04/1990", "31/04/1990 is not a real date"),
        ("32011990", "32011990 is not a real date"),
        ("1899", "between 1900 and today"),
        ("2026-01-16", "between 1900 and today"),
        ("2027", "between 1900 and today"),
    ],
)
def test_parse_birth_rejects(text: str, reason: str) -> None:
    with pytest.raises(Invalid) as exc:
        parse_birth(text, today=TODAY)
    assert (exc.value.field, exc.value.reason) == ("birth_date", reason)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0912345678", "0912345678"),
        ("0912 345 678", "0912345678"),
        ("+84 912 345 678", "0912345678"),
        ("84912345678", "0912345678"),
        ("(091) 234-5678", "0912345678"),
        ("02438253531", "02438253531"),
        ("", None),
        (None, None),
    ],
)
def test_parse_phone(text: str | None, expected: str | None) -> None:
    assert parse_phone(text) == expected


@pytest.mark.parametrize(
    "text", ["12345", "912345678", "09123456789012", "09123abc78", "+1 555 0100"]
)
def test_parse_phone_rejects(text: str) -> None:
    with pytest.raises(Invalid) as exc:
        parse_phone(text)
    assert exc.value.field == "phone"
    assert "10 digits starting with 0" in exc.value.reason


def test_check_cccd_matches() -> None:
    check_cccd_matches("001085012345", "male", 1985)
    check_cccd_matches("001085012345", None, None)
    with pytest.raises(Invalid) as exc:
        check_cccd_matches("001085012345", "female", 1985)
    assert (exc.value.field, exc.value.reason) == ("sex", "the CCCD number says male")
    with pytest.raises(Invalid) as exc:
        check_cccd_matches("001085012345", "male", 1986)
    assert (exc.value.field, exc.value.reason) == (
        "birth_date",
        "the CCCD number says born in 1985",
    )


def test_parse_cccd_qr_reads_every_field() -> None:
    card = parse_cccd_qr(QR)
    assert card.number == "001085012345"
    assert card.old_number == "012345678"
    assert card.full_name == "Nguyễn Văn An"
    assert card.birth_date == date(1985, 4, 2)
    assert card.sex == "male"
    assert card.address == "Số 1 Hòe Nhai, Phúc Xá, Ba Đình"
    assert card.issued_on == date(2021, 6, 15)


def test_parse_cccd_qr_without_old_number_or_issue_date() -> None:
    card = parse_cccd_qr("079190000001||Trần Thị Bình|05061990|Nữ|Quận 1|")
    assert card.old_number is None
    assert card.issued_on is None
    assert card.sex == "female"


@pytest.mark.parametrize(
    ("qr", "field", "reason"),
    [
        ("001085012345|Nguyễn Văn An", "qr", "this has 2"),
        ("", "qr", "this has 1"),
        (QR + "|extra", "qr", "this has 8"),
        ("00108501234|012345678|A B|02041985|Nam|x|15062021", "qr.number", "exactly 12"),
        ("001085012345|1234|A B|02041985|Nam|x|15062021", "qr.old_number", "9 or 12 digits"),
        ("001085012345|012345678||02041985|Nam|x|15062021", "qr.name", "empty"),
        ("001085012345|012345678|A B|1985-04-02|Nam|x|15062021", "qr.birth_date", "ddmmyyyy"),
        ("001085012345|012345678|A B|31021985|Nam|x|15062021", "qr.birth_date", "not a real"),
        ("001085012345|012345678|A B|02041985||x|15062021", "qr.sex", "empty"),
        ("001085012345|012345678|A B|02041985|X|x|15062021", "qr.sex", "male or female"),
        ("001085012345|012345678|A B|02041985|Nam|x|2021", "qr.issued_on", "ddmmyyyy"),
        ("001085012345|012345678|A B|02041985|Nam|x|01012999", "qr.issued_on", "between"),
        ("001085012345|012345678|A B|02041985|Nữ|x|15062021", "qr.sex", "says male"),
        ("001085012345|012345678|A B|02041986|Nam|x|15062021", "qr.birth_date", "born in 1985"),
    ],
)
def test_parse_cccd_qr_rejects(qr: str, field: str, reason: str) -> None:
    with pytest.raises(Invalid) as exc:
        parse_cccd_qr(qr)
    assert exc.value.field == field
    assert reason in exc.value.reason
