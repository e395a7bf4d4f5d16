"""`phongdich credential …`: keys, issuing passes, verifying QR codes (one JSON line each)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

credential_app = typer.Typer(help="Signed credentials: keys, passes, EU DCC.", no_args_is_help=True)
keys_app = typer.Typer(help="Signing keys.", no_args_is_help=True)
credential_app.add_typer(keys_app, name="keys")


def _parse_at(value: str | None) -> datetime | None:
    """ISO 8601; a time without a zone is UTC. ValueError when malformed."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _cert_data(value: str) -> bytes | str:
    """A file name, or the certificate itself as PEM or base64 DER."""
    path = Path(value)
    try:
        if len(value) < 4096 and path.is_file():
            return path.read_bytes()
    except OSError:
        pass
    return value


def _store(certs: list[str]) -> Any:
    from phongdich import cli
    from phongdich.config import get_settings
    from phongdich.credentials.keys import keyring
    from phongdich.credentials.verify import TrustStore

    db = cli.database()
    with cli.cli_errors(), db.transaction() as session:
        store = TrustStore.from_database(session, keyring(get_settings()), detached=True)
    for cert in certs:
        try:
            store.add_certificate_text(_cert_data(cert))
        except ValueError as exc:
            raise cli.fail(f"--trust-cert {cert[:40]}: {exc}") from None
    return store


