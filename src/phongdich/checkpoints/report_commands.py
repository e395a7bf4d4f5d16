"""`phongdich checkpoints report`: a day's checkpoint report from the console, stored first.

Registered on `checkpoints_app` in `commands.py`:
`checkpoints_app.command("report")(report_commands.report)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def report(
    day: Annotated[str, typer.Option(help="The local day, YYYY-MM-DD.")],
    unit: Annotated[
        str | None, typer.Option(help="An admin unit code (default: the whole country).")
    ] = None,
    xlsx: Annotated[Path | None, typer.Option(help="Write the report as XLSX here.")] = None,
    pdf: Annotated[Path | None, typer.Option(help="Write the report as PDF here.")] = None,
) -> None:
    """Recompute the day's reports of the unit's checkpoints and print the figures."""
    from phongdich import cli
    from phongdich.auth.actor import system_actor
    from phongdich.checkpoints import exports, reports
    from phongdich.checkpoints.models import Checkpoint

    actor = system_actor()
    with cli.cli_errors():
        chosen = reports.parse_day(day)
        db = cli.database()
        try:
            with db.transaction() as session:
                found = reports.unit_report(
                    session=session, actor=actor, unit_code=unit, day=chosen
                )
                for item in found.checkpoints:
                    reports.store(session, session.get_one(Checkpoint, item.checkpoint.id), chosen)
            with db.transaction() as session:
                found = reports.unit_report(
                    session=session, actor=actor, unit_code=unit, day=chosen
                )
        finally:
            db.dispose()
        try:
            if xlsx is not None:
                xlsx.write_bytes(exports.to_xlsx(found, "vi"))
            if pdf is not None:
                pdf.write_bytes(exports.to_pdf(found, "vi"))
        except OSError as exc:
            raise cli.fail(f"cannot write the export: {exc.strerror or exc}") from None
    where = found.unit.name if found.unit is not None else "whole country"
    figures = found.totals
    cli.console.print(
        f"{where} {chosen.isoformat()}: {len(found.checkpoints)} checkpoints", highlight=False
    )
    for label, path in exports.FIGURE_ROWS:
        cli.console.print(f"  {label}: {exports.value(figures, path)}", highlight=False)
    cli.console.print("  " + reports.risk_line(figures, "en"), highlight=False, soft_wrap=True)
    for name, written in (("XLSX", xlsx), ("PDF", pdf)):
        if written is not None:
            cli.console.print(f"{name} written to {written}", highlight=False, soft_wrap=True)
