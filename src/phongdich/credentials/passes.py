"""The personal health pass (mã QR cá nhân): issue, encode, revoke, draw.

Format (see docs/credentials.md): a CBOR map with small integer keys, signed as a COSE_Sign1
with ES256, zlib-compressed, Base45-encoded and prefixed `PD1:`. The pass names the person
only by a keyed hash of their record id and their initials and birth year: a photo of the QR
does not reveal a document number.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2
import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth import audit
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.credentials import cose
from phongdich.credentials.keys import MAX_PASS_LIFETIME, KeyRing, keyring
from phongdich.credentials.models import HealthPass
from phongdich.credentials.status import COLOURS, Status
from phongdich.db import utcnow
from phongdich.errors import Forbidden, Invalid, NotFound
from phongdich.persons.models import Person
from phongdich.persons.service import get_person, visible
from phongdich.text import fold

PREFIX = "PD1:"
FORMAT_VERSION = 1
DEFAULT_LIFETIME = timedelta(hours=72)
ISSUER = "VN"
# Payload map keys.
K_VERSION, K_PASS_ID, K_SUBJECT, K_INITIALS, K_BIRTH_YEAR = 1, 2, 3, 4, 5
K_COLOUR, K_REASONS, K_ISSUED, K_EXPIRES, K_ISSUER = 6, 7, 8, 9, 10
# Optional (absent from older passes): the home unit's code and the evidence a checkpoint's
# entry rules read offline, a map of `status.EVIDENCE` names to epoch seconds.
K_UNIT, K_EVIDENCE = 11, 12


@dataclass(frozen=True)
class PassClaims:
    """The signed content of a pass."""

    pass_id: uuid.UUID
    subject: bytes
    initials: str
    birth_year: int | None
    colour: str
    reasons: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    issuer: str
    unit: str | None = None
    evidence: Mapping[str, datetime] = field(default_factory=dict)

    def to_cbor(self) -> bytes:
        optional: dict[int, object] = {}
        if self.unit:
            optional[K_UNIT] = self.unit
        if self.evidence:
            optional[K_EVIDENCE] = {k: int(v.timestamp()) for k, v in self.evidence.items()}
        return cbor2.dumps(
            {
                K_VERSION: FORMAT_VERSION,
                K_PASS_ID: self.pass_id.bytes,
                K_SUBJECT: self.subject,
                K_INITIALS: self.initials,
                K_BIRTH_YEAR: self.birth_year,
                K_COLOUR: self.colour,
                K_REASONS: list(self.reasons),
                K_ISSUED: int(self.issued_at.timestamp()),
                K_EXPIRES: int(self.expires_at.timestamp()),
                K_ISSUER: self.issuer,
                **optional,
            }
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "pass_id": str(self.pass_id),
            "subject": self.subject.hex(),
            "initials": self.initials,
            "birth_year": self.birth_year,
            "colour": self.colour,
            "reasons": list(self.reasons),
            "issued_at": self.issued_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "issuer": self.issuer,
            "unit": self.unit,
            "evidence": {k: v.isoformat() for k, v in self.evidence.items()},
        }


def _timestamp(value: Any, name: str) -> datetime:
    if not isinstance(value, int) or isinstance(value, bool):
        raise cose.CoseError(f"{name} is not an integer time")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise cose.CoseError(f"{name} is out of range") from None


def claims_from_cbor(data: bytes) -> PassClaims:
    """Parse and type-check a payload; CoseError says what is wrong."""
    item = cose.loads(data)
    if not isinstance(item, Mapping):
        raise cose.CoseError("pass payload is not a map")
    if item.get(K_VERSION) != FORMAT_VERSION:
        raise cose.CoseError("unknown pass format version")
    pass_id, subject = item.get(K_PASS_ID), item.get(K_SUBJECT)
    if not isinstance(pass_id, bytes) or len(pass_id) != 16:
        raise cose.CoseError("pass id is not 16 bytes")
    if not isinstance(subject, bytes):
        raise cose.CoseError("subject is not a byte string")
    initials, colour, issuer = item.get(K_INITIALS), item.get(K_COLOUR), item.get(K_ISSUER)
    if not isinstance(initials, str) or not isinstance(issuer, str):
        raise cose.CoseError("initials or issuer is not text")
    if colour not in COLOURS:
        raise cose.CoseError("unknown colour")
    birth_year = item.get(K_BIRTH_YEAR)
    if birth_year is not None and (not isinstance(birth_year, int) or isinstance(birth_year, bool)):
        raise cose.CoseError("birth year is not an integer")
    reasons = item.get(K_REASONS)
    if not isinstance(reasons, list | tuple) or not all(isinstance(r, str) for r in reasons):
        raise cose.CoseError("reasons is not a list of text")
    unit = item.get(K_UNIT)
    if unit is not None and not isinstance(unit, str):
        raise cose.CoseError("unit is not text")
    evidence = item.get(K_EVIDENCE, {})
    if not isinstance(evidence, Mapping) or not all(isinstance(k, str) for k in evidence):
        raise cose.CoseError("evidence is not a map of names")
    return PassClaims(
        unit=unit,
        evidence={str(k): _timestamp(v, f"evidence {k}") for k, v in evidence.items()},
        pass_id=uuid.UUID(bytes=pass_id),
        subject=subject,
        initials=initials,
        birth_year=birth_year,
        colour=str(colour),
        reasons=tuple(reasons),
        issued_at=_timestamp(item.get(K_ISSUED), "issued-at"),
        expires_at=_timestamp(item.get(K_EXPIRES), "expires-at"),
        issuer=issuer,
    )


def encode(claims: PassClaims, keys: KeyRing) -> str:
    """Sign with the current key and wrap for a QR code."""
    key = keys.current()
    assert key.private_key is not None
    signed = cose.sign_es256(claims.to_cbor(), key.private_key, key.kid)
    return PREFIX + cose.b45encode(cose.deflate(signed))


def subject_of(person_id: uuid.UUID, keys: KeyRing) -> bytes:
    """A pseudonym: one person, always the same 16 bytes; unguessable without the key."""
    return hmac.new(keys.pass_secret(), person_id.bytes, hashlib.sha256).digest()[:16]


def initials_of(full_name: str) -> str:
    return "".join(word[0] for word in fold(full_name).upper().split() if word)[:8]


@dataclass(frozen=True)
class IssuedPass:
    text: str
    claims: PassClaims
    kid: str


def issue_pass(
    *,
    session: Session,
    actor: Actor,
    person: Person,
    status: Status,
    now: datetime | None = None,
    lifetime: timedelta = DEFAULT_LIFETIME,
    keys: KeyRing | None = None,
) -> IssuedPass:
    """Sign a pass carrying the person's current status, record it, and audit the issuance."""
    if not visible(session, actor, person):
        raise NotFound("person", person.id)
    if status.colour not in COLOURS:
        raise Invalid("colour", f"one of {', '.join(COLOURS)}")
    if not timedelta(minutes=1) <= lifetime <= MAX_PASS_LIFETIME:
        raise Invalid("lifetime", f"between 1 minute and {MAX_PASS_LIFETIME.days} days")
    if keys is None:
        from phongdich.config import get_settings

        keys = keyring(get_settings())
    now = (now or utcnow()).replace(microsecond=0)
    key = keys.current()
    claims = PassClaims(
        pass_id=uuid.uuid4(),
        subject=subject_of(person.id, keys),
        initials=initials_of(person.full_name),
        birth_year=person.birth_year,
        colour=status.colour,
        reasons=tuple(status.reasons),
        issued_at=now,
        expires_at=now + lifetime,
        issuer=ISSUER,
        unit=person.unit_code,
        evidence=dict(status.evidence),
    )
    text = encode(claims, keys)
    session.add(
        HealthPass(
            id=claims.pass_id,
            person_id=person.id,
            kid=key.kid_hex,
            colour=status.colour,
            issued_at=claims.issued_at,
            expires_at=claims.expires_at,
            unit_code=person.unit_code,
        )
    )
    session.flush()
    audit.record(
        session,
        actor,
        "issue",
        "health_pass",
        claims.pass_id,
        unit_code=person.unit_code,
        detail=f"person {person.id}; colour {status.colour}",
    )
    return IssuedPass(text=text, claims=claims, kid=key.kid_hex)


