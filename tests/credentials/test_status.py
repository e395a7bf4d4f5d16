"""Health facts, colour rules as data, and a person's colour at a given moment."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.actor import system_actor
from phongdich.auth.roles import Role
from phongdich.credentials import rules
from phongdich.credentials.status import (
    STATUS_CHANGED,
    ColourRuleSet,
    HealthFact,
    Status,
    list_rules,
    publish_rules,
    record_fact,
    status_for,
)
from phongdich.errors import Forbidden, Invalid, NotFound
from phongdich.events import OutboxEvent
from phongdich.persons.models import Person
from tests.factories import (
    HA_NOI,
    HCM,
    PHUC_XA,
    TAN_DINH,
    TRUC_BACH,
    audit_entries,
    bearer,
    make_person,
    make_user,
)

NOW = datetime(2021, 10, 1, 8, 0, tzinfo=UTC)
SYSTEM = system_actor("tests")


def fact(
    session: Session,
    person: Person,
    kind: str,
    ago: timedelta,
    value: Mapping[str, object] | None = None,
    source: tuple[str, str] | None = None,
) -> HealthFact:
    recorded, _ = record_fact(
        session=session,
        actor=SYSTEM,
        person_id=person.id,
        kind=kind,
        occurred_at=NOW - ago,
        value=value,
        source=source,
    )
    return recorded


def colour(session: Session, person: Person, at: datetime = NOW) -> tuple[str, str]:
    found = status_for(session=session, person_id=person.id, at=at)
    return found.colour, found.reasons[0]


FULL: dict[str, object] = {"dose_number": 2, "full_course": True}
FIRST: dict[str, object] = {"dose_number": 1, "full_course": False}
PCR_NEGATIVE: dict[str, object] = {"method": "pcr", "result": "negative"}
DAY, HOUR = timedelta(days=1), timedelta(hours=1)


# The default rules, path by path


def test_nobody_on_record_is_red(session: Session) -> None:
    person = make_person(session)
    found = status_for(session=session, person_id=person.id, at=NOW)
    assert isinstance(found, Status)
    assert (found.colour, found.rules_version, found.evaluated_at) == ("red", 1, NOW)
    assert found.reasons == ("No vaccination, recovery or recent negative test on record",)


@pytest.mark.parametrize(("days", "expected"), [(13, "red"), (14, "green"), (200, "green")])
def test_full_course_counts_from_14_days(session: Session, days: int, expected: str) -> None:
    person = make_person(session)
    fact(session, person, "vaccination_dose", days * DAY, FULL)
    assert colour(session, person)[0] == expected


def test_full_course_13_days_and_23_hours_is_not_yet(session: Session) -> None:
    person = make_person(session)
    fact(session, person, "vaccination_dose", 14 * DAY - HOUR, FULL)
    assert colour(session, person)[0] == "red"
    assert colour(session, person, NOW + HOUR) == ("green", "Fully vaccinated at least 14 days ago")


@pytest.mark.parametrize(("days", "expected"), [(13, "red"), (14, "yellow")])
def test_first_dose_counts_from_14_days(session: Session, days: int, expected: str) -> None:
    person = make_person(session)
    fact(session, person, "vaccination_dose", days * DAY, FIRST)
    assert colour(session, person)[0] == expected


@pytest.mark.parametrize(
    ("ago", "expected"),
    [(HOUR, "yellow"), (72 * HOUR, "yellow"), (72 * HOUR + timedelta(seconds=1), "red")],
)
def test_negative_pcr_lasts_72_hours(session: Session, ago: timedelta, expected: str) -> None:
    person = make_person(session)
    fact(session, person, "test_result", ago, PCR_NEGATIVE)
    assert colour(session, person)[0] == expected


def test_rapid_tests_and_positive_pcr_do_not_make_yellow(session: Session) -> None:
    person = make_person(session)
    fact(session, person, "test_result", HOUR, {"method": "rapid_antigen", "result": "negative"})
    fact(session, person, "test_result", HOUR, {"method": "pcr", "result": "positive"})
    assert colour(session, person)[0] == "red"


@pytest.mark.parametrize(("days", "expected"), [(1, "green"), (180, "green"), (181, "red")])
def test_recovery_lasts_180_days(session: Session, days: int, expected: str) -> None:
    person = make_person(session)
    fact(session, person, "case_confirmed", (days + 14) * DAY)
    fact(session, person, "case_recovered", days * DAY)
    assert colour(session, person)[0] == expected


def test_a_confirmed_case_is_red_until_recovered_whatever_the_doses(session: Session) -> None:
    person = make_person(session)
    fact(session, person, "vaccination_dose", 60 * DAY, FULL)
    fact(session, person, "case_confirmed", 3 * DAY)
    assert colour(session, person) == ("red", "Confirmed case, not yet recovered")
    # Before the case was confirmed, the same person was green.
    assert colour(session, person, NOW - 4 * DAY)[0] == "green"
    fact(session, person, "case_recovered", -5 * DAY)  # recovers five days from now
    assert colour(session, person, NOW + 5 * DAY)[0] == "green"


def test_isolation_and_quarantine_are_red_until_they_end(session: Session) -> None:
    isolated, quarantined = make_person(session), make_person(session)
    fact(session, isolated, "isolation_started", 2 * DAY)
    fact(session, quarantined, "vaccination_dose", 60 * DAY, FULL)
    fact(session, quarantined, "quarantine_started", 2 * DAY)
    assert colour(session, isolated) == ("red", "In isolation")
    assert colour(session, quarantined) == ("red", "Contact in quarantine")
    fact(session, quarantined, "quarantine_ended", HOUR)
    assert colour(session, quarantined)[0] == "green"
    # A second quarantine after the first ended is open again.
    fact(session, quarantined, "quarantine_started", HOUR / 2)
    assert colour(session, quarantined)[0] == "red"


def test_facts_after_the_moment_asked_about_do_not_count(session: Session) -> None:
    person = make_person(session)
    fact(session, person, "test_result", -HOUR, PCR_NEGATIVE)
    assert colour(session, person)[0] == "red"
    assert colour(session, person, NOW + 2 * HOUR)[0] == "yellow"


def test_status_needs_an_aware_time_and_a_known_person(session: Session) -> None:
    import uuid

    person = make_person(session)
    with pytest.raises(Invalid) as naive:
        status_for(session=session, person_id=person.id, at=NOW.replace(tzinfo=None))
    assert naive.value.field == "at"
    with pytest.raises(NotFound):
        status_for(session=session, person_id=uuid.uuid4(), at=NOW)


# Recording facts


def test_record_fact_is_idempotent_per_source_and_announces_the_change(session: Session) -> None:
    person = make_person(session, permanent_unit_code=PHUC_XA)
    first, created = record_fact(
        session=session,
        actor=SYSTEM,
        person_id=person.id,
        kind="vaccination_dose",
        occurred_at=NOW,
        value=FULL,
        source=("vaccination", "dose-1"),
    )
    again, created_again = record_fact(
        session=session,
        actor=SYSTEM,
        person_id=person.id,
        kind="vaccination_dose",
        occurred_at=NOW,
        value=FULL,
        source=("vaccination", "dose-1"),
    )
    assert (created, created_again, again.id) == (True, False, first.id)
    announced = session.scalars(
        select(OutboxEvent).where(
            OutboxEvent.topic == STATUS_CHANGED, OutboxEvent.unit_code == PHUC_XA
        )
    ).all()
    assert [e.payload for e in announced] == [{"person_id": str(person.id)}]
    assert len(audit_entries(session, action="create", object_id=first.id)) == 1


@pytest.mark.parametrize(
    ("kind", "value", "field"),
    [
        ("vaccine", None, "kind"),
        ("vaccination_dose", {"dose_number": 0}, "value.dose_number"),
        ("vaccination_dose", {"dose_number": True}, "value.dose_number"),
        ("vaccination_dose", {"full_course": "yes"}, "value.full_course"),
        ("test_result", {"method": "smell"}, "value.method"),
        ("case_confirmed", {"severity": "mild"}, "value.severity"),
    ],
)
def test_bad_facts_name_the_field(
    session: Session, kind: str, value: dict[str, object] | None, field: str
) -> None:
    person = make_person(session)
    with pytest.raises(Invalid) as caught:
        record_fact(
            session=session,
            actor=SYSTEM,
            person_id=person.id,
            kind=kind,
            occurred_at=NOW,
            value=value,
        )
    assert caught.value.field == field


def test_facts_of_a_merged_record_go_to_the_survivor(session: Session) -> None:
    survivor, duplicate = make_person(session), make_person(session)
    duplicate.merged_into_id = survivor.id
    session.flush()
    recorded = fact(session, duplicate, "vaccination_dose", 20 * DAY, FULL)
    assert recorded.person_id == survivor.id
    assert colour(session, duplicate)[0] == "green"


def test_times_beyond_utc_are_a_422_not_a_crash(session: Session) -> None:
    person = make_person(session)
    edge = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))
    with pytest.raises(Invalid) as caught:
        record_fact(
            session=session,
            actor=SYSTEM,
            person_id=person.id,
            kind="case_confirmed",
            occurred_at=edge,
        )
    assert caught.value.field == "occurred_at"


# Rule sets


def quarantine_yellow() -> list[dict[str, Any]]:
    changed = copy.deepcopy(rules.DEFAULT_RULES)
    changed[2]["colour"] = "yellow"
    return changed


def test_the_default_rules_are_valid_data() -> None:
    assert rules.validate_rules(rules.DEFAULT_RULES) == rules.DEFAULT_RULES


def test_a_province_rule_set_overrides_the_default_for_its_people(session: Session) -> None:
    ha_noi_person = make_person(session, permanent_unit_code=TRUC_BACH)
    hcm_person = make_person(session, permanent_unit_code=TAN_DINH)
    for person in (ha_noi_person, hcm_person):
        fact(session, person, "quarantine_started", DAY)
    published = publish_rules(
        session=session, actor=SYSTEM, province_code=HA_NOI, rules=quarantine_yellow()
    )
    assert (published.province_code, published.version) == (HA_NOI, 1)
    assert colour(session, ha_noi_person) == ("yellow", "Contact in quarantine")
    assert colour(session, hcm_person) == ("red", "Contact in quarantine")


def test_new_versions_never_change_old_ones(session: Session) -> None:
    person = make_person(session, permanent_unit_code=TAN_DINH)
    fact(session, person, "quarantine_started", DAY)
    first = publish_rules(
        session=session, actor=SYSTEM, province_code=HCM, rules=quarantine_yellow()
    )
    second = publish_rules(
        session=session, actor=SYSTEM, province_code=HCM, rules=rules.DEFAULT_RULES
    )
    assert (first.version, second.version) == (1, 2)
    assert status_for(session=session, person_id=person.id, at=NOW).rules_version == 2
    assert colour(session, person)[0] == "red"
    session.expire_all()
    assert session.get_one(ColourRuleSet, first.id).rules[2]["colour"] == "yellow"
    assert [r.version for r in list_rules(session=session, province_code=HCM)] == [2, 1]


def test_the_default_is_installed_once_and_new_defaults_follow_it(session: Session) -> None:
    assert [r.version for r in list_rules(session=session, province_code=None)] == [1]
    publish_rules(session=session, actor=SYSTEM, province_code=None, rules=quarantine_yellow())
    assert [r.version for r in list_rules(session=session, province_code=None)] == [2, 1]


def test_who_may_publish(session: Session) -> None:
    _, province_officer = make_user(session, Role.PROVINCE_OFFICER, HA_NOI)
    _, commune_officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    rules_data = quarantine_yellow()
    published = publish_rules(
        session=session, actor=province_officer, province_code=HA_NOI, rules=rules_data
    )
    assert published.created_by == province_officer.username
    with pytest.raises(Invalid) as other_province:
        publish_rules(session=session, actor=province_officer, province_code=HCM, rules=rules_data)
    assert other_province.value.field == "province"
    with pytest.raises(Invalid):
        publish_rules(session=session, actor=province_officer, province_code=None, rules=rules_data)
    with pytest.raises(Forbidden):
        publish_rules(
            session=session, actor=commune_officer, province_code=HA_NOI, rules=rules_data
        )


def bad(index: int, **changes: object) -> list[dict[str, Any]]:
    changed = copy.deepcopy(rules.DEFAULT_RULES)
    changed[index].update(changes)
    return changed


def with_condition(index: int, **changes: object) -> list[dict[str, Any]]:
    changed = copy.deepcopy(rules.DEFAULT_RULES)
    changed[index]["if"].update(changes)
    return changed


@pytest.mark.parametrize(
    ("rule_set", "field"),
    [
        ([], "rules"),
        ("green", "rules"),
        (bad(0, colour="blue"), "rules.0.colour"),
        (bad(1, reason=""), "rules.1.reason"),
        (bad(1, extra=1), "rules.1.extra"),
        (with_condition(0, fact="vaccine"), "rules.0.if.fact"),
        (with_condition(0, open_until="vaccine"), "rules.0.if.open_until"),
        (with_condition(4, at_least_ago="14 days"), "rules.4.if.at_least_ago"),
        (with_condition(4, at_least_ago="0d"), "rules.4.if.at_least_ago"),
        (with_condition(7, within=72), "rules.7.if.within"),
        (with_condition(7, where={"method": "smell"}), "rules.7.if.where.method"),
        (with_condition(7, at_least_ago="1d"), "rules.7.if"),
        (rules.DEFAULT_RULES[:-1], "rules.7"),
    ],
)
def test_bad_rule_sets_name_the_field(session: Session, rule_set: object, field: str) -> None:
    with pytest.raises(Invalid) as caught:
        publish_rules(session=session, actor=SYSTEM, province_code=HA_NOI, rules=rule_set)
    assert caught.value.field == field


# The API


@pytest.fixture
def phuc_xa_officer(session: Session) -> dict[str, str]:
    user, _ = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    return bearer(session, user)


def test_facts_api_records_once_and_status_follows(
    client: TestClient, session: Session, phuc_xa_officer: dict[str, str]
) -> None:
    person = make_person(session, permanent_unit_code=PHUC_XA)
    body = {
        "kind": "test_result",
        "occurred_at": datetime.now(UTC).isoformat(),
        "value": PCR_NEGATIVE,
        "source_id": "slip-42",
    }
    created = client.post(f"/api/persons/{person.id}/facts", json=body, headers=phuc_xa_officer)
    assert created.status_code == 201, created.text
    again = client.post(f"/api/persons/{person.id}/facts", json=body, headers=phuc_xa_officer)
    assert (again.status_code, again.json()["id"]) == (200, created.json()["id"])
    found = client.get(f"/api/persons/{person.id}/status", headers=phuc_xa_officer)
    assert found.json()["colour"] == "yellow"
    assert audit_entries(session, action="read", object_id=person.id)[-1].object_type == (
        "health_status"
    )


def test_facts_api_bad_input_is_a_422_with_the_field(
    client: TestClient, session: Session, phuc_xa_officer: dict[str, str]
) -> None:
    person = make_person(session, permanent_unit_code=PHUC_XA)
    url = f"/api/persons/{person.id}/facts"
    naive = {"kind": "case_confirmed", "occurred_at": "2021-09-01T08:00:00"}
    answer = client.post(url, json=naive, headers=phuc_xa_officer)
    assert (answer.status_code, answer.json()["field"]) == (422, "occurred_at")
    unknown = {"kind": "haircut", "occurred_at": "2021-09-01T08:00:00Z"}
    answer = client.post(url, json=unknown, headers=phuc_xa_officer)
    assert (answer.status_code, answer.json()["field"]) == (422, "kind")


def test_another_communes_officer_gets_404(client: TestClient, session: Session) -> None:
    person = make_person(session, permanent_unit_code=PHUC_XA)
    user, _ = make_user(session, Role.COMMUNE_OFFICER, TRUC_BACH)
    other = bearer(session, user)
    body = {"kind": "case_confirmed", "occurred_at": "2021-09-01T08:00:00Z"}
    assert client.post(f"/api/persons/{person.id}/facts", json=body, headers=other).status_code == (
        404
    )
    assert client.get(f"/api/persons/{person.id}/status", headers=other).status_code == 404


def test_colour_rules_api(client: TestClient, session: Session) -> None:
    user, _ = make_user(session, Role.PROVINCE_OFFICER, HCM)
    officer = bearer(session, user)
    published = client.post(
        "/api/colour-rules", json={"province": HCM, "rules": quarantine_yellow()}, headers=officer
    )
    assert published.status_code == 201, published.text
    assert published.json()["version"] == 1
    listed = client.get("/api/colour-rules", params={"province": HCM}, headers=officer).json()
    assert [r["version"] for r in listed] == [1]
    default = client.get("/api/colour-rules", headers=officer).json()
    assert default[-1]["rules"] == rules.DEFAULT_RULES
    broken = with_condition(4, at_least_ago="two weeks")
    refused = client.post(
        "/api/colour-rules", json={"province": HCM, "rules": broken}, headers=officer
    )
    assert (refused.status_code, refused.json()["field"]) == (422, "rules.4.if.at_least_ago")
    unknown = client.get("/api/colour-rules", params={"province": PHUC_XA}, headers=officer)
    assert (unknown.status_code, unknown.json()["field"]) == (422, "province")
