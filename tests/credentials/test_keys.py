"""Signing keys: made on first use, encrypted at rest, rotated without breaking old passes."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from phongdich.credentials import passes
from phongdich.credentials.keys import (
    PASSPHRASE_ENV,
    KeyRing,
    KeysUnavailable,
    certificate_kid,
    kid_of,
)
from phongdich.credentials.verify import verify_text
from tests.credentials.helpers import NOW, claims, store_of


def test_first_use_makes_an_encrypted_key_and_private_files(tmp_path: Path) -> None:
    keys = KeyRing(tmp_path / "keys")
    key = keys.current()
    der = key.public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert key.kid == hashlib.sha256(der).digest()[:8] == kid_of(key.public_key)
    pem = (tmp_path / "keys" / f"pass-{key.kid_hex}.pem").read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem
    for name in ("passphrase", f"pass-{key.kid_hex}.pem", "keys.json"):
        mode = stat.S_IMODE((tmp_path / "keys" / name).stat().st_mode)
        assert mode == 0o600, name
    # A second ring over the same folder (another process) finds the same key.
    assert KeyRing(tmp_path / "keys").current().kid == key.kid


def test_the_passphrase_comes_from_the_environment_when_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "a long operator passphrase")
    key = KeyRing(tmp_path / "keys").current()
    assert not (tmp_path / "keys" / "passphrase").exists()
    pem = (tmp_path / "keys" / f"pass-{key.kid_hex}.pem").read_bytes()
    loaded = serialization.load_pem_private_key(pem, password=b"a long operator passphrase")
    assert kid_of(loaded.public_key()) == key.kid
    # Any wrong passphrase (whichever way decryption happens to fail) gets the same clear error.
    for wrong in ("wrong", "another guess", "x" * 40, "1234", "operator"):
        monkeypatch.setenv(PASSPHRASE_ENV, wrong)
        with pytest.raises(KeysUnavailable, match="wrong passphrase"):
            KeyRing(tmp_path / "keys").current()


def test_rotation_keeps_old_passes_valid(tmp_path: Path) -> None:
    keys = KeyRing(tmp_path / "keys")
    old_text = passes.encode(claims(), keys)
    old = keys.current()
    new = keys.rotate(now=NOW)
    assert new.kid != old.kid
    assert keys.current().kid == new.kid
    listed = keys.signing_keys()
    assert [k.kid for k in listed] == [old.kid, new.kid]
    assert listed[0].retired_at == NOW
    assert listed[0].valid_until is not None
    new_text = passes.encode(claims(), keys)
    store = store_of(keys)
    for text, kid in ((old_text, old.kid), (new_text, new.kid)):
        verdict = verify_text(text, store, NOW)
        assert verdict.valid, verdict.errors
        assert verdict.kid == kid.hex()


def test_a_pass_signed_by_a_retired_key_after_its_trust_ended_is_refused(tmp_path: Path) -> None:
    from datetime import timedelta

    keys = KeyRing(tmp_path / "keys")
    late = claims(issued=NOW + timedelta(days=30))
    text = passes.encode(late, keys)  # signed while the key was current …
    keys.rotate(now=NOW)  # … but the key's retirement says it stopped signing before that
    verdict = verify_text(text, store_of(keys), NOW + timedelta(days=30, hours=1))
    assert not verdict.valid
    assert "signed after its key stopped being trusted" in verdict.errors


def test_keys_init_makes_a_csca_and_a_dsc_signed_by_it(tmp_path: Path) -> None:
    keys = KeyRing(tmp_path / "keys")
    dsc = keys.init_dcc(country="VN")
    csca = keys.csca()
    assert csca is not None
    assert dsc.issuer == csca.subject
    dsc.verify_directly_issued_by(csca)
    basic = csca.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic.ca
    assert keys.init_dcc() == dsc  # kept, not replaced
    assert len(certificate_kid(dsc)) == 8
    assert b"ENCRYPTED" in (tmp_path / "keys" / "dsc-key.pem").read_bytes()
