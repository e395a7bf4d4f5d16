"""Identity documents: CCCD, CMND and passports, the CCCD card's QR, and field normalisers.

A CCCD number is structured: digits 1-3 are the province of birth registration, digit 4 encodes
sex and century (0/1 = male/female born 1900-1999, 2/3 = 2000-2099, 4/5 = 2100-…), digits 5-6
are the last two digits of the birth year, digits 7-12 are a serial.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime

from phongdich.errors import Invalid

# The 63 province codes CCCD numbers start with (provinces as they were when the cards were
# issued; the 2025 mergers did not renumber cards).
CCCD_PROVINCE_CODES = frozenset(
    [
        "001",
        "002",
        "004",
        "006",
        "008",
        "010",
        "011",
        "012",
        "014",
        "015",
        "017",
        "019",
        "020",
        "022",
        "024",
        "025",
        "026",
        "027",
        "030",
        "031",
        "033",
        "034",
        "035",
        "036",
        "037",
        "038",
        "040",
        "042",
        "044",
        "045",
        "046",
        "048",
        "049",
        "051",
        "052",
        "054",
        "056",
        "058",
        "060",
        "062",
        "064",
        "066",
        "067",
        "068",
        "070",
        "072",
        "074",
        "075",
        "077",
        "079",
        "080",
        "082",
        "083",
        "084",
        "086",
        "087",
        "089",
        "091",
        "092",
        "093",
        "094",
        "095",
        "096",
    ]
)

KINDS = ("cccd", "cmnd", "passport")
_PASSPORT_RE = re.compile(r"^[A-Z0-9]{6,12}$")
_COUNTRY_RE = re.compile(r"^[A-Z]{3}$")
_PHONE_RE = re.compile(r"^0\d{9,10}$")
_SEPARATORS = re.compile(r"[\s.\-()]")


@dataclass(frozen=True)
class Document:
    kind: str
    number: str
    nationality: str


@dataclass(frozen=True)
class CccdFacts:
    province_code: str
    sex: str
    birth_year_from: int  # the century and year digits give the exact birth year
    serial: str


def cccd_facts(number: str, field: str = "document_number") -> CccdFacts:
    """Check a CCCD number's structure; raise Invalid naming what is wrong."""
    if not (len(number) == 12 and number.isdigit()):
        raise Invalid(field, "a CCCD number has exactly 12 digits")
    province = number[:3]
    if province not in CCCD_PROVINCE_CODES:
        raise Invalid(field, f"a CCCD number starts with a province code; {province} is none")
    marker = int(number[3])
    century = 1900 + (marker // 2) * 100
    return CccdFacts(
        province_code=province,
        sex="male" if marker % 2 == 0 else "female",
        birth_year_from=century + int(number[4:6]),
        serial=number[6:],
    )


def parse_document(
    number: str,
    *,
    kind: str | None = None,
    nationality: str | None = None,
    field: str = "document_number",
) -> Document:
    """Recognise the kind from the number when not given: 12 digits CCCD, 9 digits CMND,
    letters and digits a passport (which then needs a nationality)."""
    raw = _SEPARATORS.sub("", number or "").upper()
    if not raw:
        raise Invalid(field, "required")
    kind = (kind or "").strip().lower() or None
    if kind is not None and kind not in KINDS:
        raise Invalid("document_kind", f"one of {', '.join(KINDS)}")
    country = (nationality or "").strip().upper() or None
    if country is not None and not _COUNTRY_RE.match(country):
        raise Invalid("nationality", "a three-letter ISO country code such as VNM, USA, KOR")
    if kind is None:
        if raw.isdigit() and len(raw) == 12:
            kind = "cccd"
        elif raw.isdigit() and len(raw) == 9:
            kind = "cmnd"
        elif raw.isdigit():
            raise Invalid(field, "a CCCD has 12 digits and a CMND 9 or 12")
        else:
            kind = "passport"
    if kind == "cccd":
        cccd_facts(raw, field)
        return Document("cccd", raw, "VNM")
    if kind == "cmnd":
        if not (raw.isdigit() and len(raw) in (9, 12)):
            raise Invalid(field, "a CMND number has 9 or 12 digits")
        return Document("cmnd", raw, "VNM")
    if not _PASSPORT_RE.match(raw):
        raise Invalid(field, "a passport number has 6-12 letters and digits")
    if country is None:
        raise Invalid("nationality", "required with a passport number")
    return Document("passport", raw, country)


def parse_sex(value: str | None, field: str = "sex") -> str | None:
    # NFC first: 'Nữ' pasted in decomposed form must still read as female.
    text = unicodedata.normalize("NFC", value or "").strip().lower()
    if not text:
        return None
    if text in ("male", "m", "nam", "1"):
        return "male"
    if text in ("female", "f", "nữ", "nu", "nư", "2"):
        return "female"
    raise Invalid(field, "male or female (Nam / Nữ)")


def parse_birth(
    value: str | None, field: str = "birth_date", *, today: date | None = None
) -> tuple[date | None, int | None]:
    """'1987-03-21', '21/03/1987', '21031987' or a year alone: returns (date or None, year)."""
    text = (value or "").strip()
    if not text:
        return None, None
    today = today or datetime.now(UTC).date()
    try:
        if re.fullmatch(r"\d{4}", text):
            born, year = None, int(text)
        elif re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
            y, m, d = (int(p) for p in text.split("-"))
            born = date(y, m, d)
            year = y
        elif re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", text):
            d, m, y = (int(p) for p in text.split("/"))
            born = date(y, m, d)
            year = y
        elif re.fullmatch(r"\d{8}", text):
            born = date(int(text[4:]), int(text[2:4]), int(text[:2]))
            year = born.year
        else:
            raise Invalid(field, "a date as YYYY-MM-DD or DD/MM/YYYY, or a year alone")
    except ValueError:
        raise Invalid(field, f"{text} is not a real date") from None
    if year < 1900 or (born or date(year, 1, 1)) > today:
        raise Invalid(field, "between 1900 and today")
    return born, year


def parse_phone(value: str | None, field: str = "phone") -> str | None:
    """Vietnamese numbers in the national form: '+84 912 345 678' -> '0912345678'."""
    text = _SEPARATORS.sub("", (value or ""))
    if not text:
        return None
    if text.startswith("+84"):
        text = "0" + text[3:]
    elif text.startswith("84") and len(text) in (11, 12):
        text = "0" + text[2:]
    if not _PHONE_RE.match(text):
        raise Invalid(field, "a Vietnamese phone number: 10 digits starting with 0 (or +84)")
    return text


def check_cccd_matches(number: str, sex: str | None, birth_year: int | None) -> None:
    """A CCCD's 4th-6th digits must agree with the sex and birth year given beside it."""
    facts = cccd_facts(number)
    if sex is not None and sex != facts.sex:
        raise Invalid("sex", f"the CCCD number says {facts.sex}")
    if birth_year is not None and birth_year != facts.birth_year_from:
        raise Invalid("birth_date", f"the CCCD number says born in {facts.birth_year_from}")


@dataclass(frozen=True)
class CccdCard:
    """What the QR on a CCCD chip card holds."""

    number: str
    old_number: str | None
    full_name: str
    birth_date: date
    sex: str
    address: str
    issued_on: date | None


def parse_cccd_qr(text: str) -> CccdCard:
    """`number|old number|name|ddmmyyyy|sex|address|issue ddmmyyyy` (old number may be empty)."""
    parts = [p.strip() for p in (text or "").strip().split("|")]
    if len(parts) != 7:
        raise Invalid("qr", f"a CCCD QR has 7 fields separated by '|'; this has {len(parts)}")
    number, old, name, born_text, sex_text, address, issued_text = parts
    cccd_facts(number, "qr.number")
    if old and not (old.isdigit() and len(old) in (9, 12)):
        raise Invalid("qr.old_number", "a CMND number has 9 or 12 digits")
    if not name:
        raise Invalid("qr.name", "empty")
    if not re.fullmatch(r"\d{8}", born_text):
        raise Invalid("qr.birth_date", "ddmmyyyy")
    born, year = parse_birth(born_text, "qr.birth_date")
    assert born is not None  # eight digits always give a full date
    sex = parse_sex(sex_text, "qr.sex")
    if sex is None:
        raise Invalid("qr.sex", "empty")
    issued: date | None = None
    if issued_text:
        if not re.fullmatch(r"\d{8}", issued_text):
            raise Invalid("qr.issued_on", "ddmmyyyy")
        issued, _ = parse_birth(issued_text, "qr.issued_on")
    try:
        check_cccd_matches(number, sex, year)
    except Invalid as exc:
        raise Invalid(f"qr.{exc.field}", exc.reason) from None
    return CccdCard(number, old or None, name, born, sex, address, issued)
