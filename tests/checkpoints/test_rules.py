"""Entry rules through the API: versions per scope, publishing, preview, which set applies."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.auth.actor import system_actor
from phongdich.auth.roles import Role
from phongdich.checkpoints import entry_rules, rulesets
from tests.checkpoints.helpers import Gate, gate, officer
from tests.factories import BA_DINH, HANG_BAC, HOAN_KIEM, PHUC_XA, bearer, make_user

__all__ = ["gate", "officer"]

STRICT = [
    {
        "verdict": "conditional",
        "reason": "Every traveller is tested",
        "condition": "Rapid test at the lane",
        "if": {"credential": ["valid", "unverified"]},
    },
    {"verdict": "turn_back", "reason": "No health pass or certificate shown"},
]


def headers(
    session: Session, role: Role = Role.DISTRICT_OFFICER, unit: str = BA_DINH
) -> dict[str, str]:
    return bearer(session, make_user(session, role, unit)[0])


def test_publishing_validates_and_names_the_field(client: TestClient, session: Session) -> None:
    h = headers(session)
    rules = copy.deepcopy(entry_rules.DEFAULT_RULES)
    rules[3]["if"] = {"origin_zone_level_at_least": 9}
    response = client.post(
        "/api/entry-rules", json={"scope": f"unit:{BA_DINH}", "rules": rules}, headers=h
    )
    assert response.status_code == 422
    assert response.json()["field"] == "rules.3.if.origin_zone_level_at_least"
    assert client.get(f"/api/entry-rules?scope=unit:{BA_DINH}", headers=h).json() == []


def test_the_same_rules_published_twice_are_one_version(
    client: TestClient, session: Session
) -> None:
    h = headers(session)
    body = {"scope": f"unit:{BA_DINH}", "rules": STRICT, "note": "Đợt 4"}
    first = client.post("/api/entry-rules", json=body, headers=h)
    second = client.post("/api/entry-rules", json=body, headers=h)
    assert first.status_code == second.status_code == 201, first.text
    assert first.json()["version"] == second.json()["version"] == 1
    changed = client.post(
        "/api/entry-rules", json={**body, "rules": entry_rules.DEFAULT_RULES}, headers=h
    )
    assert changed.json()["version"] == 2
    versions = client.get(f"/api/entry-rules?scope=unit:{BA_DINH}", headers=h).json()
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[1]["note"] == "Đợt 4"
    assert versions[1]["rules"] == STRICT


def test_scopes_are_checked_against_the_jurisdiction(
    client: TestClient, session: Session, gate: Gate
) -> None:
    other = headers(session, unit=HOAN_KIEM)
    body = {"scope": f"checkpoint:{gate.checkpoint.code}", "rules": STRICT}
    assert client.post("/api/entry-rules", json=body, headers=other).status_code == 404
    body = {"scope": f"unit:{PHUC_XA}", "rules": STRICT}
    assert client.post("/api/entry-rules", json=body, headers=other).status_code == 404
    # Only a national administrator changes the default.
    body = {"scope": "default", "rules": STRICT}
    assert client.post("/api/entry-rules", json=body, headers=other).status_code == 403
    bad = client.get("/api/entry-rules?scope=district:001", headers=other)
    assert bad.status_code == 422
    assert bad.json()["field"] == "scope"
    staff = headers(session, Role.CHECKPOINT_OFFICER)
    assert client.post("/api/entry-rules", json=body, headers=staff).status_code == 403
    default = client.get("/api/entry-rules?scope=default", headers=staff).json()
    assert default[-1]["version"] >= 0


def test_preview_gives_a_verdict_per_sample_without_publishing(
    client: TestClient, session: Session
) -> None:
    h = headers(session)
    response = client.post("/api/entry-rules/preview", json={"rules": STRICT}, headers=h)
    assert response.status_code == 200, response.text
    rows = response.json()
    assert len(rows) == len(entry_rules.sample_travellers(datetime.now(UTC)))
    by_label = {r["label"]: r for r in rows}
    assert by_label["Forged pass"]["verdict"] == "turn_back"
    assert by_label["Fully vaccinated, from a level 4 zone"]["verdict"] == "conditional"
    assert client.get(f"/api/entry-rules?scope=unit:{BA_DINH}", headers=h).json() == []
    own = client.post(
        "/api/entry-rules/preview",
        json={
            "rules": entry_rules.DEFAULT_RULES,
            "at": "2021-09-10T08:00:00+07:00",
            "sample": [
                {
                    "label": "A",
                    "origin_zone_level": 4,
                    "evidence": {"vaccinated": "2021-08-01T00:00:00"},
                },
                {"label": "B", "origin_zone_level": 4},
                {"label": "C", "reasons": ["Confirmed case, not yet recovered"]},
            ],
        },
        headers=h,
    )
    assert own.status_code == 200, own.text
    assert [(r["label"], r["verdict"]) for r in own.json()] == [
        ("A", "pass"),
        ("B", "conditional"),
        ("C", "turn_back"),
    ]
    bad = client.post(
        "/api/entry-rules/preview",
        json={"rules": STRICT, "sample": [{}, {"credential": "stolen"}]},
        headers=h,
    )
    assert (bad.status_code, bad.json()["field"]) == (422, "sample.1.credential")
    bad = client.post("/api/entry-rules/preview", json={"rules": [{"verdict": "pass"}]}, headers=h)
    assert (bad.status_code, bad.json()["field"]) == (422, "rules.0.reason")


def test_the_applying_set_is_the_destinations_then_the_checkpoints_then_the_default(
    client: TestClient, session: Session, gate: Gate
) -> None:
    h = headers(session, Role.PROVINCE_OFFICER, "01")
    code = gate.checkpoint.code

    def applies(destination: str) -> str:
        response = client.get(
            f"/api/checkpoints/{code}/entry-rules?destination={destination}", headers=h
        )
        assert response.status_code == 200, response.text
        return str(response.json()["scope"])

    assert applies(PHUC_XA) == "default"
    rulesets.publish(session=session, actor=system_actor("tests"), scope="default", rules=STRICT)
    default = client.get(f"/api/checkpoints/{code}/entry-rules?destination={PHUC_XA}", headers=h)
    assert default.json()["rules"] == STRICT
    checkpoint_rules = [{"verdict": "pass", "reason": "Checkpoint rules"}]
    rulesets.publish(
        session=session, actor=gate.officer, scope=f"checkpoint:{code}", rules=checkpoint_rules
    )
    assert applies(PHUC_XA) == f"checkpoint:{code}"
    rulesets.publish(
        session=session,
        actor=gate.officer,
        scope=f"unit:{BA_DINH}",
        rules=[{"verdict": "pass", "reason": "District rules"}],
    )
    assert applies(PHUC_XA) == f"unit:{BA_DINH}"
    assert applies(HANG_BAC) == f"checkpoint:{code}"
    missing = client.get(f"/api/checkpoints/{code}/entry-rules?destination=99999", headers=h)
    assert missing.status_code == 404
