"""`phongdich checkpoints …`: registry, station tokens, transfers and reports from the console."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

checkpoints_app = typer.Typer(
    help="Checkpoints, station tokens, transfers and daily reports.", no_args_is_help=True
)
rules_app = typer.Typer(help="Entry rules, versioned per scope.", no_args_is_help=True)
checkpoints_app.add_typer(rules_app, name="rules")


@contextmanager
def _transaction() -> Iterator[Session]:
    from phongdich import cli

    with cli.transaction() as session:
        yield session


def _server(server: str | None) -> str:
    from phongdich.config import get_settings

    return (server or get_settings().public_url or "http://127.0.0.1:8000").rstrip("/")


@checkpoints_app.command("add")
def add(
    code: Annotated[str, typer.Argument(help="The checkpoint's code, e.g. HN-QL1A-01.")],
    name: Annotated[str, typer.Option(help="Its name.")],
    unit: Annotated[str, typer.Option(help="The unit (code) whose gateway it is.")],
    road: Annotated[str, typer.Option(help="The road it stands on.")] = "",
    lanes: Annotated[str, typer.Option(help="Lanes, separated by commas.")] = "general",
) -> None:
    """Register a checkpoint."""
    from phongdich import cli
    from phongdich.auth.actor import system_actor
    from phongdich.checkpoints import registry

    with cli.cli_errors(), _transaction() as session:
        checkpoint = registry.register_checkpoint(
            session=session,
            actor=system_actor(),
            code=code,
            name=name,
            unit_code=unit,
            road=road,
            lanes=[lane for lane in lanes.split(",") if lane.strip()],
        )
        summary = f"checkpoint {checkpoint.code} added ({', '.join(checkpoint.lanes)})"
    cli.console.print(summary, highlight=False, markup=False)


@checkpoints_app.command("station-token")
def station_token(
    code: Annotated[str, typer.Argument(help="The checkpoint's code.")],
    label: Annotated[str, typer.Option(help="Which computer, e.g. 'lane 1'.")] = "",
    server: Annotated[
        str | None, typer.Option(help="This server's address as the station reaches it.")
    ] = None,
) -> None:
    """Add a station device and print its token (shown only now) and the command to run it."""
    from phongdich import cli
    from phongdich.auth.actor import system_actor
    from phongdich.checkpoints import registry
    from phongdich.checkpoints.routes import station_command

    with cli.cli_errors(), _transaction() as session:
        issued = registry.add_station(session=session, actor=system_actor(), code=code, label=label)
        token = issued.token
    typer.echo(f"token: {token}")
    typer.echo(station_command(_server(server), token))


@rules_app.command("publish")
def rules_publish(
    file: Annotated[Path, typer.Argument(help="A JSON file holding the list of rules.")],
    scope: Annotated[
        str, typer.Option(help="default, checkpoint:<code> or unit:<code>.")
    ] = "default",
    note: Annotated[str, typer.Option(help="Why the rules change.")] = "",
) -> None:
    """Validate and publish the next version of a scope's entry rules."""
    from phongdich import cli
    from phongdich.auth.actor import system_actor
    from phongdich.checkpoints import rulesets
    from phongdich.errors import Invalid

    with cli.cli_errors():
        try:
            rules = json.loads(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise Invalid("file", exc.strerror or "cannot be read") from None
        except (ValueError, RecursionError) as exc:
            raise Invalid("file", f"not valid JSON: {exc}") from None
        with _transaction() as session:
            published = rulesets.publish(
                session=session, actor=system_actor(), scope=scope, rules=rules, note=note
            )
            summary = f"{published.scope} v{published.version}: {len(published.rules)} rules"
    cli.console.print(summary, highlight=False, markup=False)


@rules_app.command("show")
def rules_show(
    scope: Annotated[
        str, typer.Option(help="default, checkpoint:<code> or unit:<code>.")
    ] = "default",
) -> None:
    """Print the scope's latest rules as JSON (the built-in default when none is published)."""
    from phongdich import cli
    from phongdich.auth.actor import system_actor
    from phongdich.checkpoints import rulesets

    with cli.cli_errors(), _transaction() as session:
        where = rulesets.resolve_scope(session, system_actor(), scope)
        published = rulesets.as_published(rulesets.latest(session, where.key))
        out = {"scope": where.key, **published}
    typer.echo(json.dumps(out, ensure_ascii=False, indent=2))


from phongdich.checkpoints import report_commands  # noqa: E402

checkpoints_app.command("report")(report_commands.report)
