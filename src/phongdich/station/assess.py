"""From the text of a QR code to a verdict, offline: recognise, verify, apply the entry rules.

`read` says what was shown (a pass, a CCCD card, an EU DCC, a transfer or invitation code) and
whether it holds; `decide` turns a person's reading plus the officer's context (lane, vehicle,
origin, destination) into PASS / PASS WITH CONDITIONS / TURN BACK with the reasons, and into
the flag a group gets when it arrives without an accepted manifest.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from phongdich.checkpoints import codes, entry_rules
from phongdich.checkpoints.entry_rules import EntryVerdict, Traveller
from phongdich.credentials import dcc, passes
from phongdich.credentials.verify import verify_text
from phongdich.errors import Invalid
from phongdich.persons.documents import parse_cccd_qr
from phongdich.station.offline import Manifest, Offline
from phongdich.web.reasons import N_

# Invitations are valid for local dates (the gate's), whatever the station's clock zone.
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
PERSON_KINDS = ("pass", "cccd", "eu-dcc", "document")
# A bus from another province this full, with no accepted manifest, is flagged.
GROUP_WITHOUT_MANIFEST = 10

NO_MANIFEST = N_("Transfer group without an accepted manifest")
MANIFEST_NOT_ACCEPTED = N_("On a manifest the receiving unit has not accepted")
LARGE_GROUP = N_("A large group from another province without a manifest")
INVITATION_OF_ANOTHER = N_("The invitation belongs to another person")


@dataclass
class Reading:
    """What one scanned code says, checked offline."""

    kind: str  # pass | cccd | eu-dcc | document | transfer | invitation | unknown
    state: str = "none"  # entry_rules.CREDENTIAL_STATES
    problem: str = ""
    pass_id: uuid.UUID | None = None
    subject: str = ""  # the pass pseudonym, hex
    initials: str = ""
    birth_year: int | None = None
    colour: str | None = None
    reasons: tuple[str, ...] = ()
    unit: str | None = None  # home unit, when the credential says
    evidence: dict[str, datetime] = field(default_factory=dict)
    card: str | None = None  # a CCCD card's QR text, sent to the server to resolve the person
    document_hash: str = ""  # to recognise the same card twice without keeping its number
    transfer: codes.TransferCode | None = None
    invitation: codes.InvitationCode | None = None

    @property
    def is_person(self) -> bool:
        return self.kind in PERSON_KINDS

    @property
    def traveller(self) -> str:
        """What the officer and the report may see: initials and birth year."""
        return f"{self.initials} {self.birth_year or ''}".strip()[:64]


def _initials(name: str) -> str:
    return passes.initials_of(name)


def _read_pass(text: str, offline: Offline, at: datetime) -> Reading:
    verdict = verify_text(text, offline.store, at)
    reading = Reading("pass")
    payload = verdict.payload if isinstance(verdict.payload, Mapping) else {}
    if not verdict.decoded:
        reading.state, reading.problem = "forged", "; ".join(verdict.errors)
        return reading
    reading.initials = str(payload.get("initials", ""))
    reading.birth_year = payload.get("birth_year")
    if verdict.signature_valid is not True:
        # Nothing of an unsigned payload names anyone: a copied pass id must not put this
        # crossing (or a lane test) on the real holder's record.
        reading.state, reading.problem = "forged", "; ".join(verdict.errors)
        return reading
    reading.pass_id = uuid.UUID(payload["pass_id"])
    reading.subject = str(payload.get("subject", ""))
    reading.unit = payload.get("unit")
    if verdict.revoked:
        reading.state, reading.problem = "revoked", "revoked"
        return reading
    if verdict.expired:
        reading.state, reading.problem = "expired", "expired"
        return reading
    reading.state = "valid"
    reading.colour = verdict.colour
    reading.reasons = tuple(verdict.reasons)
    reading.evidence = {
        name: datetime.fromisoformat(value)
        for name, value in (payload.get("evidence") or {}).items()
    }
    return reading


def _dcc_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(value[:10]), datetime.min.time())
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def dcc_evidence(hcert: Mapping[str, Any]) -> dict[str, datetime]:
    """A certificate's vaccination (full course: dn ≥ sd), negative tests and recovery."""
    found: dict[str, datetime] = {}

    def keep(name: str, when: datetime | None) -> None:
        if when is not None and (name not in found or when > found[name]):
            found[name] = when

    for dose in hcert.get("v") or ():
        if isinstance(dose, Mapping) and int(dose.get("dn") or 0) >= int(dose.get("sd") or 99):
            keep("vaccinated", _dcc_time(dose.get("dt")))
    for test in hcert.get("t") or ():
        # 260415000 is SNOMED "not detected"; LP6464-4 a NAAT (PCR) test, LP217198-3 rapid.
        if isinstance(test, Mapping) and str(test.get("tr")) == "260415000":
            name = "pcr_negative" if test.get("tt") == "LP6464-4" else "rapid_negative"
            keep(name, _dcc_time(test.get("sc")))
    for recovery in hcert.get("r") or ():
        if isinstance(recovery, Mapping):
            keep("recovered", _dcc_time(recovery.get("fr")))
    return found


