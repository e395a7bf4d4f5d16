from __future__ import annotations

import unicodedata
import uuid

import pytest

from phongdich.text import clean_name, fold, mask_digits


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nguyễn  Văn Đức", "nguyen van duc"),
        ("  ĐẶNG thị Ánh ", "dang thi anh"),
        (unicodedata.normalize("NFD", "Phường Phúc Xá"), "phuong phuc xa"),
        ("", ""),
    ],
)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


def test_clean_name_keeps_diacritics_in_nfc() -> None:
    cleaned = clean_name(unicodedata.normalize("NFD", "  Lê   Thị\tHoa "))
    assert cleaned == "Lê Thị Hoa"
    assert unicodedata.is_normalized("NFC", cleaned)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("001085012345", "001*******45"),
        ("phone 0912345678, year 1985", "phone 091*****78, year 1985"),
        ("123456", "123*56"),
        ("12345", "12345"),
    ],
)
def test_mask_digits(text: str, expected: str) -> None:
    assert mask_digits(text) == expected


def test_mask_digits_leaves_record_ids_whole() -> None:
    record = uuid.UUID("c5087440-b2ab-4fb5-878b-815be1234567")
    text = f"absorbed {record} for 001085012345"
    assert mask_digits(text) == f"absorbed {record} for 001*******45"
