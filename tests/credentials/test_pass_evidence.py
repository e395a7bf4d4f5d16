"""A pass carries its holder's home unit and the evidence checkpoints' entry rules read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cbor2
import pytest
from sqlalchemy.orm import Session

from phongdich.auth.actor import system_actor
from phongdich.config import Settings
from phongdich.credentials import cose, passes
from phongdich.credentials.keys import keyring
from phongdich.credentials.status import record_fact, status_for
from phongdich.credentials.verify import verify_text
from tests.credentials.helpers import claims, store_of
from tests.factories import PHUC_XA, make_person

NOW = datetime.now(UTC).replace(microsecond=0)


def test_the_latest_evidence_of_each_kind_is_signed_into_the_pass(
    session: Session, settings: Settings
) -> None:
    person = make_person(session)
    actor = system_actor("tests")
    for days, kind, value in (
        (90, "vaccination_dose", {"dose_number": 2, "full_course": True}),
        (40, "vaccination_dose", {"dose_number": 3, "full_course": True}),
        (20, "vaccination_dose", {"dose_number": 1}),  # not a course: no evidence
        (3, "test_result", {"method": "pcr", "result": "negative"}),
        (2, "test_result", {"method": "rapid_antigen", "result": "negative"}),
        (1, "test_result", {"method": "pcr", "result": "positive"}),  # not negative
    ):
        record_fact(
            session=session,
            actor=actor,
            person_id=person.id,
            kind=kind,
            occurred_at=NOW - timedelta(days=days),
            value=value,
        )
    status = status_for(session=session, person_id=person.id, at=NOW)
    assert status.evidence == {
        "vaccinated": NOW - timedelta(days=40),
        "pcr_negative": NOW - timedelta(days=3),
        "rapid_negative": NOW - timedelta(days=2),
    }
    keys = keyring(settings)
    issued = passes.issue_pass(
        session=session, actor=actor, person=person, status=status, now=NOW, keys=keys
    )
    verdict = verify_text(issued.text, store_of(keys), NOW)
    assert verdict.valid, verdict.errors
    assert verdict.payload["unit"] == PHUC_XA
    assert verdict.payload["evidence"]["vaccinated"] == (NOW - timedelta(days=40)).isoformat()


def test_a_pass_without_the_optional_keys_still_reads() -> None:
    plain = claims()
    decoded = passes.claims_from_cbor(plain.to_cbor())
    assert decoded.unit is None
    assert decoded.evidence == {}
    assert 11 not in cbor2.loads(plain.to_cbor())


@pytest.mark.parametrize("evidence", [["vaccinated"], {1: 5}, {"vaccinated": "soon"}])
def test_malformed_evidence_is_refused(evidence: object) -> None:
    payload = cbor2.loads(claims().to_cbor())
    payload[passes.K_EVIDENCE] = evidence
    with pytest.raises(cose.CoseError):
        passes.claims_from_cbor(cbor2.dumps(payload))