def _read_dcc(text: str, offline: Offline, at: datetime) -> Reading:
    verdict = verify_text(text, offline.store, at)
    reading = Reading("eu-dcc")
    hcert = verdict.payload if isinstance(verdict.payload, Mapping) else {}
    name = hcert.get("nam") or {}
    if isinstance(name, Mapping):
        reading.initials = _initials(f"{name.get('gnt') or ''} {name.get('fnt') or ''}")
    born = str(hcert.get("dob") or "")[:4]
    reading.birth_year = int(born) if born.isdigit() else None
    if not verdict.decoded or verdict.signature_valid is not True:
        reading.state, reading.problem = "forged", "; ".join(verdict.errors)
        return reading
    if verdict.expired:
        reading.state, reading.problem = "expired", "; ".join(verdict.errors)
        return reading
    if verdict.errors:
        reading.state, reading.problem = "forged", "; ".join(verdict.errors)
        return reading
    reading.state = "valid"
    reading.evidence = dcc_evidence(hcert)
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    reading.document_hash = f"dcc:{digest}"
    return reading


def _read_cccd(text: str) -> Reading:
    try:
        card = parse_cccd_qr(text)
    except Invalid as exc:
        return Reading("cccd", state="forged", problem=exc.reason)
    return Reading(
        "cccd",
        state="unverified",
        initials=_initials(card.full_name),
        birth_year=card.birth_date.year,
        card=text.strip(),
        document_hash="doc:" + hashlib.sha256(card.number.encode()).hexdigest()[:32],
    )


def read(text: str, offline: Offline, at: datetime) -> Reading:
    """Never raises: whatever was shown gets a reading."""
    text = text.strip()
    try:
        if text.startswith(passes.PREFIX):
            return _read_pass(text, offline, at)
        if text.startswith(dcc.PREFIX):
            return _read_dcc(text, offline, at)
        if text.startswith(codes.TRANSFER_PREFIX):
            transfer = codes.read_transfer(text, offline.store)
            return Reading("transfer", state="valid", transfer=transfer)
        if text.startswith(codes.INVITATION_PREFIX):
            invitation = codes.read_invitation(text, offline.store)
            today = at.astimezone(LOCAL).date()
            state = (
                "valid" if invitation.valid_from <= today <= invitation.valid_until else "expired"
            )
            return Reading("invitation", state=state, invitation=invitation)
        if text.count("|") >= 5:
            return _read_cccd(text)
    except codes.CodeError as exc:
        kind = "transfer" if text.startswith(codes.TRANSFER_PREFIX) else "invitation"
        return Reading(kind, state="forged", problem=str(exc))
    except Exception as exc:  # a station must answer, whatever it is shown
        return Reading("unknown", state="forged", problem=type(exc).__name__)
    return Reading("unknown", state="none", problem="unrecognised code")


