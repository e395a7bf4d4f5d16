"""The demo's folder of QR frames for `phongdich station --images`: one code per frame, each a
case the station must tell apart (valid, yellow, a confirmed case, expired, revoked, forged, a
CCCD card, an EU DCC, an accepted transfer), with `expected.json` naming the verdict of each.

The passes are signed with the server's own keys when the demo is built, so they hold for the
pass lifetime (72 hours); build the demo again for fresh ones.
"""

from __future__ import annotations

import dataclasses
import json
import random
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.actor import system_actor
from phongdich.cases.models import Case
from phongdich.checkpoints import transfers
from phongdich.checkpoints.models import Transfer
from phongdich.credentials import dcc, passes
from phongdich.credentials.keys import KeyRing
from phongdich.demo import qr_frames
from phongdich.persons.models import IdentityDocument, Person


def _card(session: Session, person: Person) -> str:
    """The QR printed on the back of the person's CCCD card."""
    number = session.scalar(
        select(IdentityDocument.number).where(
            IdentityDocument.person_id == person.id, IdentityDocument.kind == "cccd"
        )
    )
    assert person.birth_date is not None
    sex = "Nam" if person.sex == "male" else "Nữ"
    born = person.birth_date.strftime("%d%m%Y")
    address = person.temporary_address or person.permanent_address or "Hà Nội"
    return f"{number}||{person.full_name}|{born}|{sex}|{address}|01072021"


def _by_colour(session: Session, candidates: list[uuid.UUID], now: datetime) -> dict[str, Person]:
    """The first candidate of each colour their records give today: a pass must show the
    colour the server computes, or the worker revokes it as outdated."""
    found: dict[str, Person] = {}
    for person_id in candidates:
        colour = passes.current_status(session, person_id, now).colour
        if colour not in found:
            found[colour] = session.get_one(Person, person_id)
        if len(found) == 3:
            break
    return found


def write_images(
    session: Session,
    folder: Path,
    *,
    keys: KeyRing,
    seed: int,
    residents: list[uuid.UUID],
    transfer_code: str,
) -> list[str]:
    """Issue the codes, draw a frame for each, and write them with `expected.json`.
    `residents`: people of Hà Nội to show the passes of, in the order to try them."""
    actor = system_actor("demo")
    now = datetime.now(UTC).replace(microsecond=0)
    keys.current()
    cases = list(session.scalars(select(Case.person_id).order_by(Case.opened_at, Case.code)))
    coloured = _by_colour(session, residents[:300], now)
    red = _by_colour(session, cases, now).get("red") or coloured["red"]
    green, yellow = coloured["green"], coloured.get("yellow", coloured["green"])
    chosen = {green.id, yellow.id, red.id}
    others = [session.get_one(Person, pid) for pid in residents[:6] if pid not in chosen]
    expired_person, revoked_person = others[0], others[1]
    shown = passes.issue_current_pass(session=session, actor=actor, person=green, keys=keys)
    codes: list[tuple[str, str, str, str]] = [
        ("01-pass-green.png", shown.text, "pass", "a valid green pass of a Hà Nội resident"),
        (
            "02-pass-yellow.png",
            passes.issue_current_pass(session=session, actor=actor, person=yellow, keys=keys).text,
            "pass",
            "a yellow pass of a Hà Nội resident: residents pass",
        ),
        (
            "03-pass-red-case.png",
            passes.issue_current_pass(session=session, actor=actor, person=red, keys=keys).text,
            "turn_back",
            "the red pass of one of the outbreak's confirmed cases",
        ),
        (
            "04-pass-expired.png",
            passes.issue_current_pass(
                session=session,
                actor=actor,
                person=expired_person,
                now=now - timedelta(days=5),
                keys=keys,
            ).text,
            "conditional",
            "a pass that expired two days ago",
        ),
    ]
    revoked = passes.issue_current_pass(
        session=session, actor=actor, person=revoked_person, keys=keys
    )
    passes.revoke_pass(
        session=session, actor=actor, pass_id=revoked.claims.pass_id, reason="Cấp nhầm"
    )
    codes.append(("05-pass-revoked.png", revoked.text, "turn_back", "a revoked pass"))
    with tempfile.TemporaryDirectory(prefix="phongdich-forger-") as forger:
        forged = passes.encode(
            dataclasses.replace(shown.claims, pass_id=uuid.UUID(int=seed, version=4)),
            KeyRing(Path(forger)),
        )
    codes.append(("06-pass-forged.png", forged, "turn_back", "signed with a key nobody trusts"))
    codes.append(("07-cccd.png", _card(session, green), "pass", "a CCCD card of a Hà Nội resident"))
    if not keys.has_dsc():
        keys.init_dcc()
    certificate = dcc.issue(
        dcc.vaccination_hcert(
            family_name="Müller",
            given_name="Anna",
            birth_date="1988-04-12",
            dose_number=2,
            total_doses=2,
            vaccinated_on=(now - timedelta(days=60)).date(),
            product="EU/1/20/1528",
            manufacturer="ORG-100030215",
        ),
        keys=keys,
        now=now,
    )
    codes.append(("08-eu-dcc.png", certificate, "pass", "an EU DCC, fully vaccinated"))
    transfer = session.scalars(select(Transfer).where(Transfer.code == transfer_code)).one()
    codes.append(
        (
            "09-transfer-accepted.png",
            transfers.code_text(session, transfer, keys),
            "pass",
            f"the manifest {transfer_code}, accepted by the receiving unit",
        )
    )
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for name, text, _, _ in codes:
        qr_frames.write(qr_frames.frame(text, rng), folder / name)
    expected = {name: {"verdict": verdict, "what": what} for name, _, verdict, what in codes}
    (folder / "expected.json").write_text(
        json.dumps(expected, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return [name for name, _, _, _ in codes]
