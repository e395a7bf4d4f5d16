"""The entry rules editor: a scope's current rules as JSON, a preview of their verdicts for
sample travellers next to the published ones, publishing with a note, and the history.

Preview and publish read the same form: an official previews, corrects, previews again and
publishes what they saw. Nothing is published by a preview.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.checkpoints import entry_rules, registry, rule_preview, rulesets
from phongdich.config import Settings
from phongdich.db import utcnow
from phongdich.deps import ActorDep, SessionDep
from phongdich.errors import Conflict, Forbidden, Invalid
from phongdich.web.forms import FormValues
from phongdich.web.reasons import N_
from phongdich.web.templating import render

router = APIRouter(include_in_schema=False)

VERDICT_LABELS = {
    entry_rules.PASS: N_("Pass"),
    entry_rules.CONDITIONAL: N_("Pass with conditions"),
    entry_rules.TURN_BACK: N_("Turn back"),
}
MAX_RULES_TEXT = 100_000
# The rule language's tests as officials read them (the JSON keeps the English keys).
TEST_LABELS = {
    "credential": N_("credential shown"),
    "status": N_("case or in quarantine"),
    "colour": N_("pass colour"),
    "resident_of_destination": N_("resident of the destination"),
    "invited": N_("invited by the destination"),
    "transfer": N_("transfer manifest"),
    "origin_zone_level_at_least": N_("origin zone level at least"),
    "origin_zone_level_at_most": N_("origin zone level at most"),
    "vaccinated_at_least_ago": N_("fully vaccinated at least ago"),
    "negative_pcr_within": N_("negative PCR within"),
    "negative_rapid_within": N_("negative rapid test within"),
    "recovered_within": N_("recovered within"),
    "rapid_test": N_("rapid test at the lane"),
    "lane": N_("lane"),
    "any": N_("any of"),
}


def readable(condition: object) -> list[tuple[str, str]]:
    """A condition as (test, value) pairs for the rules table; `any` lists its parts."""
    if not isinstance(condition, Mapping):
        return []
    pairs: list[tuple[str, str]] = []
    for key, value in condition.items():
        if key == "any" and isinstance(value, list):
            parts = [
                " & ".join(f"{k}={_shown(v)}" for k, v in part.items())
                for part in value
                if isinstance(part, Mapping)
            ]
            pairs.append((str(key), " | ".join(parts)))
        else:
            pairs.append((str(key), _shown(value)))
    return pairs


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def default_scope(actor: Actor) -> str:
    if actor.nationwide or not actor.unit_code:
        return rulesets.DEFAULT_SCOPE
    return f"unit:{actor.unit_code}"


def scope_choices(session: Session, actor: Actor) -> list[str]:
    """The scopes the actor may open: the default, their unit, each of their checkpoints."""
    choices = [rulesets.DEFAULT_SCOPE]
    if actor.unit_code:
        choices.append(f"unit:{actor.unit_code}")
    choices += [f"checkpoint:{c.code}" for c in registry.checkpoints_of(session, actor)]
    return choices


def parse_rules(text: str) -> object:
    """The textarea's JSON, or a reason naming where it breaks."""
    if not text.strip():
        raise Invalid("rules", "required")
    if len(text) > MAX_RULES_TEXT:
        raise Invalid("rules", "too long")
    try:
        return json.loads(text)
    except RecursionError:
        raise Invalid("rules", "nested too deep") from None
    except ValueError as exc:
        line, column = getattr(exc, "lineno", 0), getattr(exc, "colno", 0)
        raise Invalid("rules", f"not valid JSON (line {line}, column {column})") from None


def _published(session: Session, scope: str) -> tuple[str, Mapping[str, Any]]:
    """What applies in this scope today: its own latest, else the default's."""
    own = rulesets.latest(session, scope)
    if own is not None:
        return scope, rulesets.as_published(own)
    return rulesets.DEFAULT_SCOPE, rulesets.as_published(
        rulesets.latest(session, rulesets.DEFAULT_SCOPE)
    )


