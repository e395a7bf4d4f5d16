"""Colour rules that look at the zone level of the unit a person lives in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import system_actor
from phongdich.credentials import rules
from phongdich.credentials.status import publish_rules, record_fact, status_for
from phongdich.errors import Invalid
from tests.factories import HA_NOI, PHUC_XA, TRUC_BACH, make_person

NOW = datetime(2021, 10, 1, 8, 0, tzinfo=UTC)
SYSTEM = system_actor("tests")
FULL = {"dose_number": 2, "full_course": True}

# Fully vaccinated people of a red zone (level 4) get yellow, not green.
RED_ZONE_RULES = [
    rules.DEFAULT_RULES[0],
    {
        "colour": "yellow",
        "reason": "Lives in a zone of level 4",
        "if": {"zone_level_at_least": 4},
    },
    *rules.DEFAULT_RULES[1:],
]


def test_a_zone_condition_follows_the_level_of_the_home_unit(session: Session) -> None:
    publish_rules(session=session, actor=SYSTEM, province_code=HA_NOI, rules=RED_ZONE_RULES)
    in_red, elsewhere = (make_person(session, permanent_unit_code=u) for u in (PHUC_XA, TRUC_BACH))
    for person in (in_red, elsewhere):
        record_fact(
            session=session,
            actor=SYSTEM,
            person_id=person.id,
            kind="vaccination_dose",
            occurred_at=NOW - timedelta(days=30),
            value=FULL,
        )
    session.get_one(AdminUnit, PHUC_XA).zone_level = 4
    session.get_one(AdminUnit, TRUC_BACH).zone_level = 3
    session.flush()
    assert status_for(session=session, person_id=in_red.id, at=NOW).colour == "yellow"
    assert status_for(session=session, person_id=elsewhere.id, at=NOW).colour == "green"
    # The level drops: the same person is green again.
    session.get_one(AdminUnit, PHUC_XA).zone_level = 2
    session.flush()
    assert status_for(session=session, person_id=in_red.id, at=NOW).colour == "green"


def test_a_unit_without_a_level_never_matches() -> None:
    condition = {"zone_level_at_least": 1}
    assert not rules.holds(condition, [], NOW, None)
    assert rules.holds(condition, [], NOW, 1)


@pytest.mark.parametrize(
    ("condition", "field"),
    [
        ({"zone_level_at_least": 5}, "rules.0.if.zone_level_at_least"),
        ({"zone_level_at_least": True}, "rules.0.if.zone_level_at_least"),
        ({"zone_level_at_least": 3, "fact": "case_confirmed"}, "rules.0.if"),
    ],
)
def test_bad_zone_conditions_name_the_field(condition: object, field: str) -> None:
    rule_set = [
        {"colour": "red", "reason": "x", "if": condition},
        {"colour": "green", "reason": "y"},
    ]
    with pytest.raises(Invalid) as caught:
        rules.validate_rules(rule_set)
    assert caught.value.field == field
