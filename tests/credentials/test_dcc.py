"""EU DCC: issuing with phongdich's DSC, verifying, and the official EU test data."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from typer.testing import CliRunner

from phongdich import cli
from phongdich.config import get_settings
from phongdich.credentials import cose, dcc
from phongdich.credentials.keys import KeyRing
from phongdich.credentials.verify import TrustStore, verify_text

DATA = Path(__file__).parent / "data" / "dgc"
# The expectations of the reference data this verifier checks.
CHECKED = ("EXPECTEDDECODE", "EXPECTEDVERIFY", "EXPECTEDEXPIRATIONCHECK", "EXPECTEDKEYUSAGE")
# Inside the validity of the DSC the key ring makes today.
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    keys = KeyRing(tmp_path_factory.mktemp("ring") / "keys")
    keys.init_dcc()
    return keys


def vaccination() -> dict[str, object]:
    return dcc.vaccination_hcert(
        family_name="Nguyễn",
        given_name="Thị Đào",
        birth_date="1990-03-04",
        dose_number=2,
        total_doses=2,
        vaccinated_on=date(2021, 8, 20),
        product="EU/1/20/1528",
        manufacturer="ORG-100030215",
    )


def test_issued_vaccination_certificate_verifies(ring: KeyRing) -> None:
    text = dcc.issue(vaccination(), keys=ring, now=NOW)
    store = TrustStore()
    store.add_certificate(ring.dsc()[0])
    verdict = verify_text(text, store, NOW + timedelta(days=1))
    assert verdict.valid, verdict.errors
    assert verdict.format == "eu-dcc"
    assert verdict.issuer == "VN"
    assert verdict.payload["nam"] == {
        "fn": "Nguyễn",
        "fnt": "NGUYEN",
        "gn": "Thị Đào",
        "gnt": "THI<DAO",
    }
    assert verdict.payload["v"][0]["dn"] == 2
    assert verdict.payload["v"][0]["ci"].startswith("URN:UVCI:01:VN:")
    assert verdict.issued_at == NOW.isoformat()


def test_issued_test_certificate_and_expiry(ring: KeyRing) -> None:
    hcert = dcc.lab_test_hcert(
        family_name="Lê",
        given_name="Văn Tám",
        birth_date="1979",
        test_type="LP6464-4",
        sampled_at=NOW,
        result="260415000",
        centre="CDC Hà Nội",
    )
    text = dcc.issue(hcert, keys=ring, now=NOW, lifetime=timedelta(hours=72))
    store = TrustStore()
    store.add_certificate(ring.dsc()[0])
    assert verify_text(text, store, NOW + timedelta(hours=1)).payload["t"][0]["sc"] == (
        NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    late = verify_text(text, store, NOW + timedelta(hours=73))
    assert late.expired is True
    assert "expired" in late.errors


def test_tampered_and_unknown(ring: KeyRing, tmp_path: Path) -> None:
    text = dcc.issue(vaccination(), keys=ring, now=NOW)
    signed = bytearray(cose.inflate(cose.b45decode(text[4:])))
    signed[-70] ^= 1  # inside the payload
    tampered = "HC1:" + cose.b45encode(cose.deflate(bytes(signed)))
    store = TrustStore()
    store.add_certificate(ring.dsc()[0])
    verdict = verify_text(tampered, store, NOW)
    assert not verdict.valid
    assert verdict.signature_valid is False
    other = KeyRing(tmp_path / "other")
    other.init_dcc()
    verdict = verify_text(dcc.issue(vaccination(), keys=other, now=NOW), store, NOW)
    assert verdict.errors == ["unknown key"]


def test_trust_anchors_in_every_form(ring: KeyRing) -> None:
    certificate = ring.dsc()[0]
    der = certificate.public_bytes(serialization.Encoding.DER)
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    for form in (der, pem, pem.decode(), base64.b64encode(der).decode()):
        assert dcc.load_certificate(form) == certificate
    with pytest.raises(ValueError, match="not a certificate"):
        dcc.load_certificate("not base64 !")


def test_ps256_salt_is_the_digest_length() -> None:
    """COSE PS256 (RFC 8230) fixes the PSS salt at 32 bytes; other lengths are refused."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    protected = cbor2.dumps({cose.HEADER_ALG: cose.PS256})
    payload = cbor2.dumps({1: "VN"})

    def signed(salt: int) -> cose.Sign1:
        signature = key.sign(
            cose.sig_structure(protected, payload),
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt),
            hashes.SHA256(),
        )
        return cose.parse_sign1(cbor2.dumps([protected, {}, payload, signature]))

    assert cose.verify(signed(32), key.public_key()) is None
    assert cose.verify(signed(64), key.public_key()) == "bad signature"