def current_status(session: Session, person_id: uuid.UUID, at: datetime) -> Status:
    """The colour rules' verdict for the person now (`credentials.status.status_for`)."""
    from phongdich.credentials.status import status_for  # looked up per call: tests replace it

    return status_for(session=session, person_id=person_id, at=at)


def issue_current_pass(
    *,
    session: Session,
    actor: Actor,
    person: Person,
    now: datetime | None = None,
    keys: KeyRing | None = None,
) -> IssuedPass:
    """Evaluate the person's status now and issue a pass for it."""
    now = now or utcnow()
    status = current_status(session, person.id, now)
    return issue_pass(
        session=session, actor=actor, person=person, status=status, now=now, keys=keys
    )


def _may_revoke(session: Session, actor: Actor, person: Person) -> None:
    if not visible(session, actor, person):
        raise NotFound("health pass")
    if not actor.can(Permission.PERSONS_WRITE):
        raise Forbidden(f"role {actor.role.value} may not revoke health passes")


def revoke_pass(
    *, session: Session, actor: Actor, pass_id: uuid.UUID, reason: str, now: datetime | None = None
) -> HealthPass:
    """Revoke one pass (idempotent: a revoked pass keeps its first revocation time)."""
    row = session.get(HealthPass, pass_id)
    person = session.get(Person, row.person_id) if row is not None else None
    if row is None or person is None:
        raise NotFound("health pass", pass_id)
    _may_revoke(session, actor, person)
    _mark(row, reason, now or utcnow())
    session.flush()
    audit.record(
        session, actor, "revoke", "health_pass", pass_id, unit_code=row.unit_code, detail=reason
    )
    return row