@dataclass
class Context:
    """What the officer set for the crossing under way (the vehicle in front of the lane)."""

    direction: str = "in"
    lane: str = "general"
    group_id: uuid.UUID | None = None
    vehicle_plate: str = ""
    vehicle_type: str = ""
    origin_unit_code: str | None = None
    destination_unit_code: str | None = None
    reason: str = ""
    transfer_group: bool = False  # the officer says the vehicle carries a transfer
    transfer: codes.TransferCode | None = None  # a manifest code shown for the vehicle
    invitation: codes.InvitationCode | None = None  # shown just before the person's pass
    group_size: int = 0  # people already recorded in this vehicle
    rapid_test: str = ""


@dataclass
class Decision:
    verdict: EntryVerdict
    traveller: Traveller
    scope: str
    version: int
    origin_unit_code: str | None
    destination_unit_code: str | None
    transfer_id: uuid.UUID | None
    flagged: str


def _manifest_state(
    reading: Reading, context: Context, offline: Offline
) -> tuple[str, Manifest | None]:
    manifests = offline.by_subject.get(reading.subject, []) if reading.subject else []
    if context.transfer is not None:
        shown = offline.manifests.get(context.transfer.transfer_id)
        # A pass names its holder: they must be on the manifest shown. A card names nobody
        # the manifest knows, so it travels under the manifest shown for the vehicle.
        if shown is not None and (reading.subject in shown.subjects or not reading.subject):
            return shown.status, shown
    for status in ("accepted", "pending", "refused"):
        for manifest in manifests:
            if manifest.status == status:
                return status, manifest
    return "none", None


def decide(reading: Reading, context: Context, offline: Offline, at: datetime) -> Decision:
    """The verdict for one person in the context the officer set."""
    transfer_state, manifest = _manifest_state(reading, context, offline)
    destination = (
        context.destination_unit_code
        or (manifest.to_unit if manifest else None)
        or str(offline.checkpoint.get("unit_code") or "")
        or None
    )
    origin = (
        context.origin_unit_code
        or (manifest.from_unit if manifest else None)
        or (reading.unit if context.direction == "in" else None)
    )
    invited = False
    flags: list[str] = []
    if context.invitation is not None:
        if reading.subject and context.invitation.subject.hex() == reading.subject:
            invited = offline.within(destination, context.invitation.unit) or (
                context.invitation.unit == destination
            )
        elif reading.subject:
            flags.append(INVITATION_OF_ANOTHER)
    evidence = dict(reading.evidence)
    if context.rapid_test == "negative":
        evidence["rapid_negative"] = at
    traveller = Traveller(
        credential=reading.state if reading.is_person else "none",
        colour=reading.colour,
        reasons=reading.reasons,
        resident_of_destination=bool(reading.unit) and offline.within(reading.unit, destination),
        invited=invited,
        transfer=transfer_state,
        origin_zone_level=offline.zone_level(origin),
        origin_known=origin is not None and origin in offline.units,
        evidence=evidence,
        rapid_test=context.rapid_test,
        lane=context.lane,
    )
    scope, rule_set = entry_rules.choose(
        offline.rule_sets, str(offline.checkpoint.get("code", "")), offline.path(destination)
    )
    verdict = entry_rules.evaluate(rule_set["rules"], traveller, at)
    if context.direction == "in":
        if transfer_state in ("pending", "refused"):
            flags.append(MANIFEST_NOT_ACCEPTED)
        elif context.transfer_group and transfer_state != "accepted":
            flags.append(NO_MANIFEST)
        elif (
            transfer_state == "none"
            and context.group_size + 1 >= GROUP_WITHOUT_MANIFEST
            and origin is not None
            and offline.province(origin) != offline.province(destination)
        ):
            flags.append(LARGE_GROUP)
    return Decision(
        verdict=verdict,
        traveller=traveller,
        scope=scope,
        version=int(rule_set.get("version", 0)),
        origin_unit_code=origin if origin in offline.units else None,
        destination_unit_code=destination if destination in offline.units else None,
        transfer_id=manifest.id if manifest is not None else None,
        flagged="; ".join(flags),
    )
