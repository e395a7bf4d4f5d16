"""The verifier: format recognition, and a clean verdict (never an exception) for any input."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phongdich.credentials import cose, passes
from phongdich.credentials.keys import KeyRing
from phongdich.credentials.verify import MAX_TEXT_BYTES, TrustStore, verify_bytes, verify_text
from tests.credentials.helpers import NOW, claims, store_of

FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    return KeyRing(tmp_path_factory.mktemp("ring") / "keys")


@pytest.fixture(scope="module")
def store(ring: KeyRing) -> TrustStore:
    ring.init_dcc()
    return store_of(ring)


@pytest.fixture(scope="module")
def good(ring: KeyRing) -> str:
    return passes.encode(claims(), ring)


def test_formats_are_recognised(good: str, store: TrustStore) -> None:
    assert verify_text(good, store, NOW).format == "phongdich-pass"
    assert verify_text("HC1:ABC", store, NOW).format == "eu-dcc"
    card = "001085012345|123456789|Nguyễn Văn An|02041985|Nam|Số 1 phố Hòe Nhai, Phúc Xá|01012021"
    verdict = verify_text(card, store, NOW)
    assert verdict.format == "cccd"
    assert verdict.decoded
    assert verdict.payload["full_name"] == "Nguyễn Văn An"
    assert verdict.signature_valid is None
    assert not verdict.valid  # a card's QR is not a signed credential


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("PD2:NCFOXN", "unrecognised format"),
        ("hello", "unrecognised format"),
        ("", "unrecognised format"),
        ("PD1:" + "A" * (MAX_TEXT_BYTES + 1), f"longer than {MAX_TEXT_BYTES} bytes"),
        ("PD1:!!!!", "not Base45"),
        ("PD1:" + cose.b45encode(b"not zlib at all"), "not zlib-compressed data"),
        ("PD1:" + cose.b45encode(zlib.compress(b"\xa1\x01\x02")), "not a COSE_Sign1 structure"),
        ("HC1:" + cose.b45encode(zlib.compress(b"\xff\xff")), "malformed CBOR"),
    ],
)
def test_bad_text_gives_a_clean_error(store: TrustStore, text: str, error: str) -> None:
    verdict = verify_text(text, store, NOW)
    assert not verdict.valid
    assert any(e.startswith(error) for e in verdict.errors), verdict.errors


def test_truncated_pass(good: str, store: TrustStore) -> None:
    for cut in (5, len(good) // 2, len(good) - 1):
        verdict = verify_text(good[:cut], store, NOW)
        assert not verdict.valid
        assert verdict.errors


def test_zip_bomb_is_stopped(store: TrustStore) -> None:
    bomb = zlib.compress(b"\0" * (2 * 1024 * 1024), 9)
    text = "PD1:" + cose.b45encode(bomb)
    assert len(text) < MAX_TEXT_BYTES  # fits a QR code, inflates a thousandfold
    verdict = verify_text(text, store, NOW)
    assert verdict.errors == [f"decompresses to more than {cose.MAX_INFLATED} bytes"]


def test_non_utf8_bytes(store: TrustStore) -> None:
    verdict = verify_bytes(b"PD1:\xff\xfe\x00", store, NOW)
    assert verdict.errors == ["not UTF-8 text"]


def test_corrupt_images(store: TrustStore, tmp_path: Path) -> None:
    for data in (b"\x89PNG\r\n\x1a\n" + b"\0" * 50, b"\xff\xd8\xff\xe0garbage"):
        verdict = verify_bytes(data, store, NOW)
        assert verdict.errors == ["no QR code found in the image"]


@FUZZ
@given(text=st.text(max_size=600))
def test_fuzz_text_never_raises(store: TrustStore, text: str) -> None:
    verdict = verify_text(text, store, NOW)
    assert not verdict.valid
    assert verdict.errors


@FUZZ
@given(payload=st.binary(max_size=700), prefix=st.sampled_from(["PD1:", "HC1:"]))
def test_fuzz_wrapped_bytes_never_raise(store: TrustStore, payload: bytes, prefix: str) -> None:
    for data in (payload, zlib.compress(payload)):
        verdict = verify_text(prefix + cose.b45encode(data), store, NOW)
        assert not verdict.valid
        assert verdict.errors


@FUZZ
@given(data=st.binary(max_size=2000))
def test_fuzz_raw_bytes_never_raise(store: TrustStore, data: bytes) -> None:
    verdict = verify_bytes(data, store, NOW)
    assert not verdict.valid


@FUZZ
@given(data=st.data())
def test_fuzz_mutated_pass_never_raises(good: str, store: TrustStore, data: st.DataObject) -> None:
    position = data.draw(st.integers(4, len(good) - 1))
    replacement = data.draw(st.characters(codec="utf-8"))
    verdict = verify_text(good[:position] + replacement + good[position + 1 :], store, NOW)
    assert isinstance(verdict.errors, list)