def _pair(
    published: list[rule_preview.PreviewRow], edited: list[rule_preview.PreviewRow] | None
) -> list[tuple[rule_preview.PreviewRow, rule_preview.PreviewRow | None]]:
    """Each sample's verdict under the published rules beside the edited ones (if previewed)."""
    others: list[rule_preview.PreviewRow | None] = list(edited or []) or [None] * len(published)
    return list(zip(published, others, strict=True))


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    scope: rulesets.Scope,
    *,
    text: str | None = None,
    note: str = "",
    errors: dict[str, str] | None = None,
    preview: list[rule_preview.PreviewRow] | None = None,
    status_code: int = 200,
) -> Response:
    settings: Settings = request.app.state.settings
    published_scope, published = _published(session, scope.key)
    now = utcnow()
    _, published_rows = rule_preview.preview(published["rules"], now, None, settings.tz)
    return render(
        request,
        "checkpoints/rules_editor.html",
        {
            "scope": scope.key,
            "scopes": scope_choices(session, actor),
            "text": text
            if text is not None
            else json.dumps(published["rules"], ensure_ascii=False, indent=2),
            "note": note,
            "errors": errors or {},
            "published_scope": published_scope,
            "published": published,
            "rows": _pair(published_rows, preview),
            "previewed": preview is not None,
            "versions": rulesets.versions(session, scope.key),
            "verdict_labels": VERDICT_LABELS,
            "test_labels": TEST_LABELS,
            "readable": readable,
            "may_publish": actor.can(Permission.CHECKPOINTS_MANAGE)
            and (scope.key != rulesets.DEFAULT_SCOPE or actor.nationwide),
        },
        status_code=status_code,
    )


@router.get("/checkpoints/rules", response_class=HTMLResponse)
def rules_editor(
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    scope: str | None = None,
    version: str | None = None,
) -> Response:
    """The scope's rules; `version` loads an older one into the editor (to publish it again)."""
    actor.require(Permission.CHECKPOINTS_RECORD)
    where = rulesets.resolve_scope(session, actor, (scope or default_scope(actor))[:60])
    text = None
    if version and version.isascii() and version.isdigit() and len(version) < 7:
        old = next(
            (v for v in rulesets.versions(session, where.key) if v.version == int(version)), None
        )
        if old is not None:
            text = json.dumps(old.rules, ensure_ascii=False, indent=2)
    return _page(request, session, actor, where, text=text)


@router.post("/checkpoints/rules", response_class=HTMLResponse)
def rules_post(
    request: Request, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    """Preview (action=preview) or publish (action=publish) the edited rules."""
    actor.require(Permission.CHECKPOINTS_RECORD)
    where = rulesets.resolve_scope(session, actor, values.get("scope", "")[:60])
    text = values.get("rules", "")
    note = values.get("note", "")[:300]
    settings: Settings = request.app.state.settings
    try:
        rules = parse_rules(text)
        if values.get("action") == "publish":
            with session.begin_nested():
                published = rulesets.publish(
                    session=session, actor=actor, scope=where.key, rules=rules, note=note
                )
            return RedirectResponse(
                f"/checkpoints/rules?scope={published.scope}&notice=published",
                status_code=303,
            )
        _, rows = rule_preview.preview(rules, utcnow(), None, settings.tz)
    except Invalid as exc:
        return _page(
            request,
            session,
            actor,
            where,
            text=text[:MAX_RULES_TEXT],
            note=note,
            errors={"rules": exc.reason, "where": exc.field},
            status_code=exc.status_code,
        )
    except (Forbidden, Conflict) as exc:
        return _page(
            request,
            session,
            actor,
            where,
            text=text[:MAX_RULES_TEXT],
            note=note,
            errors={"rules": exc.message},
            status_code=exc.status_code,
        )
    return _page(request, session, actor, where, text=text, note=note, preview=rows)
