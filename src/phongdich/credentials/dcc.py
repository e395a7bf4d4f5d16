"""EU Digital COVID Certificates (`HC1:`): decode, verify against trust anchors, and issue.

Decoding follows the EU DCC technical specification, volume 1: strip `HC1:`, Base45, zlib,
COSE_Sign1 (ES256 or PS256, kid in the protected or else the unprotected header), CWT claims
1 (issuer), 4 (expiry), 6 (issued at) and -260 → 1 (the hcert object).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from phongdich.credentials import cose
from phongdich.credentials.keys import KeyRing, certificate_kid
from phongdich.text import fold

PREFIX = "HC1:"
CLAIM_ISSUER, CLAIM_EXPIRES, CLAIM_ISSUED, CLAIM_HCERT = 1, 4, 6, -260
SCHEMA_VERSION = "1.3.0"


@dataclass(frozen=True)
class DccMessage:
    sign1: cose.Sign1
    issuer: str | None
    issued_at: datetime | None
    expires_at: datetime | None
    hcert: dict[str, Any]


def jsonable(value: Any) -> Any:
    """CBOR values as JSON ones (tagged dates become ISO text, bytes base64)."""
    if isinstance(value, cbor2.CBORTag):
        return jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _time(claims: Mapping[Any, Any], key: int) -> datetime | None:
    value = claims.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise cose.CoseError(f"CWT claim {key} is not a number")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise cose.CoseError(f"CWT claim {key} is out of range") from None


def decode(text: str) -> DccMessage:
    """Everything but the signature check; CoseError says which step failed."""
    if not text.startswith(PREFIX):
        raise cose.CoseError("not an EU DCC (no HC1: prefix)")
    sign1 = cose.parse_sign1(cose.inflate(cose.b45decode(text[len(PREFIX) :])))
    claims = cose.loads(sign1.payload)
    if not isinstance(claims, Mapping):
        raise cose.CoseError("CWT payload is not a map")
    container = claims.get(CLAIM_HCERT)
    hcert = container.get(1) if isinstance(container, Mapping) else None
    if not isinstance(hcert, Mapping):
        raise cose.CoseError("no hcert (claim -260, key 1) in the CWT")
    issuer = claims.get(CLAIM_ISSUER)
    return DccMessage(
        sign1=sign1,
        issuer=issuer if isinstance(issuer, str) else None,
        issued_at=_time(claims, CLAIM_ISSUED),
        expires_at=_time(claims, CLAIM_EXPIRES),
        hcert=jsonable(hcert),
    )


def load_certificate(data: bytes | str) -> x509.Certificate:
    """A trust anchor given as PEM, DER, or base64 of DER; ValueError when it is none of these."""
    raw = data.encode("ascii", "replace") if isinstance(data, str) else data
    stripped = raw.strip()
    if stripped.startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(stripped)
    if stripped[:1] == b"\x30":
        return x509.load_der_x509_certificate(stripped)
    try:
        der = base64.b64decode(b"".join(stripped.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not a certificate in PEM, DER or base64 DER") from None
    return x509.load_der_x509_certificate(der)


# Extended key usages a DSC may carry to limit what it signs (both spellings occur in the field).
_USAGE_TYPES = {
    f"1.3.6.1.4.1.{middle}1847.2021.1.{n}": kind
    for middle in ("", "0.")
    for n, kind in ((1, "t"), (2, "v"), (3, "r"))
}


def key_usage_problem(certificate: x509.Certificate, hcert: Mapping[str, Any]) -> str | None:
    """A DSC restricted to some certificate types must not have signed another type."""
    try:
        usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return None
    except ValueError:
        # Some national DSCs break DER in an unrelated extension (e.g. an explicit
        # `cA FALSE` in BasicConstraints), which makes every extension unreadable here.
        # The signer is trusted by its key, so an unreadable usage restriction is none.
        return None
    allowed = {
        _USAGE_TYPES[oid.dotted_string] for oid in usages if oid.dotted_string in _USAGE_TYPES
    }
    if not allowed:
        return None
    present = {kind for kind in ("v", "t", "r") if hcert.get(kind)}
    if present - allowed:
        return "wrong key usage: the signing certificate may not sign this certificate type"
    return None


def certificate_country(certificate: x509.Certificate) -> str:
    for attribute in certificate.subject.get_attributes_for_oid(x509.NameOID.COUNTRY_NAME):
        return str(attribute.value)
    return ""


# -- issuing -------------------------------------------------------------------------------------


def name_fields(family_name: str, given_name: str) -> dict[str, str]:
    """`nam`: the names as written, and ICAO 9303 transliterations (A-Z and `<`)."""

    def icao(value: str) -> str:
        folded = fold(value).upper().replace("Đ", "D")
        return "".join(c if "A" <= c <= "Z" else "<" for c in "<".join(folded.split()))[:80]

    return {"fn": family_name, "fnt": icao(family_name), "gn": given_name, "gnt": icao(given_name)}


def uvci(country: str = "VN") -> str:
    return f"URN:UVCI:01:{country}:{secrets.token_hex(12).upper()}"


def vaccination_hcert(
    *,
    family_name: str,
    given_name: str,
    birth_date: str,
    dose_number: int,
    total_doses: int,
    vaccinated_on: date,
    product: str,
    manufacturer: str,
    vaccine: str = "J07BX03",
    country: str = "VN",
    issuer: str = "Bộ Y tế",
) -> dict[str, Any]:
    return {
        "ver": SCHEMA_VERSION,
        "nam": name_fields(family_name, given_name),
        "dob": birth_date,
        "v": [
            {
                "tg": "840539006",
                "vp": vaccine,
                "mp": product,
                "ma": manufacturer,
                "dn": dose_number,
                "sd": total_doses,
                "dt": vaccinated_on.isoformat(),
                "co": country,
                "is": issuer,
                "ci": uvci(country),
            }
        ],
    }


def lab_test_hcert(
    *,
    family_name: str,
    given_name: str,
    birth_date: str,
    test_type: str,
    sampled_at: datetime,
    result: str,
    centre: str,
    country: str = "VN",
    issuer: str = "Bộ Y tế",
) -> dict[str, Any]:
    """`tt`: LP6464-4 (NAAT/PCR) or LP217198-3 (rapid antigen); `tr`: 260415000 = not detected."""
    return {
        "ver": SCHEMA_VERSION,
        "nam": name_fields(family_name, given_name),
        "dob": birth_date,
        "t": [
            {
                "tg": "840539006",
                "tt": test_type,
                "sc": sampled_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "tr": result,
                "tc": centre,
                "co": country,
                "is": issuer,
                "ci": uvci(country),
            }
        ],
    }


def issue(
    hcert: dict[str, Any],
    *,
    keys: KeyRing,
    now: datetime | None = None,
    lifetime: timedelta = timedelta(days=365),
) -> str:
    """Sign an hcert with phongdich's DSC as an `HC1:` text."""
    certificate, private_key = keys.dsc()
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    claims = {
        CLAIM_ISSUER: certificate_country(certificate) or "VN",
        CLAIM_ISSUED: int(now.timestamp()),
        CLAIM_EXPIRES: int((now + lifetime).timestamp()),
        CLAIM_HCERT: {1: hcert},
    }
    signed = cose.sign_es256(cbor2.dumps(claims), private_key, certificate_kid(certificate))
    return PREFIX + cose.b45encode(cose.deflate(signed))


def certificate_der_b64(certificate: x509.Certificate) -> str:
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")
