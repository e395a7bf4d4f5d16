"""Signed codes a checkpoint reads besides passes: transfer manifests and invitations.

Both are built like the personal pass (CBOR map, COSE_Sign1 ES256 with the pass keys, zlib,
Base45) so a station checks them offline with the trust list it already holds. They carry no
names: a transfer code names the manifest (its people are in the station's cached manifests),
an invitation names its holder by the same pseudonym as their pass.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import cbor2

from phongdich.credentials import cose
from phongdich.credentials.keys import KeyRing
from phongdich.credentials.verify import TrustStore

TRANSFER_PREFIX = "PDT1:"
INVITATION_PREFIX = "PDI1:"
# Payload keys.
K_ID, K_CODE, K_FROM, K_TO, K_DAY, K_PLATE, K_COUNT = 1, 2, 3, 4, 5, 6, 7
K_SUBJECT, K_INITIALS, K_UNIT, K_FROM_DAY, K_UNTIL_DAY, K_REASON = 8, 9, 10, 11, 12, 13


class CodeError(ValueError):
    """Why a code is not accepted (malformed, unknown key, bad signature)."""


@dataclass(frozen=True)
class TransferCode:
    transfer_id: uuid.UUID
    code: str
    from_unit: str
    to_unit: str
    travel_date: date
    plate: str
    people: int


@dataclass(frozen=True)
class InvitationCode:
    invitation_id: uuid.UUID
    subject: bytes  # the invited person's pass pseudonym
    initials: str
    unit: str  # the inviting (destination) unit
    valid_from: date
    valid_until: date
    reason: str


def _sign(prefix: str, payload: Mapping[int, Any], keys: KeyRing) -> str:
    key = keys.current()
    assert key.private_key is not None
    signed = cose.sign_es256(cbor2.dumps(dict(payload)), key.private_key, key.kid)
    return prefix + cose.b45encode(cose.deflate(signed))


def transfer_code(value: TransferCode, keys: KeyRing) -> str:
    return _sign(
        TRANSFER_PREFIX,
        {
            K_ID: value.transfer_id.bytes,
            K_CODE: value.code,
            K_FROM: value.from_unit,
            K_TO: value.to_unit,
            K_DAY: value.travel_date.isoformat(),
            K_PLATE: value.plate,
            K_COUNT: value.people,
        },
        keys,
    )


def invitation_code(value: InvitationCode, keys: KeyRing) -> str:
    return _sign(
        INVITATION_PREFIX,
        {
            K_ID: value.invitation_id.bytes,
            K_SUBJECT: value.subject,
            K_INITIALS: value.initials,
            K_UNIT: value.unit,
            K_FROM_DAY: value.valid_from.isoformat(),
            K_UNTIL_DAY: value.valid_until.isoformat(),
            K_REASON: value.reason,
        },
        keys,
    )


def _open(text: str, prefix: str, store: TrustStore) -> Mapping[Any, Any]:
    try:
        sign1 = cose.parse_sign1(cose.inflate(cose.b45decode(text[len(prefix) :])))
    except cose.CoseError as exc:
        raise CodeError(str(exc)) from None
    if sign1.alg != cose.ES256 or sign1.protected.get(cose.HEADER_ALG) != cose.ES256:
        raise CodeError("wrong algorithm")
    key = store.pass_keys.get(sign1.kid or b"")
    if key is None:
        raise CodeError("unknown key")
    problem = cose.verify(sign1, key.public_key)
    if problem:
        raise CodeError(problem)
    payload = cose.loads(sign1.payload)
    if not isinstance(payload, Mapping):
        raise CodeError("payload is not a map")
    return payload


def _text(payload: Mapping[Any, Any], key: int) -> str:
    value = payload.get(key)
    if not isinstance(value, str):
        raise CodeError(f"field {key} is not text")
    return value


def _day(payload: Mapping[Any, Any], key: int) -> date:
    try:
        return date.fromisoformat(_text(payload, key))
    except ValueError:
        raise CodeError(f"field {key} is not a date") from None


def _id(payload: Mapping[Any, Any]) -> uuid.UUID:
    value = payload.get(K_ID)
    if not isinstance(value, bytes) or len(value) != 16:
        raise CodeError("id is not 16 bytes")
    return uuid.UUID(bytes=value)


def read_transfer(text: str, store: TrustStore) -> TransferCode:
    payload = _open(text.strip(), TRANSFER_PREFIX, store)
    people = payload.get(K_COUNT)
    if not isinstance(people, int) or isinstance(people, bool):
        raise CodeError("people is not a number")
    return TransferCode(
        transfer_id=_id(payload),
        code=_text(payload, K_CODE),
        from_unit=_text(payload, K_FROM),
        to_unit=_text(payload, K_TO),
        travel_date=_day(payload, K_DAY),
        plate=_text(payload, K_PLATE),
        people=people,
    )


def read_invitation(text: str, store: TrustStore) -> InvitationCode:
    payload = _open(text.strip(), INVITATION_PREFIX, store)
    subject = payload.get(K_SUBJECT)
    if not isinstance(subject, bytes):
        raise CodeError("subject is not bytes")
    return InvitationCode(
        invitation_id=_id(payload),
        subject=subject,
        initials=_text(payload, K_INITIALS),
        unit=_text(payload, K_UNIT),
        valid_from=_day(payload, K_FROM_DAY),
        valid_until=_day(payload, K_UNTIL_DAY),
        reason=_text(payload, K_REASON),
    )


def local_day(at: datetime, tz: Any) -> date:
    return at.astimezone(tz).date() if at.tzinfo else at.replace(tzinfo=UTC).astimezone(tz).date()
