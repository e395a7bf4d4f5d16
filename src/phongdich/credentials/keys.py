"""Signing keys: made on first use, encrypted at rest in the key directory, rotated by command.

Layout of the key directory (every file 0600):

- `passphrase`: random, written once, used when `PHONGDICH_KEYS_PASSPHRASE` is not set;
- `pass-secret`: 32 random bytes, the HMAC key of the pseudonymous person reference in passes;
- `keys.json`: the key index (kid, file, created, retired); the last unretired key is current;
- `pass-<kid>.pem`: one encrypted P-256 private key per pass-signing key;
- `csca.pem`, `csca-key.pem`, `dsc.pem`, `dsc-key.pem`: the EU-DCC-style certificate chain.

A retired key signs nothing new but stays in the trust list until every pass it signed has
expired, so rotation never invalidates a pass a person already holds.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import NameOID

from phongdich.config import Settings
from phongdich.errors import NotFound, PhongdichError

PASSPHRASE_ENV = "PHONGDICH_KEYS_PASSPHRASE"  # noqa: S105  (the name of a variable)
# The longest a pass may live: a retired key stays trusted this long after its retirement.
MAX_PASS_LIFETIME = timedelta(days=14)
ALGORITHM = "ES256"


class KeysUnavailable(PhongdichError):
    """The signing keys cannot be read: an operator's problem, never the caller's input."""

    status_code = 503
    code = "keys_unavailable"


def kid_of(public_key: PublicKeyTypes) -> bytes:
    """First 8 bytes of SHA-256 over the DER SubjectPublicKeyInfo (as EU DCC does for its DSC)."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).digest()[:8]


def certificate_kid(certificate: x509.Certificate) -> bytes:
    """EU DCC: first 8 bytes of SHA-256 over the whole DER certificate."""
    return certificate.fingerprint(hashes.SHA256())[:8]


@dataclass(frozen=True)
class SigningKey:
    kid: bytes
    public_key: ec.EllipticCurvePublicKey
    private_key: ec.EllipticCurvePrivateKey | None
    created_at: datetime
    retired_at: datetime | None

    @property
    def kid_hex(self) -> str:
        return self.kid.hex()

    @property
    def valid_until(self) -> datetime | None:
        return None if self.retired_at is None else self.retired_at + MAX_PASS_LIFETIME


