"""One verifier for every QR a checkpoint meets: phongdich passes, EU DCC, CCCD card text.

It works offline from a `TrustStore` (keys, certificates and revoked pass ids) built from the
database or from the JSON of `/api/trust-list` and `/api/revocations`. Whatever the input, it
returns a `Verdict`; errors say why a credential is not accepted, and nothing raises.
"""

from __future__ import annotations

import base64
import binascii
import io
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.credentials import cose, dcc, passes
from phongdich.credentials.keys import KeyRing, certificate_kid
from phongdich.credentials.models import HealthPass, TrustAnchor
from phongdich.errors import Invalid
from phongdich.persons.documents import parse_cccd_qr

MAX_TEXT_BYTES = 4096
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000


@dataclass(frozen=True)
class PassKey:
    kid: bytes
    public_key: PublicKeyTypes
    valid_from: datetime | None
    valid_until: datetime | None


@dataclass
class TrustStore:
    """What a verifier trusts: pass keys by kid, X.509 signers by kid, revoked pass ids."""

    pass_keys: dict[bytes, PassKey] = field(default_factory=dict)
    certificates: dict[bytes, list[x509.Certificate]] = field(default_factory=dict)
    revoked: dict[uuid.UUID, datetime] = field(default_factory=dict)
    # A server's store asks its database about the one pass shown (an indexed read) rather than
    # holding every revoked pass; a station's store has the downloaded list in `revoked`.
    revocation_lookup: Callable[[uuid.UUID], datetime | None] | None = None

    def revoked_at(self, pass_id: uuid.UUID) -> datetime | None:
        if pass_id in self.revoked:
            return self.revoked[pass_id]
        return self.revocation_lookup(pass_id) if self.revocation_lookup else None

    def add_certificate(self, certificate: x509.Certificate) -> None:
        found = self.certificates.setdefault(certificate_kid(certificate), [])
        if certificate not in found:
            found.append(certificate)

    def add_certificate_text(self, data: bytes | str) -> None:
        """PEM, DER or base64 DER; ValueError if it is none of them."""
        self.add_certificate(dcc.load_certificate(data))

    @classmethod
    def from_database(
        cls, session: Session, keys: KeyRing, *, detached: bool = False
    ) -> TrustStore:
        """A store that asks `session` about each pass shown; `detached` loads the revocation
        list instead, for a store used after the session ends (the command line's)."""
        store = cls()
        if detached:
            for pass_id, revoked_at in session.execute(
                select(HealthPass.id, HealthPass.revoked_at).where(
                    HealthPass.revoked_at.is_not(None)
                )
            ):
                if revoked_at is not None:
                    store.revoked[pass_id] = revoked_at
        else:
            store.revocation_lookup = lambda pass_id: session.scalar(
                select(HealthPass.revoked_at).where(HealthPass.id == pass_id)
            )
        for key in keys.signing_keys():
            store.pass_keys[key.kid] = PassKey(
                key.kid, key.public_key, key.created_at, key.valid_until
            )
        if keys.has_dsc():
            store.add_certificate(keys.dsc()[0])
        for anchor in session.scalars(select(TrustAnchor)):
            store.add_certificate(x509.load_der_x509_certificate(anchor.certificate))
        return store

    @classmethod
    def from_json(
        cls, trust_list: dict[str, Any], revocations: dict[str, Any] | None = None
    ) -> TrustStore:
        """From the bodies of `GET /api/trust-list` and `GET /api/revocations`."""
        store = cls()
        for entry in trust_list.get("keys", []):
            public_key = serialization.load_der_public_key(base64.b64decode(entry["public_key"]))
            kid = base64.b64decode(entry["kid"])
            store.pass_keys[kid] = PassKey(
                kid,
                public_key,
                _parse_time(entry.get("valid_from")),
                _parse_time(entry.get("valid_until")),
            )
        for entry in trust_list.get("certificates", []):
            store.add_certificate_text(entry["certificate"])
        for entry in (revocations or {}).get("revoked", []):
            store.revoked[uuid.UUID(entry["pass_id"])] = _parse_time(entry["revoked_at"]) or (
                datetime.now(UTC)
            )
        return store


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class Verdict:
    format: str | None = None  # phongdich-pass | eu-dcc | cccd | None when unrecognised
    decoded: bool = False
    signature_valid: bool | None = None
    expired: bool | None = None
    revoked: bool | None = None
    payload: Any = None
    issuer: str | None = None
    issued_at: str | None = None
    expires_at: str | None = None
    colour: str | None = None
    reasons: list[str] = field(default_factory=list)
    kid: str | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """Decoded, signed by a trusted key, current and not revoked."""
        return (
            self.decoded
            and self.signature_valid is True
            and self.expired is False
            and self.revoked is not True
            and not self.errors
        )

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "valid": self.valid}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _verify_pass(text: str, store: TrustStore, at: datetime) -> Verdict:
    verdict = Verdict(format="phongdich-pass")
    try:
        sign1 = cose.parse_sign1(cose.inflate(cose.b45decode(text[len(passes.PREFIX) :])))
        claims = passes.claims_from_cbor(sign1.payload)
    except cose.CoseError as exc:
        verdict.errors.append(str(exc))
        return verdict
    verdict.decoded = True
    verdict.payload = claims.as_json()
    verdict.issuer = claims.issuer
    verdict.issued_at, verdict.expires_at = _iso(claims.issued_at), _iso(claims.expires_at)
    verdict.colour, verdict.reasons = claims.colour, list(claims.reasons)
    verdict.kid = sign1.kid.hex() if sign1.kid else None
    verdict.expired = at >= claims.expires_at
    if verdict.expired:
        verdict.errors.append("expired")
    revoked_at = store.revoked_at(claims.pass_id)
    verdict.revoked = revoked_at is not None and revoked_at <= at
    if verdict.revoked:
        verdict.errors.append("revoked")
    if sign1.alg != cose.ES256 or sign1.protected.get(cose.HEADER_ALG) != cose.ES256:
        verdict.signature_valid = False
        verdict.errors.append(f"wrong algorithm: {sign1.alg!r}, passes use ES256 (-7)")
        return verdict
    key = store.pass_keys.get(sign1.kid or b"")
    if key is None:
        verdict.errors.append("unknown key")
        return verdict
    problem = cose.verify(sign1, key.public_key)
    verdict.signature_valid = problem is None
    if problem:
        verdict.errors.append(problem)
    elif key.valid_until is not None and claims.issued_at > key.valid_until:
        verdict.signature_valid = False
        verdict.errors.append("signed after its key stopped being trusted")
    return verdict


