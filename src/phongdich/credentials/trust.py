"""The public trust list (keys and certificates verifiers accept) and foreign trust anchors."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth import audit
from phongdich.auth.actor import Actor
from phongdich.credentials import dcc
from phongdich.credentials.keys import ALGORITHM, KeyRing, certificate_kid
from phongdich.credentials.models import TrustAnchor
from phongdich.errors import Forbidden, Invalid


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _certificate_entry(certificate: x509.Certificate, source: str) -> dict[str, Any]:
    return {
        "kid": _b64(certificate_kid(certificate)),
        "country": dcc.certificate_country(certificate),
        "source": source,
        "certificate": dcc.certificate_der_b64(certificate),
        "valid_from": certificate.not_valid_before_utc.isoformat(),
        "valid_until": certificate.not_valid_after_utc.isoformat(),
    }


def trust_list(session: Session, keys: KeyRing) -> dict[str, Any]:
    """Pass-signing public keys (retired ones until their passes expire) and X.509 signers."""
    now = datetime.now(UTC)
    entries = []
    for key in keys.signing_keys():
        if key.valid_until is not None and key.valid_until < now:
            continue
        entries.append(
            {
                "kid": _b64(key.kid),
                "algorithm": ALGORITHM,
                "public_key": _b64(
                    key.public_key.public_bytes(
                        serialization.Encoding.DER,
                        serialization.PublicFormat.SubjectPublicKeyInfo,
                    )
                ),
                "valid_from": key.created_at.isoformat(),
                "valid_until": key.valid_until.isoformat() if key.valid_until else None,
                "current": key.retired_at is None,
            }
        )
    certificates = []
    if keys.has_dsc():
        certificates.append(_certificate_entry(keys.dsc()[0], "phongdich"))
    for anchor in session.scalars(select(TrustAnchor).order_by(TrustAnchor.created_at)):
        certificate = x509.load_der_x509_certificate(anchor.certificate)
        certificates.append(_certificate_entry(certificate, "imported"))
    return {"generated_at": now.isoformat(), "keys": entries, "certificates": certificates}


def import_anchor(*, session: Session, actor: Actor, data: bytes | str) -> TrustAnchor:
    """Trust a foreign document signer certificate (idempotent on the same certificate)."""
    if not actor.nationwide:
        raise Forbidden("only a national administrator may add trust anchors")
    try:
        certificate = dcc.load_certificate(data)
    except ValueError as exc:
        raise Invalid("certificate", str(exc)) from None
    der = certificate.public_bytes(serialization.Encoding.DER)
    fingerprint = hashlib.sha256(der).hexdigest()
    existing = session.scalar(select(TrustAnchor).where(TrustAnchor.fingerprint == fingerprint))
    if existing is not None:
        return existing
    anchor = TrustAnchor(
        kid=certificate_kid(certificate).hex(),
        country=dcc.certificate_country(certificate)[:2],
        certificate=der,
        fingerprint=fingerprint,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
    )
    session.add(anchor)
    session.flush()
    audit.record(session, actor, "create", "trust_anchor", anchor.id, detail=anchor.country)
    return anchor