@credential_app.command("verify")
def verify(
    text: Annotated[str | None, typer.Option("--text", help="The QR text.")] = None,
    image: Annotated[Path | None, typer.Option("--image", help="A PNG or JPEG photo.")] = None,
    batch: Annotated[
        Path | None,
        typer.Option("--batch", help="JSON lines: text|image_base64, trust_certs, at."),
    ] = None,
    trust_cert: Annotated[
        list[str] | None,
        typer.Option("--trust-cert", help="Extra trust anchor: file, PEM or base64 DER."),
    ] = None,
    at: Annotated[str | None, typer.Option("--at", help="Check at this ISO 8601 time.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Verify a credential. Exit 0 when valid and current, 1 when not, 2 on bad usage."""
    from phongdich import cli
    from phongdich.credentials.verify import decode_base64, verify_bytes, verify_text

    if sum(x is not None for x in (text, image, batch)) != 1:
        raise cli.fail("give exactly one of --text, --image, --batch")
    try:
        when = _parse_at(at)
    except ValueError:
        raise cli.fail(f"--at {at!r}: not an ISO 8601 time") from None
    store = _store(trust_cert or [])
    if batch is not None:
        try:
            lines = batch.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise cli.fail(f"--batch: {exc}") from None
        all_valid = True
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            result = _batch_line(line, store, when, decode_base64, verify_text, verify_bytes)
            result["line"] = number
            all_valid = all_valid and bool(result.get("valid"))
            print(json.dumps(result, ensure_ascii=False))
        raise typer.Exit(0 if all_valid else 1)
    if image is not None:
        try:
            data = image.read_bytes()
        except OSError as exc:
            raise cli.fail(f"--image: {exc}") from None
        verdict = verify_bytes(data, store, when)
    else:
        verdict = verify_text(text or "", store, when)
    if as_json:
        print(json.dumps(verdict.as_json(), ensure_ascii=False))
    else:
        state = "VALID" if verdict.valid else "NOT VALID"
        print(f"{state} {verdict.format or '?'} {'; '.join(verdict.errors)}".rstrip())
    raise typer.Exit(0 if verdict.valid else 1)


def _batch_line(
    line: str, base_store: Any, when: datetime | None, b64: Any, by_text: Any, by_bytes: Any
) -> dict[str, Any]:
    """One batch entry; a malformed line gives an error object, never stops the batch."""
    import copy

    try:
        entry = json.loads(line)
        if not isinstance(entry, dict):
            raise ValueError("not a JSON object")
        store = base_store
        if entry.get("trust_certs"):
            store = copy.copy(base_store)
            store.certificates = {k: list(v) for k, v in base_store.certificates.items()}
            for cert in entry["trust_certs"]:
                store.add_certificate_text(str(cert))
        at = _parse_at(entry["at"]) if entry.get("at") else when
    except (ValueError, TypeError) as exc:
        return {"valid": False, "decoded": False, "errors": [f"bad batch line: {exc}"]}
    if isinstance(entry.get("text"), str):
        verdict = by_text(entry["text"], store, at)
    elif isinstance(entry.get("image_base64"), str):
        data = b64(entry["image_base64"])
        if data is None:
            return {"valid": False, "decoded": False, "errors": ["image_base64 is not base64"]}
        verdict = by_bytes(data, store, at)
    else:
        return {"valid": False, "decoded": False, "errors": ["no text or image_base64"]}
    result: dict[str, Any] = verdict.as_json()
    return result


@credential_app.command("issue-pass")
def issue_pass(
    document: Annotated[str, typer.Option("--document", help="The person's document number.")],
    png: Annotated[Path | None, typer.Option("--png", help="Also write the QR as PNG.")] = None,
) -> None:
    """Print the pass text of the person holding this document (their status as of now)."""
    from phongdich import cli
    from phongdich.auth.actor import system_actor
    from phongdich.config import get_settings
    from phongdich.credentials import passes
    from phongdich.credentials.keys import keyring
    from phongdich.persons.service import find_by_document

    db = cli.database()
    with cli.cli_errors(), db.transaction() as session:
        actor = system_actor()
        person = find_by_document(session=session, actor=actor, number=document)
        issued = passes.issue_current_pass(
            session=session, actor=actor, person=person, keys=keyring(get_settings())
        )
    if png is not None:
        png.write_bytes(passes.qr_png(issued.text))
    print(issued.text)


TEST_TYPES = {"pcr": "LP6464-4", "rapid": "LP217198-3"}
TEST_RESULTS = {"negative": "260415000", "positive": "260373001"}


@credential_app.command("issue-dcc")
def issue_dcc(
    document: Annotated[str, typer.Option("--document", help="The person's document number.")],
    kind: Annotated[str, typer.Option("--kind", help="vaccination or test.")] = "vaccination",
    dose: Annotated[int, typer.Option(min=1, max=9, help="Dose number (vaccination).")] = 2,
    doses: Annotated[int, typer.Option(min=1, max=9, help="Doses in the course.")] = 2,
    on: Annotated[
        str | None,
        typer.Option(
            "--on", help="Vaccination date YYYY-MM-DD, or the test's sampling time (ISO 8601)."
        ),
    ] = None,
    product: Annotated[str, typer.Option(help="EU product code (mp).")] = "EU/1/20/1528",
    manufacturer: Annotated[str, typer.Option(help="Manufacturer code (ma).")] = "ORG-100030215",
    test_type: Annotated[str, typer.Option(help="pcr or rapid (test).")] = "pcr",
    result: Annotated[str, typer.Option(help="negative or positive (test).")] = "negative",
    centre: Annotated[str, typer.Option(help="Testing centre (test).")] = "",
    png: Annotated[Path | None, typer.Option("--png", help="Also write the QR as PNG.")] = None,
) -> None:
    """Print an EU-DCC-format (HC1:) vaccination or test certificate signed with phongdich's DSC."""
    from datetime import date

    from phongdich import cli
    from phongdich.auth import audit
    from phongdich.auth.actor import system_actor
    from phongdich.config import get_settings
    from phongdich.credentials import dcc, passes
    from phongdich.credentials.keys import keyring
    from phongdich.persons.service import find_by_document

    if kind not in ("vaccination", "test"):
        raise cli.fail("--kind: vaccination or test")
    if kind == "vaccination" and dose > doses:
        raise cli.fail("--dose: larger than --doses")
    if kind == "test" and (test_type not in TEST_TYPES or result not in TEST_RESULTS):
        raise cli.fail("--test-type: pcr or rapid; --result: negative or positive")
    try:
        when = _parse_at(on) if on else datetime.now(UTC)
    except ValueError:
        raise cli.fail(f"--on: not a date or time: {on}") from None
    assert when is not None
    db = cli.database()
    with cli.cli_errors(), db.transaction() as session:
        actor = system_actor()
        person = find_by_document(session=session, actor=actor, number=document)
        # Vietnamese names: the family name comes first.
        family, _, given = person.full_name.partition(" ")
        born = person.birth_date.isoformat() if person.birth_date else str(person.birth_year or "")
        if kind == "vaccination":
            hcert = dcc.vaccination_hcert(
                family_name=family,
                given_name=given,
                birth_date=born,
                dose_number=dose,
                total_doses=doses,
                vaccinated_on=date(when.year, when.month, when.day),
                product=product,
                manufacturer=manufacturer,
            )
        else:
            hcert = dcc.lab_test_hcert(
                family_name=family,
                given_name=given,
                birth_date=born,
                test_type=TEST_TYPES[test_type],
                sampled_at=when,
                result=TEST_RESULTS[result],
                centre=centre or "phongdich",
            )
        text = dcc.issue(hcert, keys=keyring(get_settings()))
        audit.record(
            session,
            actor,
            "issue-dcc",
            "person",
            person.id,
            unit_code=person.unit_code,
            detail=f"EU DCC {kind}",
        )
    if png is not None:
        png.write_bytes(passes.qr_png(text))
    print(text)


@keys_app.command("init")
def keys_init(
    country: Annotated[str, typer.Option(help="Two-letter country of the certificates.")] = "VN",
) -> None:
    """Make the pass-signing key and the CSCA + DSC certificates (kept if they exist)."""
    from phongdich import cli
    from phongdich.config import get_settings
    from phongdich.credentials.keys import certificate_kid, keyring

    if len(country) != 2 or not country.isalpha():
        raise cli.fail("--country: two letters")
    with cli.cli_errors():
        ring = keyring(get_settings())
        key = ring.current()
        dsc = ring.init_dcc(country=country.upper())
    cli.console.print(f"pass key {key.kid_hex}; DSC kid {certificate_kid(dsc).hex()}")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """A new current pass key; the old one stays trusted until its passes have expired."""
    from phongdich import cli
    from phongdich.config import get_settings
    from phongdich.credentials.keys import keyring

    with cli.cli_errors():
        key = keyring(get_settings()).rotate()
    cli.console.print(f"current pass key is now {key.kid_hex}")


@keys_app.command("list")
def keys_list() -> None:
    """Every pass key, with when it was made and retired."""
    from rich.table import Table

    from phongdich import cli
    from phongdich.config import get_settings
    from phongdich.credentials.keys import keyring

    with cli.cli_errors():
        keys = keyring(get_settings()).signing_keys()
    table = Table("kid", "created (UTC)", "retired (UTC)", "trusted until")
    for key in keys:
        table.add_row(
            key.kid_hex,
            key.created_at.strftime("%Y-%m-%d %H:%M"),
            key.retired_at.strftime("%Y-%m-%d %H:%M") if key.retired_at else "current",
            key.valid_until.strftime("%Y-%m-%d %H:%M") if key.valid_until else "",
        )
    cli.console.print(table)


@credential_app.command("trust-add")
def trust_add(
    certificate: Annotated[str, typer.Argument(help="File, PEM or base64 DER certificate.")],
) -> None:
    """Trust a foreign document signer certificate (EU DCC DSC)."""
    from phongdich import cli
    from phongdich.auth.actor import system_actor
    from phongdich.credentials.trust import import_anchor

    db = cli.database()
    with cli.cli_errors(), db.transaction() as session:
        anchor = import_anchor(session=session, actor=system_actor(), data=_cert_data(certificate))
        cli.console.print(f"trusted {anchor.country} certificate kid {anchor.kid}")
