"""`phongdich checkpoints …`: registry, station tokens, transfers and reports from the console."""

from __future__ import annotations

import typer

checkpoints_app = typer.Typer(
    help="Checkpoints, station tokens, transfers and daily reports.", no_args_is_help=True
)
