"""The tracing policy: every number of the rules as data, versioned.

Version 1 is the default below (the Ministry of Health's 2021 rules); officials publish new
versions, and every case records the version it was traced by, so a contact list can always be
explained by the rules that made it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from phongdich.auth import audit
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission, Role
from phongdich.cases.models import TracingPolicy
from phongdich.errors import Forbidden, Invalid

PLACES = ("home", "facility", "hotel")


@dataclass(frozen=True)
class Policy:
    version: int = 1
    # The infectious window opens this long before the reference time (symptoms or sample).
    window_before_hours: int = 48
    # Two visits at one venue make a contact when they overlap at least this long.
    min_overlap_minutes: int = 15
    trace_household: bool = True
    trace_vehicle: bool = True
    trace_f2: bool = True
    quarantine_days: int = 14
    quarantine_place: str = "home"
    # Days after the last exposure on which a quarantined F1 is tested.
    quarantine_test_days: tuple[int, ...] = (1, 7, 14)
    monitoring_days: int = 14
    monitoring_test_days: tuple[int, ...] = field(default_factory=tuple)

    @property
    def window_before(self) -> timedelta:
        return timedelta(hours=self.window_before_hours)

    @property
    def min_overlap(self) -> timedelta:
        return timedelta(minutes=self.min_overlap_minutes)

    def rules(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("version")
        data["quarantine_test_days"] = list(self.quarantine_test_days)
        data["monitoring_test_days"] = list(self.monitoring_test_days)
        return data

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.version, **self.rules()}


DEFAULT = Policy()
_INTS = {
    "window_before_hours": (0, 24 * 30),
    "min_overlap_minutes": (1, 24 * 60),
    "quarantine_days": (1, 60),
    "monitoring_days": (0, 60),
}
_BOOLS = ("trace_household", "trace_vehicle", "trace_f2")
_DAYS = ("quarantine_test_days", "monitoring_test_days")


def check(rules: Mapping[str, object], version: int) -> Policy:
    """A policy from data, every name known and every number in range (field named if not)."""
    unknown = set(rules) - set(DEFAULT.rules())
    if unknown:
        raise Invalid(sorted(unknown)[0], "not a tracing policy setting")
    values: dict[str, Any] = DEFAULT.rules()
    values.update(rules)
    for name, (low, high) in _INTS.items():
        value = values[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise Invalid(name, f"a whole number from {low} to {high}")
    for name in _BOOLS:
        if not isinstance(values[name], bool):
            raise Invalid(name, "true or false")
    if values["quarantine_place"] not in PLACES:
        raise Invalid("quarantine_place", "one of " + ", ".join(PLACES))
    for name in _DAYS:
        days = values[name]
        limit = values["quarantine_days" if name.startswith("quarantine") else "monitoring_days"]
        if not isinstance(days, list | tuple) or not all(
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= limit for d in days
        ):
            raise Invalid(name, f"a list of days from 0 to {limit}")
        values[name] = tuple(sorted(set(days)))
    return Policy(version=version, **values)


def current(session: Session) -> Policy:
    """The latest published version, or the default when none was published."""
    row = session.scalars(
        select(TracingPolicy).order_by(TracingPolicy.version.desc()).limit(1)
    ).first()
    return DEFAULT if row is None else check(row.rules, row.version)


def version(session: Session, number: int) -> Policy:
    if number == DEFAULT.version and session.get(TracingPolicy, number) is None:
        return DEFAULT
    row = session.get(TracingPolicy, number)
    if row is None:
        return DEFAULT
    return check(row.rules, row.version)


def publish(*, session: Session, actor: Actor, rules: Mapping[str, object]) -> Policy:
    """A new version; provincial and national officials only (the rules bind every unit)."""
    actor.require(Permission.CASES_MANAGE)
    if actor.role not in (Role.NATIONAL_ADMIN, Role.PROVINCE_OFFICER):
        raise Forbidden("only province officers and national admins publish tracing policies")
    latest = session.scalar(select(func.max(TracingPolicy.version))) or DEFAULT.version
    policy = check(rules, latest + 1)
    try:
        with session.begin_nested():
            if session.get(TracingPolicy, DEFAULT.version) is None:
                session.add(
                    TracingPolicy(
                        version=DEFAULT.version, rules=DEFAULT.rules(), created_by="default"
                    )
                )
            session.add(
                TracingPolicy(
                    version=policy.version, rules=policy.rules(), created_by=actor.username[:64]
                )
            )
            session.flush()
    except IntegrityError:
        raise Invalid("version", "another version was published at the same time") from None
    audit.record(session, actor, "publish", "tracing_policy", policy.version)
    return policy
