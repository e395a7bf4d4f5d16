"""`phongdich credential …`: keys, issue-pass, verify with its exit codes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from phongdich import cli
from phongdich.config import get_settings
from phongdich.credentials import passes
from phongdich.credentials.keys import keyring
from phongdich.db import Database, upgrade
from tests.credentials.helpers import use_status
from tests.factories import REFERENCE_TREE, load_tree, make_person

runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(cli.app, list(args))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A throw-away database and key folder, and green for everyone."""
    monkeypatch.setenv("PHONGDICH_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("PHONGDICH_DATA_DIR", str(tmp_path / "data"))
    use_status(monkeypatch, "green", "vaccinated")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def document(home: Path) -> str:
    database = Database(f"sqlite:///{home / 'cli.db'}")
    upgrade(database)
    with database.transaction() as session:
        assert not load_tree(session, REFERENCE_TREE).errors
        number = make_person(session).documents[0].number
    database.dispose()
    return number


def test_keys_init_rotate_list(home: Path) -> None:
    first = run("credential", "keys", "init")
    assert first.exit_code == 0, first.output
    assert (home / "data" / "keys" / "dsc.pem").exists()
    old = keyring(get_settings()).current().kid_hex
    rotated = run("credential", "keys", "rotate")
    assert rotated.exit_code == 0
    listed = run("credential", "keys", "list")
    assert old in listed.stdout
    assert "current" in listed.stdout
    assert run("credential", "keys", "init", "--country", "Vietnam").exit_code == 2


def test_issue_pass_then_verify_it(home: Path, document: str) -> None:
    png = home / "pass.png"
    issued = run("credential", "issue-pass", "--document", document, "--png", str(png))
    assert issued.exit_code == 0, issued.output
    text = issued.stdout.strip()
    assert text.startswith("PD1:")
    ok = run("credential", "verify", "--text", text, "--json")
    assert ok.exit_code == 0, ok.output
    verdict = json.loads(ok.stdout)
    for key in ("format", "decoded", "signature_valid", "expired", "revoked", "payload"):
        assert key in verdict
    assert (verdict["format"], verdict["colour"]) == ("phongdich-pass", "green")
    by_image = run("credential", "verify", "--image", str(png), "--json")
    assert by_image.exit_code == 0
    later = run("credential", "verify", "--text", text, "--at", "2099-01-01T00:00:00Z", "--json")
    assert later.exit_code == 1
    assert json.loads(later.stdout)["errors"] == ["expired"]
    plain = run("credential", "verify", "--text", text)
    assert plain.stdout.startswith("VALID phongdich-pass")


def test_issue_pass_for_an_unknown_document(home: Path, document: str) -> None:
    result = run("credential", "issue-pass", "--document", "001099999999")
    assert result.exit_code == 2
    assert "not found" in result.stderr


def test_verify_exit_codes(home: Path) -> None:
    assert run("credential", "verify", "--text", "PD1:garbage", "--json").exit_code == 1
    assert run("credential", "verify", "--json").exit_code == 2
    assert run("credential", "verify", "--text", "a", "--image", "b").exit_code == 2
    assert run("credential", "verify", "--text", "a", "--at", "tomorrow").exit_code == 2
    assert run("credential", "verify", "--text", "a", "--trust-cert", "nonsense").exit_code == 2
    assert run("credential", "verify", "--image", str(home / "missing.png")).exit_code == 2
    assert run("credential", "verify", "--batch", str(home / "missing.jsonl")).exit_code == 2


def test_batch_reports_every_line(home: Path) -> None:
    keys = keyring(get_settings())
    from tests.credentials.helpers import claims

    text = passes.encode(claims(), keys)
    png = base64.b64encode(passes.qr_png(text)).decode()
    lines = [
        json.dumps({"text": text, "at": "2021-09-01T09:00:00Z"}),
        json.dumps({"image_base64": png, "at": "2021-09-01T09:00:00Z"}),
        "not json",
        json.dumps({"text": text, "at": "2030-01-01T00:00:00Z"}),
        json.dumps({"image_base64": "%%%"}),
        json.dumps({"nothing": 1}),
        json.dumps({"text": text, "trust_certs": ["junk"]}),
    ]
    batch = home / "batch.jsonl"
    batch.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    result = run("credential", "verify", "--batch", str(batch))
    assert result.exit_code == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["valid"] for r in out] == [True, True, False, False, False, False, False]
    assert [r["line"] for r in out] == [1, 2, 3, 4, 5, 6, 7]
    assert out[3]["expired"] is True
    assert out[2]["errors"][0].startswith("bad batch line")


def test_trust_add_then_verify_without_flags(home: Path, tmp_path: Path) -> None:
    from phongdich.credentials import dcc
    from phongdich.credentials.keys import KeyRing

    foreign = KeyRing(tmp_path / "foreign")
    certificate = foreign.init_dcc(country="FR")
    hcert = dcc.vaccination_hcert(
        family_name="Martin",
        given_name="Claire",
        birth_date="1980-01-01",
        dose_number=1,
        total_doses=2,
        vaccinated_on=certificate.not_valid_before_utc.date(),
        product="EU/1/20/1528",
        manufacturer="ORG-100030215",
        country="FR",
        issuer="Ministère",
    )
    text = dcc.issue(hcert, keys=foreign)
    assert run("credential", "verify", "--text", text).exit_code == 1
    added = run("credential", "trust-add", dcc.certificate_der_b64(certificate))
    assert added.exit_code == 0, added.output
    assert "FR" in added.stdout
    verified = run("credential", "verify", "--text", text, "--json")
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.stdout)["issuer"] == "FR"
    assert run("credential", "trust-add", "garbage").exit_code == 2


def test_issue_dcc_vaccination_and_test_then_verify(home: Path, document: str) -> None:
    assert run("credential", "issue-dcc", "--document", document).exit_code == 2  # no DSC yet
    assert run("credential", "keys", "init").exit_code == 0
    dsc = (home / "data" / "keys" / "dsc.pem").read_text()
    vaccination = run(
        "credential", "issue-dcc", "--document", document, "--dose", "2", "--on", "2021-09-01"
    )
    assert vaccination.exit_code == 0, vaccination.output
    text = vaccination.stdout.strip()
    assert text.startswith("HC1:")
    checked = run("credential", "verify", "--text", text, "--trust-cert", dsc, "--json")
    assert checked.exit_code == 0, checked.output
    verdict = json.loads(checked.stdout)
    assert verdict["format"] == "eu-dcc"
    assert verdict["signature_valid"] is True
    entry = verdict["payload"]["v"][0]
    assert (entry["dn"], entry["sd"], entry["dt"]) == (2, 2, "2021-09-01")
    assert verdict["payload"]["nam"]["fn"] == "Nguyễn"
    png = home / "dcc.png"
    test = run(
        "credential",
        "issue-dcc",
        "--document",
        document,
        "--kind",
        "test",
        "--test-type",
        "rapid",
        "--on",
        "2021-09-12T08:30:00+07:00",
        "--png",
        str(png),
    )
    assert test.exit_code == 0, test.output
    by_image = run("credential", "verify", "--image", str(png), "--trust-cert", dsc, "--json")
    assert json.loads(by_image.stdout)["payload"]["t"][0]["tt"] == "LP217198-3"
    for bad in (
        ["--kind", "recovery"],
        ["--dose", "3", "--doses", "2"],
        ["--on", "someday"],
        ["--kind", "test", "--result", "maybe"],
    ):
        refused = run("credential", "issue-dcc", "--document", document, *bad)
        assert refused.exit_code == 2, bad