def _mark(row: HealthPass, reason: str, now: datetime) -> None:
    if row.revoked_at is None:
        row.revoked_at = now
        row.revoked_reason = reason[:200]


def revoke_passes_of(
    *,
    session: Session,
    actor: Actor,
    person_id: uuid.UUID,
    reason: str,
    keep_colour: str | None = None,
    now: datetime | None = None,
) -> list[uuid.UUID]:
    """Revoke the person's unexpired passes (except those of `keep_colour`); returns their ids."""
    person = get_person(session=session, actor=actor, person_id=person_id, audit_read=False)
    _may_revoke(session, actor, person)
    now = now or utcnow()
    query = select(HealthPass).where(
        HealthPass.person_id == person.id,
        HealthPass.expires_at > now,
        HealthPass.revoked_at.is_(None),
    )
    if keep_colour is not None:
        query = query.where(HealthPass.colour != keep_colour)
    rows = session.scalars(query).all()
    for row in rows:
        _mark(row, reason, now)
    session.flush()
    if rows:
        audit.record(
            session,
            actor,
            "revoke",
            "health_pass",
            person.id,
            unit_code=person.unit_code,
            detail=f"{len(rows)} passes of person {person.id}: {reason}",
        )
    return [row.id for row in rows]


def revocations_since(session: Session, since: datetime | None) -> Sequence[HealthPass]:
    """Public: revoked pass ids carry no personal data."""
    query = select(HealthPass).where(HealthPass.revoked_at.is_not(None))
    if since is not None:
        query = query.where(HealthPass.revoked_at >= since)
    return session.scalars(query.order_by(HealthPass.revoked_at)).all()


# -- drawing -----------------------------------------------------------------------------------


def qr(text: str) -> segno.QRCode:
    """Error correction M: survives a scuffed screen or a folded card."""
    return segno.make_qr(text, error="m", boost_error=False)


def qr_svg(text: str, *, scale: int = 4) -> str:
    buffer = io.BytesIO()
    # No fixed size, only a viewBox: the page sizes it (large on a phone, 5 cm on paper).
    qr(text).save(
        buffer, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True, omitsize=True
    )
    return buffer.getvalue().decode("utf-8")


def qr_png(text: str, *, scale: int = 6) -> bytes:
    buffer = io.BytesIO()
    qr(text).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def module_size_mm(text: str, width_mm: float = 50.0) -> float:
    """How wide one module prints when the code (with its quiet zone) is `width_mm` wide."""
    code = qr(text)
    return width_mm / (code.symbol_size(border=4)[0])
