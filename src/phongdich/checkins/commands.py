"""`phongdich checkins …`: paper-log upload and the retention purge from the console."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

checkins_app = typer.Typer(help="Check-ins at venues.", no_args_is_help=True)


@checkins_app.command("import")
def checkins_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV venue_code,document_number,full_name,phone,checkin_at,checkout_at"
        ),
    ],
) -> None:
    """Upload a paper logbook; bad rows are reported, a second upload adds nothing twice."""
    from phongdich import cli
    from phongdich.auth.actor import system_actor
    from phongdich.checkins.paper import import_paper_log

    db = cli.database()
    with cli.cli_errors(), db.transaction() as session:
        report = import_paper_log(session=session, actor=system_actor(), source=file)
    cli.print_report(report, "check-in rows")
    cli.console.print(f"people registered from the log: {report.people_registered}")
    if report.errors:
        raise typer.Exit(1)


@checkins_app.command("purge")
def checkins_purge(
    now: Annotated[
        str | None,
        typer.Option(help="Act as if it were this time (ISO 8601); default now."),
    ] = None,
) -> None:
    """Delete check-ins older than the retention window (PHONGDICH_CHECKIN_RETENTION_DAYS)."""
    from phongdich import cli
    from phongdich.checkins.jobs import purge_expired, retention_cutoff

    at: datetime | None = None
    if now is not None:
        try:
            at = datetime.fromisoformat(now.replace("Z", "+00:00"))
        except ValueError:
            raise cli.fail(f"--now: not an ISO 8601 time: {now!r}") from None
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
    try:
        cutoff = retention_cutoff(at or datetime.now(UTC)).astimezone(UTC)
    except OverflowError:  # a window reaching before the year 1
        raise cli.fail(f"--now: too early for the retention window: {now!r}") from None
    db = cli.database()
    with cli.cli_errors():
        deleted = purge_expired(db, now=at)
    cli.console.print(f"{deleted} check-ins older than {cutoff.isoformat()} deleted")
