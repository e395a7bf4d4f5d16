"""COSE_Sign1 (RFC 9052) for ES256 and PS256, with the Base45 + zlib wrapping QR codes use.

Small enough to own: the structure is four CBOR items and the signature covers a fixed
Sig_structure. COSE carries ECDSA signatures as raw r‖s (64 bytes for P-256), not DER.
Every decoding step raises `CoseError` with a short reason, never anything else.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import base45  # type: ignore[import-untyped]  # the package ships no type information
import cbor2
import numpy as np
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

ES256 = -7
PS256 = -37
ALGORITHMS = {ES256: "ES256", PS256: "PS256"}
HEADER_ALG = 1
HEADER_KID = 4
COSE_SIGN1_TAG = 18
CWT_TAG = 61
# QR codes hold under 3 KB; a payload that inflates past this is a zip bomb, not a credential.
MAX_INFLATED = 64 * 1024


class CoseError(ValueError):
    """Why a credential could not be decoded."""


@dataclass(frozen=True)
class Sign1:
    protected_bytes: bytes
    protected: dict[Any, Any]
    unprotected: dict[Any, Any]
    payload: bytes
    signature: bytes

    @property
    def alg(self) -> Any:
        return self.protected.get(HEADER_ALG, self.unprotected.get(HEADER_ALG))

    @property
    def kid(self) -> bytes | None:
        kid = self.protected.get(HEADER_KID, self.unprotected.get(HEADER_KID))
        return kid if isinstance(kid, bytes) else None

    def to_be_signed(self) -> bytes:
        return sig_structure(self.protected_bytes, self.payload)


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


def sign_es256(payload: bytes, key: ec.EllipticCurvePrivateKey, kid: bytes) -> bytes:
    """A tagged COSE_Sign1 with alg and kid in the protected header."""
    protected = cbor2.dumps({HEADER_ALG: ES256, HEADER_KID: kid})
    der = key.sign(sig_structure(protected, payload), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    size = (key.curve.key_size + 7) // 8
    signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))


def loads(data: bytes) -> Any:
    """CBOR from untrusted bytes: any decoder failure becomes a CoseError."""
    try:
        return cbor2.loads(data)
    except Exception as exc:  # cbor2 raises several types (and RecursionError) on bad input
        raise CoseError(f"malformed CBOR ({type(exc).__name__})") from None


def parse_sign1(data: bytes) -> Sign1:
    """A COSE_Sign1, tagged (18, possibly inside CWT tag 61) or not."""
    item = loads(data)
    for _ in range(2):
        if isinstance(item, cbor2.CBORTag) and item.tag in (CWT_TAG, COSE_SIGN1_TAG):
            item = item.value
    # cbor2 hands back items inside a tag as immutable types (tuple, frozendict).
    if not isinstance(item, list | tuple) or len(item) != 4:
        raise CoseError("not a COSE_Sign1 structure")
    protected_bytes, unprotected, payload, signature = item
    if not isinstance(protected_bytes, bytes):
        raise CoseError("protected header is not a byte string")
    if not isinstance(unprotected, Mapping):
        raise CoseError("unprotected header is not a map")
    if not isinstance(payload, bytes) or not isinstance(signature, bytes):
        raise CoseError("payload or signature is not a byte string")
    protected: Any = loads(protected_bytes) if protected_bytes else {}
    if not isinstance(protected, Mapping):
        raise CoseError("protected header is not a map")
    return Sign1(protected_bytes, dict(protected), dict(unprotected), payload, signature)


def verify(message: Sign1, public_key: PublicKeyTypes) -> str | None:
    """None when the signature is good, else the reason it is not."""
    alg = message.alg
    try:
        if alg == ES256:
            if not isinstance(public_key, ec.EllipticCurvePublicKey):
                return "wrong algorithm: ES256 signature but the key is not an EC key"
            size = (public_key.curve.key_size + 7) // 8
            if len(message.signature) != 2 * size:
                return "bad signature: wrong length for ES256"
            r = int.from_bytes(message.signature[:size], "big")
            s = int.from_bytes(message.signature[size:], "big")
            public_key.verify(
                encode_dss_signature(r, s), message.to_be_signed(), ec.ECDSA(hashes.SHA256())
            )
        elif alg == PS256:
            if not isinstance(public_key, rsa.RSAPublicKey):
                return "wrong algorithm: PS256 signature but the key is not an RSA key"
            public_key.verify(
                message.signature,
                message.to_be_signed(),
                # COSE PS256 (RFC 8230): the salt is as long as the SHA-256 digest.
                padding.PSS(
                    mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH
                ),
                hashes.SHA256(),
            )
        else:
            return f"wrong algorithm: {alg!r} is not ES256 or PS256"
    except InvalidSignature:
        return "bad signature"
    except ValueError as exc:  # e.g. r or s out of range
        return f"bad signature: {exc}"
    return None


def inflate(data: bytes) -> bytes:
    """zlib with a ceiling on the output: stops zip bombs after MAX_INFLATED bytes."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_INFLATED)
    except zlib.error:
        raise CoseError("not zlib-compressed data") from None
    if inflater.unconsumed_tail:
        raise CoseError(f"decompresses to more than {MAX_INFLATED} bytes")
    if not inflater.eof:
        raise CoseError("truncated compressed data")
    return out


def deflate(data: bytes) -> bytes:
    return zlib.compress(data, 9)


_B45_ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
# Each alphabet character to its value, everything else to 0xFF.
_B45_VALUES = bytes(_B45_ALPHABET.index(c) if c in _B45_ALPHABET else 0xFF for c in range(256))


_B45_WEIGHTS = np.array([1, 45, 2025], dtype=np.uint32)


def b45decode(text: str) -> bytes:
    """Base45 (RFC 9285). Written here, vectorised: a character-by-character decoder costs more
    than the signature check it precedes."""
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise CoseError("not Base45 (non-ASCII character)") from None
    values = raw.translate(_B45_VALUES)
    if b"\xff" in values or len(values) % 3 == 1:
        raise CoseError("not Base45 (bad character or length)")
    full = len(values) - len(values) % 3
    triples = np.frombuffer(values, dtype=np.uint8, count=full).reshape(-1, 3)
    numbers = triples.astype(np.uint32) @ _B45_WEIGHTS
    if numbers.size and int(numbers.max()) > 0xFFFF:
        raise CoseError("not Base45 (value out of range)")
    out = numbers.astype(">u2").tobytes()
    if full < len(values):
        last = values[full] + 45 * values[full + 1]
        if last > 0xFF:
            raise CoseError("not Base45 (value out of range)")
        out += bytes((last,))
    return out


def b45encode(data: bytes) -> str:
    encoded: str = base45.b45encode(data).decode("ascii")
    return encoded
