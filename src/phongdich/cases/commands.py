"""`phongdich cases …` and `phongdich trace`: open a case and trace it from the console."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

cases_app = typer.Typer(help="F0 cases, tracing, quarantine and zone levels.", no_args_is_help=True)


def _time(text: str, field: str) -> datetime:
    from phongdich.errors import Invalid

    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(field, "an ISO 8601 time such as 2021-09-10T08:00:00+07:00") from None
    if value.tzinfo is None:
        raise Invalid(field, "a time with its UTC offset, such as 2021-09-10T08:00:00+07:00")
    return value


@contextmanager
def _transaction() -> Iterator[Session]:
    from phongdich import cli

    with cli.transaction() as session:
        yield session


@cases_app.command("open")
def open_case(
    document: Annotated[str, typer.Option(help="The person's CCCD, CMND or passport number.")],
    reference_time: Annotated[
        str, typer.Option(help="Symptom onset, else the first positive sample (ISO 8601).")
    ],
    symptom_onset: Annotated[
        bool, typer.Option(help="The reference time is symptom onset, not a sample.")
    ] = False,
    source: Annotated[
        str | None, typer.Option(help="community, quarantine or imported (default: found).")
    ] = None,
    severity: Annotated[str, typer.Option(help="asymptomatic … critical.")] = "mild",
) -> None:
    """Open an F0 case and trace it at once."""
    from phongdich import cli
    from phongdich.auth.actor import system_actor
    from phongdich.cases import service, tracing
    from phongdich.persons.service import find_by_document

    actor = system_actor()
    with cli.cli_errors(), _transaction() as session:
        person = find_by_document(session=session, actor=actor, number=document)
        case, created = service.open_case(
            session=session,
            actor=actor,
            person_id=person.id,
            reference_time=_time(reference_time, "reference_time"),
            reference_kind="symptom_onset" if symptom_onset else "first_positive",
            source=source,
            severity=severity,
        )
        result = tracing.trace(session=session, actor=actor, case=case)
        f1 = sum(1 for c in result.contacts if c.degree == 1)
        summary = (
            f"case {case.code} {'opened' if created else 'was already open'} "
            f"({case.source}); F1 {f1}, F2 {len(result.contacts) - f1}"
        )
    cli.console.print(summary, highlight=False, soft_wrap=True)


def trace(
    document: Annotated[str, typer.Option(help="The F0's CCCD, CMND or passport number.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Trace the person's open case again (adds only what is new) and list its contacts."""
    from sqlalchemy import select

    from phongdich import cli
    from phongdich.auth.actor import system_actor
    from phongdich.cases import report, service, tracing
    from phongdich.cases.models import Case
    from phongdich.errors import NotFound
    from phongdich.persons.service import find_by_document

    actor = system_actor()
    with cli.cli_errors(), _transaction() as session:
        person = find_by_document(session=session, actor=actor, number=document)
        case = session.scalar(
            select(Case)
            .where(Case.person_id == person.id)
            .order_by(Case.outcome.is_not(None), Case.opened_at.desc())
            .limit(1)
        )
        if case is None:
            raise NotFound("case of this person")
        result = tracing.trace(session=session, actor=actor, case=case)
        views = service.contacts_of(session=session, actor=actor, case=case)
        data = report.trace_data(session, result, views)
    if as_json:
        typer.echo(json.dumps(report.contact_list(data), ensure_ascii=False))
        return
    cli.console.print(
        f"case {data['case']['code']} (policy {data['policy']['version']}): "
        f"{len(data['contacts'])} contacts, {data['new_contacts']} new",
        highlight=False,
        soft_wrap=True,
    )
    for contact in data["contacts"]:
        places = ", ".join(
            e["venue_code"] or e["vehicle_plate"] or e["via"] for e in contact["exposures"]
        )
        cli.console.print(
            f"  F{contact['degree']} {contact['full_name']} — {places}",
            highlight=False,
            soft_wrap=True,
        )


@cases_app.command("daily")
def daily(
    day: Annotated[
        str | None, typer.Option(help="The day for zone levels (default today).")
    ] = None,
) -> None:
    """Release finished quarantines and compute the day's zone levels (the worker does this)."""
    from phongdich import cli
    from phongdich.auth.actor import system_actor
    from phongdich.cases import quarantine, zones
    from phongdich.db import utcnow
    from phongdich.errors import Invalid

    actor = system_actor()
    with cli.cli_errors():
        try:
            chosen = date.fromisoformat(day) if day else zones.today()
        except ValueError:
            raise Invalid("day", "a date such as 2021-09-13") from None
        with _transaction() as session:
            released = quarantine.release_due(session, actor, utcnow())
            zones.compute(session=session, actor=actor, day=chosen)
            counts = [0, 0, 0, 0]
            for unit in zones.levels(session=session, actor=actor, day=chosen):
                if unit.row is not None:
                    counts[unit.row.level - 1] += 1
    cli.console.print(
        f"{released} quarantine orders released; zone levels for {chosen.isoformat()}: "
        + ", ".join(f"level {n + 1}: {c}" for n, c in enumerate(counts)),
        highlight=False,
        soft_wrap=True,
    )
