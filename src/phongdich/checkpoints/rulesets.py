"""Publishing entry rules: versioned per scope (default, a checkpoint, a destination unit).

A version is never changed; stations fetch the latest of every scope that can apply to them
and choose among them offline (`entry_rules.choose`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth import audit
from phongdich.auth.actor import Actor, covers
from phongdich.auth.roles import Permission
from phongdich.checkpoints import entry_rules
from phongdich.checkpoints.models import Checkpoint, EntryRuleSet
from phongdich.checkpoints.registry import managed_checkpoint
from phongdich.errors import Conflict, Forbidden, Invalid, NotFound
from phongdich.text import clean_name

DEFAULT_SCOPE = "default"


@dataclass(frozen=True)
class Scope:
    """Where a rule set applies: the default, one checkpoint, or one destination unit."""

    key: str
    checkpoint: Checkpoint | None = None
    unit: AdminUnit | None = None


def resolve_scope(session: Session, actor: Actor, scope: str) -> Scope:
    """'default', 'checkpoint:<code>' or 'unit:<code>', checked against the jurisdiction."""
    scope = (scope or "").strip()
    if scope == DEFAULT_SCOPE:
        return Scope(DEFAULT_SCOPE)
    kind, _, code = scope.partition(":")
    if kind == "checkpoint" and code:
        checkpoint = managed_checkpoint(session, actor, code)
        return Scope(f"checkpoint:{checkpoint.code}", checkpoint=checkpoint)
    if kind == "unit" and code:
        unit = session.get(AdminUnit, code.strip())
        if unit is None or not covers(actor, unit.path):
            raise NotFound("admin unit", code)
        return Scope(f"unit:{unit.code}", unit=unit)
    raise Invalid("scope", "default, checkpoint:<code> or unit:<code>")


def latest(session: Session, scope: str) -> EntryRuleSet | None:
    return session.scalar(
        select(EntryRuleSet)
        .where(EntryRuleSet.scope == scope)
        .order_by(EntryRuleSet.version.desc())
        .limit(1)
    )


def versions(session: Session, scope: str) -> list[EntryRuleSet]:
    return list(
        session.scalars(
            select(EntryRuleSet)
            .where(EntryRuleSet.scope == scope)
            .order_by(EntryRuleSet.version.desc())
        )
    )


def publish(
    *, session: Session, actor: Actor, scope: str, rules: object, note: str = ""
) -> EntryRuleSet:
    """Validate and publish the next version of a scope's rules."""
    actor.require(Permission.CHECKPOINTS_MANAGE)
    where = resolve_scope(session, actor, scope)
    if where.key == DEFAULT_SCOPE and not actor.nationwide:
        raise Forbidden("only a national administrator may change the default entry rules")
    checked = entry_rules.validate_rules(rules)
    current = latest(session, where.key)
    if current is not None and current.rules == checked:
        return current  # a form sent twice publishes once
    version = (
        session.scalar(
            select(func.max(EntryRuleSet.version)).where(EntryRuleSet.scope == where.key)
        )
        or 0
    ) + 1
    rule_set = EntryRuleSet(
        scope=where.key,
        version=version,
        checkpoint_id=where.checkpoint.id if where.checkpoint else None,
        unit_code=where.unit.code if where.unit else None,
        rules=checked,
        note=clean_name(note)[:300],
        published_by=actor.username[:64],
    )
    try:
        with session.begin_nested():
            session.add(rule_set)
            session.flush()
    except IntegrityError:
        raise Conflict("another version was published at the same moment; try again") from None
    audit.record(
        session,
        actor,
        "create",
        "entry_rules",
        rule_set.id,
        unit_code=where.unit.code
        if where.unit
        else (where.checkpoint.unit_code if where.checkpoint else None),
        detail=f"{where.key} v{version}",
    )
    return rule_set


def as_published(rule_set: EntryRuleSet | None) -> dict[str, Any]:
    if rule_set is None:
        return {"version": 0, "rules": entry_rules.DEFAULT_RULES, "published_at": None}
    return {
        "version": rule_set.version,
        "rules": rule_set.rules,
        "published_at": rule_set.published_at.isoformat(),
        "published_by": rule_set.published_by,
        "note": rule_set.note,
    }


def for_station(session: Session, checkpoint: Checkpoint) -> dict[str, dict[str, Any]]:
    """The latest set of every scope a station of this checkpoint may need: the default, its
    own, and every unit inside the checkpoint's province (travellers may go anywhere in it)."""
    unit = session.get(AdminUnit, checkpoint.unit_code)
    province = unit.path.split("/")[0] if unit else ""
    newest = (
        select(EntryRuleSet.scope, func.max(EntryRuleSet.version).label("version"))
        .group_by(EntryRuleSet.scope)
        .subquery()
    )
    rows = session.scalars(
        select(EntryRuleSet).join(
            newest,
            (newest.c.scope == EntryRuleSet.scope) & (newest.c.version == EntryRuleSet.version),
        )
    )
    found: dict[str, dict[str, Any]] = {DEFAULT_SCOPE: as_published(None)}
    for rule_set in rows:
        if rule_set.scope == DEFAULT_SCOPE or rule_set.checkpoint_id == checkpoint.id:
            found[rule_set.scope] = as_published(rule_set)
        elif rule_set.unit_code is not None:
            target = session.get(AdminUnit, rule_set.unit_code)
            if target is not None and (
                target.path == province or target.path.startswith(province + "/")
            ):
                found[rule_set.scope] = as_published(rule_set)
    return found