MAX_KIDLESS_TRIES = 64


def _verify_dcc(text: str, store: TrustStore, at: datetime) -> Verdict:
    verdict = Verdict(format="eu-dcc")
    try:
        message = dcc.decode(text)
    except cose.CoseError as exc:
        verdict.errors.append(str(exc))
        return verdict
    verdict.decoded = True
    verdict.payload = message.hcert
    verdict.issuer = message.issuer
    verdict.issued_at, verdict.expires_at = _iso(message.issued_at), _iso(message.expires_at)
    kid = message.sign1.kid
    verdict.kid = base64.b64encode(kid).decode("ascii") if kid else None
    verdict.expired = message.expires_at is not None and at > message.expires_at
    if verdict.expired:
        verdict.errors.append("expired")
    if message.sign1.alg not in cose.ALGORITHMS:
        verdict.signature_valid = False
        verdict.errors.append(f"wrong algorithm: {message.sign1.alg!r} is not ES256 or PS256")
        return verdict
    if kid:
        candidates = store.certificates.get(kid, [])
    else:
        # Some issuers leave the kid empty; with no key id to look up, try every trusted signer
        # (few enough: a station's trust list, or the certificates a caller passed in).
        candidates = [c for certs in store.certificates.values() for c in certs][:MAX_KIDLESS_TRIES]
    if not candidates:
        verdict.errors.append("unknown key")
        return verdict
    problem: str | None = "bad signature"
    signer: x509.Certificate | None = None
    for certificate in candidates:
        problem = cose.verify(message.sign1, certificate.public_key())
        if problem is None:
            signer = certificate
            break
    verdict.signature_valid = problem is None
    if problem:
        verdict.errors.append(problem)
    if signer is not None:
        # The signer's own validity bounds the credential's (EU DCC: the expiration check).
        if not signer.not_valid_before_utc <= at <= signer.not_valid_after_utc:
            verdict.expired = True
            verdict.errors.append("signing certificate not valid at this time")
        wrong_use = dcc.key_usage_problem(signer, message.hcert)
        if wrong_use:
            verdict.errors.append(wrong_use)
    return verdict


def _verify_cccd(text: str) -> Verdict:
    verdict = Verdict(format="cccd")
    try:
        card = parse_cccd_qr(text)
    except Invalid as exc:
        verdict.errors.append(exc.reason)
        return verdict
    verdict.decoded = True
    verdict.payload = {
        key: (value.isoformat() if hasattr(value, "isoformat") else value)
        for key, value in asdict(card).items()
    }
    verdict.errors.append("not a signed credential")  # a card's QR proves nothing by itself
    return verdict


def verify_text(text: str, store: TrustStore, at: datetime | None = None) -> Verdict:
    """Recognise the format and check it; never raises on any input."""
    at = at or datetime.now(UTC)
    if len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        return Verdict(errors=[f"longer than {MAX_TEXT_BYTES} bytes"])
    text = text.strip()
    try:
        if text.startswith(passes.PREFIX):
            return _verify_pass(text, store, at)
        if text.startswith(dcc.PREFIX):
            return _verify_dcc(text, store, at)
        if text.count("|") >= 5:
            return _verify_cccd(text)
    except Exception as exc:  # a last guard: a verifier must answer, whatever it is shown
        return Verdict(errors=[f"could not check: {type(exc).__name__}"])
    return Verdict(errors=["unrecognised format"])


def verify_bytes(data: bytes, store: TrustStore, at: datetime | None = None) -> Verdict:
    """QR text as raw bytes (from a scanner) or a PNG/JPEG image holding a QR code."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff":
        text = decode_image(data)
        if text is None:
            return Verdict(errors=["no QR code found in the image"])
        return verify_text(text, store, at)
    if len(data) > MAX_TEXT_BYTES:
        return Verdict(errors=[f"longer than {MAX_TEXT_BYTES} bytes"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return Verdict(errors=["not UTF-8 text"])
    return verify_text(text, store, at)


def decode_image(data: bytes) -> str | None:
    """The text of the first QR code in a PNG or JPEG, or None."""
    if len(data) > MAX_IMAGE_BYTES:
        return None
    import zxingcpp
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:  # a decompression bomb, not a photo
                return None
            grey = image.convert("L")
        results = zxingcpp.read_barcodes(
            grey, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
        )
    except Exception:  # Pillow raises many types on corrupt files; all mean "no code here"
        return None
    for result in results:
        if result.valid and result.text:
            return str(result.text)
    return None


def decode_base64(value: str) -> bytes | None:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
