"""The health pass: issuing, the signed format, revocation, the QR image."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from pathlib import Path

import cbor2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFilter
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.actor import system_actor
from phongdich.auth.roles import Role
from phongdich.config import Settings
from phongdich.credentials import cose, passes
from phongdich.credentials.keys import KeyRing, keyring
from phongdich.credentials.models import HealthPass
from phongdich.credentials.verify import TrustStore, verify_bytes, verify_text
from phongdich.errors import Forbidden, Invalid, NotFound
from tests.credentials.helpers import NOW, claims, status, store_of
from tests.factories import HCM, PHUC_XA, TAN_DINH, audit_entries, make_person, make_user

SYSTEM = system_actor("tests")


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    return KeyRing(tmp_path_factory.mktemp("ring") / "keys")


@pytest.fixture
def keys(settings: Settings) -> KeyRing:
    return keyring(settings)


def rewrap(signed: bytes) -> str:
    return passes.PREFIX + cose.b45encode(cose.deflate(signed))


def unwrap(text: str) -> bytes:
    return cose.inflate(cose.b45decode(text[len(passes.PREFIX) :]))


# -- issuing (database) -------------------------------------------------------------------------


def test_issue_records_audits_and_verifies(session: Session, keys: KeyRing) -> None:
    person = make_person(session, full_name="Trần Thị Bích Ngọc")
    issued = passes.issue_pass(
        session=session,
        actor=SYSTEM,
        person=person,
        status=status("yellow", "F1"),
        now=NOW,
        keys=keys,
    )
    assert issued.text.startswith("PD1:")
    row = session.get_one(HealthPass, issued.claims.pass_id)
    assert (row.person_id, row.colour, row.kid, row.unit_code) == (
        person.id,
        "yellow",
        keys.current().kid_hex,
        PHUC_XA,
    )
    assert row.expires_at == NOW + timedelta(hours=72)
    assert audit_entries(session, action="issue", object_id=issued.claims.pass_id)
    verdict = verify_text(issued.text, TrustStore.from_database(session, keys), NOW)
    assert verdict.valid, verdict.errors
    assert (verdict.format, verdict.colour, verdict.reasons) == ("phongdich-pass", "yellow", ["F1"])
    assert verdict.payload["initials"] == "TTBN"
    assert verdict.payload["birth_year"] == 1985
    # Pseudonymous: a keyed hash of the record id, never the document number.
    number = person.documents[0].number
    assert number not in issued.text
    assert number not in str(verdict.payload)
    assert bytes.fromhex(verdict.payload["subject"]) == passes.subject_of(person.id, keys)


def test_issue_refuses_people_outside_the_jurisdiction(session: Session, keys: KeyRing) -> None:
    person = make_person(session, permanent_unit_code=TAN_DINH)
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    with pytest.raises(NotFound):
        passes.issue_pass(session=session, actor=officer, person=person, status=status(), keys=keys)


def test_issue_rejects_an_unknown_colour_and_absurd_lifetimes(
    session: Session, keys: KeyRing
) -> None:
    person = make_person(session)
    with pytest.raises(Invalid) as bad:
        passes.issue_pass(
            session=session, actor=SYSTEM, person=person, status=status("purple"), keys=keys
        )
    assert bad.value.field == "colour"
    with pytest.raises(Invalid):
        passes.issue_pass(
            session=session,
            actor=SYSTEM,
            person=person,
            status=status(),
            lifetime=timedelta(days=400),
            keys=keys,
        )


def test_revoked_pass_is_refused_with_the_reason(session: Session, keys: KeyRing) -> None:
    person = make_person(session)
    issued = passes.issue_pass(
        session=session, actor=SYSTEM, person=person, status=status(), now=NOW, keys=keys
    )
    passes.revoke_pass(
        session=session, actor=SYSTEM, pass_id=issued.claims.pass_id, reason="test", now=NOW
    )
    verdict = verify_text(issued.text, TrustStore.from_database(session, keys), NOW + timedelta(1))
    assert not verdict.valid
    assert verdict.revoked is True
    assert "revoked" in verdict.errors
    assert verdict.signature_valid is True


@pytest.mark.parametrize("detached", [False, True])
def test_a_revocation_reaches_the_stores_built_from_the_database(
    session: Session, keys: KeyRing, detached: bool
) -> None:
    """A server's store asks about the pass shown, so a revocation made after it was built
    counts; a detached one (the command line's) holds the list as it was loaded."""
    person = make_person(session)
    issued = passes.issue_pass(
        session=session, actor=SYSTEM, person=person, status=status(), now=NOW, keys=keys
    )
    store = TrustStore.from_database(session, keys, detached=detached)
    assert verify_text(issued.text, store, NOW + timedelta(hours=1)).valid
    passes.revoke_pass(
        session=session, actor=SYSTEM, pass_id=issued.claims.pass_id, reason="test", now=NOW
    )
    later = verify_text(issued.text, store, NOW + timedelta(hours=1))
    assert later.revoked is (not detached)
    again = TrustStore.from_database(session, keys, detached=detached)
    assert verify_text(issued.text, again, NOW + timedelta(hours=1)).revoked is True
    assert (issued.claims.pass_id in again.revoked) is detached


def test_revoke_passes_of_keeps_the_current_colour_and_expired_ones(
    session: Session, keys: KeyRing
) -> None:
    person = make_person(session)
    green = passes.issue_pass(
        session=session, actor=SYSTEM, person=person, status=status("green"), now=NOW, keys=keys
    )
    red = passes.issue_pass(
        session=session, actor=SYSTEM, person=person, status=status("red"), now=NOW, keys=keys
    )
    old = passes.issue_pass(
        session=session,
        actor=SYSTEM,
        person=person,
        status=status("yellow"),
        now=NOW - timedelta(days=10),
        keys=keys,
    )
    revoked = passes.revoke_passes_of(
        session=session,
        actor=SYSTEM,
        person_id=person.id,
        reason="now red",
        keep_colour="red",
        now=NOW,
    )
    assert revoked == [green.claims.pass_id]
    assert session.get_one(HealthPass, red.claims.pass_id).revoked_at is None
    assert session.get_one(HealthPass, old.claims.pass_id).revoked_at is None
    # Again: nothing left to revoke.
    assert (
        passes.revoke_passes_of(
            session=session,
            actor=SYSTEM,
            person_id=person.id,
            reason="again",
            keep_colour="red",
            now=NOW,
        )
        == []
    )


def test_who_may_revoke(session: Session, keys: KeyRing) -> None:
    person = make_person(session)
    issued = passes.issue_pass(
        session=session, actor=SYSTEM, person=person, status=status(), keys=keys
    )
    pass_id = issued.claims.pass_id
    _, checkpoint = make_user(session, Role.CHECKPOINT_OFFICER, PHUC_XA)
    _, elsewhere = make_user(session, Role.DISTRICT_OFFICER, "760")
    with pytest.raises(Forbidden):
        passes.revoke_pass(session=session, actor=checkpoint, pass_id=pass_id, reason="x")
    with pytest.raises(NotFound):
        passes.revoke_pass(session=session, actor=elsewhere, pass_id=pass_id, reason="x")
    with pytest.raises(NotFound):
        passes.revoke_pass(session=session, actor=SYSTEM, pass_id=uuid.uuid4(), reason="x")
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    row = passes.revoke_pass(session=session, actor=officer, pass_id=pass_id, reason="lost phone")
    assert row.revoked_at is not None
    assert row.revoked_reason == "lost phone"
    assert HCM  # the other province exists in the reference tree


def test_revocations_since(session: Session, keys: KeyRing) -> None:
    person = make_person(session)
    first = passes.issue_pass(
        session=session, actor=SYSTEM, person=person, status=status(), keys=keys
    )
    second = passes.issue_pass(
        session=session, actor=SYSTEM, person=person, status=status(), keys=keys
    )
    passes.revoke_pass(
        session=session, actor=SYSTEM, pass_id=first.claims.pass_id, reason="a", now=NOW
    )
    later = NOW + timedelta(hours=1)
    passes.revoke_pass(
        session=session, actor=SYSTEM, pass_id=second.claims.pass_id, reason="b", now=later
    )
    ids = [row.id for row in passes.revocations_since(session, later)]
    assert second.claims.pass_id in ids
    assert first.claims.pass_id not in ids
    every = session.scalars(select(HealthPass.id).where(HealthPass.revoked_at.is_not(None))).all()
    assert {first.claims.pass_id, second.claims.pass_id} <= set(every)


# -- the signed format (no database) ------------------------------------------------------------


def test_round_trip_and_expiry(ring: KeyRing) -> None:
    text = passes.encode(claims(), ring)
    store = store_of(ring)
    assert verify_text(text, store, NOW + timedelta(hours=71)).valid
    late = verify_text(text, store, NOW + timedelta(hours=72))
    assert not late.valid
    assert late.expired is True
    assert "expired" in late.errors
    assert late.signature_valid is True


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_one_changed_byte_anywhere_makes_it_invalid(ring: KeyRing, data: st.DataObject) -> None:
    signed = unwrap(passes.encode(claims(), ring))
    position = data.draw(st.integers(0, len(signed) - 1), label="position")
    flip = data.draw(st.integers(1, 255), label="xor")
    tampered = bytearray(signed)
    tampered[position] ^= flip
    verdict = verify_text(rewrap(bytes(tampered)), store_of(ring), NOW)
    assert not verdict.valid
    assert verdict.errors


def test_unknown_key(ring: KeyRing, tmp_path: Path) -> None:
    stranger = KeyRing(tmp_path / "other")
    verdict = verify_text(passes.encode(claims(), stranger), store_of(ring), NOW)
    assert not verdict.valid
    assert verdict.signature_valid is None
    assert "unknown key" in verdict.errors


def test_wrong_algorithm(ring: KeyRing) -> None:
    key = ring.current()
    assert key.private_key is not None
    payload = claims().to_cbor()
    protected = cbor2.dumps({cose.HEADER_ALG: -35, cose.HEADER_KID: key.kid})  # ES384
    good = cose.parse_sign1(unwrap(passes.encode(claims(), ring)))
    forged = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, good.signature]))
    verdict = verify_text(rewrap(forged), store_of(ring), NOW)
    assert not verdict.valid
    assert verdict.signature_valid is False
    assert any(e.startswith("wrong algorithm") for e in verdict.errors)


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        ({1: 1, 2: b"short"}, "pass id"),
        ([1, 2, 3], "not a map"),
        ({1: 2}, "version"),
    ],
)
def test_wrongly_typed_payloads_are_refused(ring: KeyRing, payload: object, why: str) -> None:
    key = ring.current()
    assert key.private_key is not None
    text = rewrap(cose.sign_es256(cbor2.dumps(payload), key.private_key, key.kid))
    verdict = verify_text(text, store_of(ring), NOW)
    assert not verdict.decoded
    assert any(why in e for e in verdict.errors), verdict.errors