def _write_private(path: Path, data: bytes) -> None:
    """Create with 0600 from the start: the file is never readable by others, not even briefly."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


class KeyRing:
    """The keys in one directory. Thread-safe; a file lock serialises processes that share it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.RLock()
        self._keys: list[SigningKey] | None = None
        self._index_mtime: float | None = None
        self._dsc: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None
        self._secret: bytes | None = None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._lock, open(self.directory / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _secret_file(self, name: str, size: int) -> bytes:
        path = self.directory / name
        if not path.exists():
            _write_private(path, secrets.token_urlsafe(size).encode())
        return path.read_bytes().strip()

    def _passphrase(self) -> bytes:
        from_env = os.environ.get(PASSPHRASE_ENV)
        if from_env:
            return from_env.encode()
        return self._secret_file("passphrase", 32)

    def pass_secret(self) -> bytes:
        """The HMAC key of person references in passes; made once."""
        if self._secret is None:
            with self._locked():
                self._secret = self._secret_file("pass-secret", 32)
        return self._secret

    def _encryption(self) -> serialization.KeySerializationEncryption:
        return serialization.BestAvailableEncryption(self._passphrase())

    def _load_private(self, path: Path) -> ec.EllipticCurvePrivateKey:
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=self._passphrase())
        except (ValueError, TypeError) as exc:
            # A wrong passphrase usually fails the padding check, but now and then decrypts
            # to bytes that fail later as ASN.1: either way, say what the operator can fix.
            raise KeysUnavailable(
                f"cannot read {path.name}: wrong passphrase ({PASSPHRASE_ENV}) or a damaged file"
            ) from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path.name} is not an EC private key")
        return key

    def _save_private(self, path: Path, key: ec.EllipticCurvePrivateKey) -> None:
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, self._encryption()
        )
        _write_private(path, pem)

    # -- the pass-signing keys -------------------------------------------------------------

    def _index_path(self) -> Path:
        return self.directory / "keys.json"

    def _read_index(self) -> list[dict[str, str | None]]:
        path = self._index_path()
        if not path.exists():
            return []
        entries: list[dict[str, str | None]] = json.loads(path.read_text())
        return entries

    def _load(self) -> list[SigningKey]:
        path = self._index_path()
        mtime = path.stat().st_mtime if path.exists() else None
        if self._keys is not None and mtime == self._index_mtime:
            return self._keys
        keys = []
        for entry in self._read_index():
            private = self._load_private(self.directory / str(entry["file"]))
            retired = entry.get("retired_at")
            keys.append(
                SigningKey(
                    kid=bytes.fromhex(str(entry["kid"])),
                    public_key=private.public_key(),
                    private_key=private,
                    created_at=datetime.fromisoformat(str(entry["created_at"])),
                    retired_at=datetime.fromisoformat(retired) if retired else None,
                )
            )
        self._keys, self._index_mtime = keys, mtime
        return keys

    def _new_key(self, now: datetime) -> None:
        entries = self._read_index()
        for entry in entries:
            if not entry.get("retired_at"):
                entry["retired_at"] = now.isoformat()
        private = ec.generate_private_key(ec.SECP256R1())
        kid = kid_of(private.public_key()).hex()
        self._save_private(self.directory / f"pass-{kid}.pem", private)
        entries.append(
            {
                "kid": kid,
                "file": f"pass-{kid}.pem",
                "created_at": now.isoformat(),
                "retired_at": None,
            }
        )
        data = json.dumps(entries, indent=2).encode()
        _write_private(self._index_path(), data)
        self._keys = None

    def signing_keys(self) -> list[SigningKey]:
        """Every pass-signing key, oldest first (retired ones included)."""
        with self._locked():
            return list(self._load())

    def current(self) -> SigningKey:
        """The key that signs new passes, made on first use."""
        with self._locked():
            keys = self._load()
            if not keys or keys[-1].retired_at is not None:
                self._new_key(datetime.now(UTC))
                keys = self._load()
            return keys[-1]

    def rotate(self, now: datetime | None = None) -> SigningKey:
        """Retire the current key (it stays trusted for MAX_PASS_LIFETIME) and make a new one."""
        with self._locked():
            self._new_key(now or datetime.now(UTC))
            return self._load()[-1]

    # -- the EU DCC certificate chain ------------------------------------------------------

    def init_dcc(self, *, country: str = "VN", organisation: str = "phongdich") -> x509.Certificate:
        """A self-signed CSCA and a DSC signed by it; kept if they exist. Returns the DSC."""
        with self._locked():
            if (self.directory / "dsc.pem").exists():
                return self.dsc()[0]
            now = datetime.now(UTC) - timedelta(minutes=5)
            csca_key = ec.generate_private_key(ec.SECP256R1())
            csca_name = x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, country),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                    x509.NameAttribute(NameOID.COMMON_NAME, f"{country} DGC CSCA"),
                ]
            )
            csca = (
                x509.CertificateBuilder()
                .subject_name(csca_name)
                .issuer_name(csca_name)
                .public_key(csca_key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now)
                .not_valid_after(now + timedelta(days=365 * 4))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(
                    x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                    critical=True,
                )
                .sign(csca_key, hashes.SHA256())
            )
            dsc_key = ec.generate_private_key(ec.SECP256R1())
            dsc = (
                x509.CertificateBuilder()
                .subject_name(
                    x509.Name(
                        [
                            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
                            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                            x509.NameAttribute(NameOID.COMMON_NAME, f"{country} DSC 1"),
                        ]
                    )
                )
                .issuer_name(csca_name)
                .public_key(dsc_key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now)
                .not_valid_after(now + timedelta(days=365 * 2))
                .add_extension(
                    x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                    critical=True,
                )
                .sign(csca_key, hashes.SHA256())
            )
            self._save_private(self.directory / "csca-key.pem", csca_key)
            self._save_private(self.directory / "dsc-key.pem", dsc_key)
            (self.directory / "csca.pem").write_bytes(csca.public_bytes(serialization.Encoding.PEM))
            (self.directory / "dsc.pem").write_bytes(dsc.public_bytes(serialization.Encoding.PEM))
            self._dsc = None
            return dsc

    def has_dsc(self) -> bool:
        return (self.directory / "dsc.pem").exists()

    def dsc(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        """The document signer certificate and its key (after `credential keys init`)."""
        if self._dsc is None:
            if not self.has_dsc():
                raise NotFound("document signer certificate (run `phongdich credential keys init`)")
            certificate = x509.load_pem_x509_certificate((self.directory / "dsc.pem").read_bytes())
            self._dsc = (certificate, self._load_private(self.directory / "dsc-key.pem"))
        return self._dsc

    def csca(self) -> x509.Certificate | None:
        path = self.directory / "csca.pem"
        return x509.load_pem_x509_certificate(path.read_bytes()) if path.exists() else None


_RINGS: dict[Path, KeyRing] = {}
_RINGS_LOCK = threading.Lock()


def keyring(settings: Settings) -> KeyRing:
    """One KeyRing per directory per process: decrypting keys costs milliseconds."""
    directory = settings.resolved_keys_dir.resolve()
    with _RINGS_LOCK:
        ring = _RINGS.get(directory)
        if ring is None:
            ring = _RINGS[directory] = KeyRing(directory)
        return ring