# -- the EU's reference test data, through the command line ------------------------------------


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The CLI on a throw-away SQLite file and key folder."""
    monkeypatch.setenv("PHONGDICH_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("PHONGDICH_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _cases() -> list[tuple[str, dict[str, object]]]:
    return [
        (p.stem, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(DATA.glob("*.json"))
    ]


def test_reference_data_is_present() -> None:
    cases = _cases()
    assert 35 <= len(cases) <= 90
    countries = {name.split("-")[0] for name, _ in cases}
    assert {"AT", "IT", "common"} <= countries
    assert len(countries - {"common"}) >= 12
    for _, case in cases:
        assert str(case["SOURCE"]).startswith(
            "https://github.com/eu-digital-green-certificates/dgc-testdata/"
        )
        # A known-wrong expectation is skipped only with its reason (see data/dgc/README.md).
        skipped = case.get("SKIP_REASON", {})
        assert isinstance(skipped, dict)
        expected = case["EXPECTEDRESULTS"]
        assert isinstance(expected, dict)
        assert set(skipped) <= set(expected)
        assert all(isinstance(reason, str) and len(reason) > 20 for reason in skipped.values())


def test_reference_data_through_batch(isolated: Path) -> None:
    cases = _cases()
    lines = []
    for _, case in cases:
        context = case["TESTCTX"]
        assert isinstance(context, dict)
        lines.append(
            json.dumps(
                {
                    "text": case["PREFIX"],
                    "trust_certs": [context["CERTIFICATE"]],
                    "at": context["VALIDATIONCLOCK"],
                }
            )
        )
    batch = isolated / "batch.jsonl"
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli.app, ["credential", "verify", "--batch", str(batch)])
    assert result.exit_code == 1, result.output  # some cases are meant to fail
    results = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(results) == len(cases)
    for (name, case), verdict in zip(cases, results, strict=True):
        skipped = case.get("SKIP_REASON", {})
        assert isinstance(skipped, dict)
        all_expected = case["EXPECTEDRESULTS"]
        assert isinstance(all_expected, dict)
        expected = {k: v for k, v in all_expected.items() if k not in skipped}
        assert verdict["format"] == "eu-dcc", name
        if "EXPECTEDDECODE" in expected:
            assert verdict["decoded"] is expected["EXPECTEDDECODE"], name
            if expected["EXPECTEDDECODE"]:
                assert set(verdict["payload"]) >= {"ver", "nam", "dob"}, name
        if "EXPECTEDVERIFY" in expected:
            assert (verdict["signature_valid"] is True) is expected["EXPECTEDVERIFY"], name
        if "EXPECTEDEXPIRATIONCHECK" in expected:
            assert verdict["expired"] is (not expected["EXPECTEDEXPIRATIONCHECK"]), name
        if "EXPECTEDKEYUSAGE" in expected:
            wrong = any(e.startswith("wrong key usage") for e in verdict["errors"])
            assert wrong is (not expected["EXPECTEDKEYUSAGE"]), name
        # Fully valid when every checked step, the expiry check included, is expected to pass.
        checked = {k: v for k, v in expected.items() if k in CHECKED}
        if not skipped and "EXPECTEDEXPIRATIONCHECK" in checked and all(checked.values()):
            assert verdict["valid"], (name, verdict["errors"])


def test_reference_data_needs_its_trust_anchor(isolated: Path) -> None:
    case = json.loads((DATA / "AT-1.json").read_text(encoding="utf-8"))
    at = case["TESTCTX"]["VALIDATIONCLOCK"]
    run = CliRunner().invoke
    without = run(cli.app, ["credential", "verify", "--text", case["PREFIX"], "--at", at, "--json"])
    assert without.exit_code == 1
    assert json.loads(without.stdout)["errors"] == ["unknown key"]
    anchor = isolated / "at-dsc.b64"
    anchor.write_text(case["TESTCTX"]["CERTIFICATE"])
    args = ["credential", "verify", "--text", case["PREFIX"], "--at", at, "--json"]
    with_file = run(cli.app, [*args, "--trust-cert", str(anchor)])
    assert with_file.exit_code == 0, with_file.output
    verdict = json.loads(with_file.stdout)
    assert verdict["payload"]["nam"]["fnt"] == "MUSTERFRAU<GOESSINGER"
    assert verdict["issuer"] == "AT"
    now = run(cli.app, [*args, "--trust-cert", case["TESTCTX"]["CERTIFICATE"]])
    assert now.exit_code == 0
    later = datetime(2030, 1, 1, tzinfo=UTC).isoformat()
    expired = run(cli.app, [*args[:-3], "--at", later, "--json", "--trust-cert", str(anchor)])
    assert expired.exit_code == 1
    assert json.loads(expired.stdout)["expired"] is True