def test_every_field_is_type_checked(ring: KeyRing) -> None:
    key = ring.current()
    assert key.private_key is not None
    good = cbor2.loads(claims().to_cbor())
    for field, bad in (
        (3, "text"),
        (4, 7),
        (5, "1985"),
        (6, "blue"),
        (7, "F1"),
        (8, "now"),
        (9, 10**30),
    ):
        payload = {**good, field: bad}
        text = rewrap(cose.sign_es256(cbor2.dumps(payload), key.private_key, key.kid))
        verdict = verify_text(text, store_of(ring), NOW)
        assert not verdict.decoded, field
        assert verdict.errors, field


# -- the QR image --------------------------------------------------------------------------------


def test_qr_fits_five_centimetres(ring: KeyRing) -> None:
    text = passes.encode(claims(), ring)
    code = passes.qr(text)
    assert code.error == "M"
    assert isinstance(code.version, int)
    assert code.version <= 12  # about 65 modules: a phone camera reads it at arm's length
    assert passes.module_size_mm(text) >= 0.5
    assert passes.qr_svg(text).startswith("<svg")


def _photo(png: bytes, fmt: str = "JPEG") -> bytes:
    """A QR as a phone might photograph it: smaller, tilted, blurred, grainy, unevenly lit."""
    image = Image.open(io.BytesIO(png)).convert("L")
    image = image.resize((image.width * 4 // 5, image.height * 4 // 5))
    image = image.rotate(8, expand=True, fillcolor=255).filter(ImageFilter.GaussianBlur(1.0))
    grain = np.random.default_rng(5).normal(0, 25, (image.height, image.width))
    # Light falling off across the picture, as from a lamp to one side.
    shade = np.linspace(0, 60, image.width)[np.newaxis, :]
    pixels = np.asarray(image, dtype=np.float64) + grain - shade
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, format="JPEG", quality=70)
    else:
        image.save(out, format=fmt)
    return out.getvalue()


@pytest.mark.parametrize(("fmt", "magic"), [("JPEG", b"\xff\xd8\xff"), ("PNG", b"\x89PNG")])
def test_png_and_a_photo_of_it_decode(ring: KeyRing, fmt: str, magic: bytes) -> None:
    text = passes.encode(claims(), ring)
    png = passes.qr_png(text)
    assert verify_bytes(png, store_of(ring), NOW).valid
    photo = _photo(png, fmt)
    assert photo.startswith(magic)
    verdict = verify_bytes(photo, store_of(ring), NOW)
    assert verdict.valid, verdict.errors


def test_an_image_without_a_code(ring: KeyRing) -> None:
    blank = io.BytesIO()
    Image.new("L", (200, 200), 255).save(blank, format="PNG")
    verdict = verify_bytes(blank.getvalue(), store_of(ring), NOW)
    assert verdict.errors == ["no QR code found in the image"]
