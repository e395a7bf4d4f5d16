"""`phongdich station`: run the offline checkpoint station on this computer."""

from __future__ import annotations

import typer


def station(
    server: str = typer.Option(..., help="The phongdich server, e.g. https://phongdich.example"),
    token: str = typer.Option(..., help="The station's device token"),
) -> None:
    """Run the offline checkpoint station."""
    raise typer.Exit(2)
