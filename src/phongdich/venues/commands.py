"""`phongdich venues …`: bulk import of a unit's venue register, posters from the console."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

venues_app = typer.Typer(help="Venues and their QR posters.", no_args_is_help=True)


@venues_app.command("import")
def venues_import(
    file: Annotated[
        Path,
        typer.Argument(help="CSV code,name,category,unit_code,address,default_visit_minutes"),
    ],
) -> None:
    """Import venues; bad rows are reported with line and reason, good rows kept."""
    from phongdich import cli
    from phongdich.auth.actor import system_actor
    from phongdich.venues.importer import import_venues

    db = cli.database()
    with cli.cli_errors(), db.transaction() as session:
        report = import_venues(session=session, actor=system_actor(), source=file)
    cli.print_report(report, "venues")
    if report.errors:
        raise typer.Exit(1)


@venues_app.command("poster")
def venues_poster(
    code: Annotated[str, typer.Argument(help="The venue's code.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write (.pdf or .png).")],
    url: Annotated[
        str, typer.Option(help="The server's public address; default PHONGDICH_PUBLIC_URL.")
    ] = "",
) -> None:
    """Write a venue's check-in poster, A4 PDF or PNG (by the file's extension)."""
    from phongdich import cli
    from phongdich.auth.actor import system_actor
    from phongdich.config import get_settings
    from phongdich.venues import posters
    from phongdich.venues.service import get_venue

    base = (url or get_settings().public_url).rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise cli.fail("give --url http(s)://… or set PHONGDICH_PUBLIC_URL")
    if out.suffix.lower() not in (".pdf", ".png"):
        raise cli.fail("--out must end in .pdf or .png")
    db = cli.database()
    with cli.cli_errors(), db.transaction() as session:
        venue = get_venue(session=session, actor=system_actor(), code=code)
        render = posters.poster_pdf if out.suffix.lower() == ".pdf" else posters.poster_png
        data = render(session, venue, f"{base}/c/{venue.code}")
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise cli.fail(f"cannot write {out}: {exc.strerror}") from None
    cli.console.print(f"{out} ({len(data) // 1024} KB)")
