"""The station's reading and deciding, offline, over a bundle made here (no server)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from phongdich.checkpoints import codes
from phongdich.credentials import dcc, passes
from phongdich.credentials.keys import KeyRing
from phongdich.station import assess
from phongdich.station.assess import LOCAL
from phongdich.station.offline import Offline

NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = NOW.astimezone(LOCAL).date()
HA_NOI, BA_DINH, PHUC_XA, HCM, Q1, TAN_DINH = "01", "001", "00001", "79", "760", "26734"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    ring = KeyRing(tmp_path_factory.mktemp("ring") / "keys")
    ring.current()
    ring.init_dcc()
    return ring


def bundle(keys: KeyRing, **extra: Any) -> dict[str, Any]:
    import base64

    from cryptography.hazmat.primitives import serialization

    key = keys.current()
    trust = {
        "keys": [
            {
                "kid": base64.b64encode(key.kid).decode(),
                "public_key": base64.b64encode(
                    key.public_key.public_bytes(
                        serialization.Encoding.DER,
                        serialization.PublicFormat.SubjectPublicKeyInfo,
                    )
                ).decode(),
                "valid_from": key.created_at.isoformat(),
                "valid_until": None,
            }
        ],
        "certificates": [{"certificate": dcc.certificate_der_b64(keys.dsc()[0])}],
    }
    return {
        "generated_at": NOW.isoformat(),
        "checkpoint": {"code": "CK-1", "name": "Chốt 1", "unit_code": HA_NOI, "lanes": ["general"]},
        "trust_list": trust,
        "revocations": extra.pop("revocations", {"revoked": []}),
        "rule_sets": extra.pop("rule_sets", {}),
        "units": [
            [HA_NOI, "Hà Nội", None, 1, 2],
            [BA_DINH, "Ba Đình", HA_NOI, 2, None],
            [PHUC_XA, "Phúc Xá", BA_DINH, 3, None],
            [HCM, "Hồ Chí Minh", None, 1, 4],
            [Q1, "Quận 1", HCM, 2, None],
            [TAN_DINH, "Tân Định", Q1, 3, 3],
        ],
        "transfers": extra.pop("transfers", []),
    }


def a_pass(
    keys: KeyRing,
    *,
    unit: str | None = TAN_DINH,
    colour: str = "green",
    reasons: tuple[str, ...] = (),
    evidence: dict[str, datetime] | None = None,
    issued: datetime = NOW,
    subject: bytes = b"s" * 16,
    pass_id: uuid.UUID | None = None,
) -> str:
    return passes.encode(
        passes.PassClaims(
            pass_id=pass_id or uuid.uuid4(),
            subject=subject,
            initials="NVA",
            birth_year=1985,
            colour=colour,
            reasons=reasons,
            issued_at=issued,
            expires_at=issued + timedelta(hours=72),
            issuer="VN",
            unit=unit,
            evidence=evidence or {},
        ),
        keys,
    )


def verdict_of(
    text: str, offline: Offline, context: assess.Context | None = None
) -> assess.Decision:
    return assess.decide(assess.read(text, offline, NOW), context or assess.Context(), offline, NOW)


def test_origin_zone_level_comes_from_the_nearest_unit_that_has_one(keys: KeyRing) -> None:
    offline = Offline.from_bundle(bundle(keys))
    assert offline.zone_level(TAN_DINH) == 3
    assert offline.zone_level(Q1) == 4
    assert offline.zone_level(PHUC_XA) == 2
    assert offline.zone_level("nowhere") is None
    assert offline.within(PHUC_XA, HA_NOI)
    assert not offline.within(TAN_DINH, HA_NOI)


def test_from_a_level_3_zone_full_vaccination_passes_and_none_needs_a_rapid_test(
    keys: KeyRing,
) -> None:
    offline = Offline.from_bundle(bundle(keys))
    vaccinated = verdict_of(
        a_pass(keys, evidence={"vaccinated": NOW - timedelta(days=30)}), offline
    )
    assert (vaccinated.verdict.verdict, vaccinated.verdict.reason) == (
        "pass",
        "Fully vaccinated at least 14 days ago",
    )
    recent = verdict_of(a_pass(keys, evidence={"vaccinated": NOW - timedelta(days=5)}), offline)
    assert recent.verdict.verdict == "conditional"
    assert recent.verdict.condition == "Rapid test at the lane"
    assert recent.origin_unit_code == TAN_DINH  # the home unit, when the officer set none


def test_residents_of_the_destination_pass_and_cases_are_turned_back(keys: KeyRing) -> None:
    offline = Offline.from_bundle(bundle(keys))
    resident = verdict_of(a_pass(keys, unit=PHUC_XA, colour="red"), offline)
    assert resident.verdict.reason == "Resident of the destination unit"
    case = verdict_of(
        a_pass(keys, unit=PHUC_XA, colour="red", reasons=("Contact in quarantine",)), offline
    )
    assert case.verdict.verdict == "turn_back"


def test_revoked_and_expired_passes(keys: KeyRing) -> None:
    pass_id = uuid.uuid4()
    offline = Offline.from_bundle(
        bundle(
            keys,
            revocations={
                "revoked": [
                    {"pass_id": str(pass_id), "revoked_at": (NOW - timedelta(hours=1)).isoformat()}
                ]
            },
        )
    )
    revoked = assess.read(a_pass(keys, pass_id=pass_id), offline, NOW)
    assert revoked.state == "revoked"
    expired = assess.read(a_pass(keys, issued=NOW - timedelta(days=4)), offline, NOW)
    assert expired.state == "expired"
    assert expired.colour is None  # an expired pass's colour is not believed


def test_a_foreign_certificate_is_read_with_its_evidence(keys: KeyRing) -> None:
    offline = Offline.from_bundle(bundle(keys))
    text = dcc.issue(
        dcc.vaccination_hcert(
            family_name="Müller",
            given_name="Anna",
            birth_date="1980-01-02",
            dose_number=2,
            total_doses=2,
            vaccinated_on=(NOW - timedelta(days=60)).date(),
            product="EU/1/20/1528",
            manufacturer="ORG-100030215",
            country="DE",
        ),
        keys=keys,
        now=NOW - timedelta(days=1),
    )
    reading = assess.read(text, offline, NOW)
    assert (reading.kind, reading.state) == ("eu-dcc", "valid")
    assert reading.traveller == "AM 1980"
    assert reading.evidence["vaccinated"].date() == (NOW - timedelta(days=60)).date()
    decision = assess.decide(reading, assess.Context(origin_unit_code=HCM), offline, NOW)
    assert decision.verdict.verdict == "pass"


def test_an_invitation_counts_only_for_the_person_it_names(keys: KeyRing) -> None:
    offline = Offline.from_bundle(bundle(keys))
    invitation = codes.read_invitation(
        codes.invitation_code(
            codes.InvitationCode(uuid.uuid4(), b"s" * 16, "NVA", BA_DINH, TODAY, TODAY, "work"),
            keys,
        ),
        offline.store,
    )
    context = assess.Context(invitation=invitation, destination_unit_code=PHUC_XA)
    mine = verdict_of(a_pass(keys, colour="red"), offline, context)
    assert mine.verdict.reason == "Invited by the destination unit"
    context = assess.Context(invitation=invitation, destination_unit_code=PHUC_XA)
    other = verdict_of(a_pass(keys, colour="red", subject=b"x" * 16), offline, context)
    assert other.flagged == assess.INVITATION_OF_ANOTHER
    assert other.verdict.reason != "Invited by the destination unit"


def test_codes_signed_with_another_key_are_forged(keys: KeyRing, tmp_path: Path) -> None:
    other = KeyRing(tmp_path / "other")
    offline = Offline.from_bundle(bundle(keys))
    text = codes.transfer_code(
        codes.TransferCode(uuid.uuid4(), "TR-1", TAN_DINH, PHUC_XA, TODAY, "51A", 3), other
    )
    reading = assess.read(text, offline, NOW)
    assert (reading.kind, reading.state) == ("transfer", "forged")
    assert assess.read("garbage", offline, NOW).kind == "unknown"
    assert assess.read("PD1:" + "%" * 50, offline, NOW).state == "forged"


def test_a_forged_pass_names_nobody(keys: KeyRing, tmp_path: Path) -> None:
    """A copied pass id re-signed with another key must not put the crossing on its holder."""
    offline = Offline.from_bundle(bundle(keys))
    forged = a_pass(KeyRing(tmp_path / "forger"), unit=PHUC_XA)
    reading = assess.read(forged, offline, NOW)
    assert reading.state == "forged"
    assert (reading.pass_id, reading.subject, reading.unit) == (None, "", None)
    decision = assess.decide(reading, assess.Context(), offline, NOW)
    assert decision.verdict.verdict == "turn_back"
    assert not decision.traveller.resident_of_destination


def test_someone_not_on_the_manifest_shown_is_not_covered_by_it(keys: KeyRing) -> None:
    transfer_id = uuid.uuid4()
    on_it, stowaway = b"m" * 16, b"x" * 16
    offline = Offline.from_bundle(
        bundle(
            keys,
            transfers=[
                {
                    "id": str(transfer_id),
                    "code": "TR-1",
                    "status": "accepted",
                    "from_unit": TAN_DINH,
                    "to_unit": PHUC_XA,
                    "travel_date": TODAY.isoformat(),
                    "vehicle_plate": "51B-00001",
                    "subjects": [on_it.hex()],
                }
            ],
        )
    )
    shown = codes.TransferCode(transfer_id, "TR-1", TAN_DINH, PHUC_XA, TODAY, "51B-00001", 1)
    context = assess.Context(transfer=shown, transfer_group=True, origin_unit_code=TAN_DINH)
    member = verdict_of(a_pass(keys, colour="red", subject=on_it), offline, context)
    assert member.verdict.reason == "Transfer accepted by the receiving unit"
    assert member.transfer_id == transfer_id
    other = verdict_of(a_pass(keys, colour="red", subject=stowaway), offline, context)
    assert other.verdict.reason != "Transfer accepted by the receiving unit"
    assert other.flagged == assess.NO_MANIFEST
    assert other.transfer_id is None


def test_an_unknown_origin_is_not_taken_for_a_safe_one(keys: KeyRing) -> None:
    offline = Offline.from_bundle(bundle(keys))
    unknown = verdict_of(a_pass(keys, unit=None, colour="red", evidence={}), offline)
    assert (unknown.verdict.verdict, unknown.verdict.reason) == ("conditional", "Origin unknown")
    known = verdict_of(
        a_pass(keys, unit=None, colour="red", evidence={}),
        offline,
        assess.Context(origin_unit_code=PHUC_XA),
    )
    assert known.verdict.reason == "From a zone of level 1–2"
