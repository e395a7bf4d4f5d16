"""The `phongdich` command: serve, worker, db, adminunits, persons, users, audit, demo, …"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from phongdich.config import get_settings
from phongdich.db import Database, current_revision, upgrade
from phongdich.errors import PhongdichError
from phongdich.importing import ImportReport

app = typer.Typer(
    help="phongdich — epidemic-response platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
units_app = typer.Typer(help="Administrative units.", no_args_is_help=True)
persons_app = typer.Typer(help="The people registry.", no_args_is_help=True)
users_app = typer.Typer(help="Users and tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
events_app = typer.Typer(help="Domain events (outbox).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(units_app, name="adminunits")
app.add_typer(persons_app, name="persons")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(events_app, name="events")

console = Console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> typer.Exit:
    # One line whatever the terminal width, and the message is text, never Rich markup
    # (a CSV header or a file name may hold square brackets).
    err.print(Text.assemble(("error:", "red"), " ", message), highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Every error a user can cause ends as one line on stderr and a non-zero exit."""
    from pydantic import ValidationError
    from sqlalchemy.exc import ArgumentError, OperationalError

    try:
        yield
    except PhongdichError as exc:
        raise fail(exc.message) from None
    except OperationalError as exc:
        # Drivers explain over several lines; the CLI promises one.
        raise fail(f"database unavailable: {' '.join(str(exc.orig).split())}") from None
    except ArgumentError as exc:  # a malformed PHONGDICH_DATABASE_URL
        raise fail(f"bad database URL: {exc}") from None
    except ValidationError as exc:  # a bad PHONGDICH_* setting
        problem = exc.errors()[0]
        name = "PHONGDICH_" + ".".join(str(p) for p in problem["loc"]).upper()
        raise fail(f"setting {name}: {problem['msg']}") from None


def database(migrate: bool = True) -> Database:
    with cli_errors():
        db = Database(get_settings().resolved_database_url)
        if migrate:
            upgrade(db)
    return db


@contextmanager
def transaction() -> Iterator[Session]:
    """One transaction on the configured database, whose connections are closed afterwards."""
    db = database()
    try:
        with db.transaction() as session:
            yield session
    finally:
        db.dispose()


def print_report(report: ImportReport, what: str) -> None:
    console.print(
        f"{what}: [green]{report.created} created[/green], {report.updated} updated, "
        f"{report.unchanged} unchanged, [red]{len(report.errors)} rejected[/red]"
    )
    for error in report.errors[:200]:
        err.print(f"  line {error.line}: {error.field}: {error.reason}", highlight=False)
    if len(report.errors) > 200:
        err.print(f"  … and {len(report.errors) - 200} more")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    demo: Annotated[
        bool, typer.Option("--demo", help="Fill an empty database with the demo city first.")
    ] = False,
    people: Annotated[int, typer.Option(help="People in the demo city.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Demo random seed.")] = 2021,
) -> None:
    """Start the web app and API (migrations are applied first)."""
    import uvicorn

    from phongdich import logs
    from phongdich.app import create_app

    logs.configure()
    db = database()
    if demo:
        from phongdich.demo.city import build_demo, has_people

        with db.transaction() as session:
            empty = not has_people(session)
        if empty:
            with cli_errors():
                result = build_demo(db, people=people, seed=seed, progress=True)
            result.print(console)
        else:
            console.print(
                "The database already has people: serving it as it is. The demo users' "
                "passwords were printed when it was built; set a new one with "
                "`phongdich users set-password USER --password-stdin`."
            )
    console.print(f"phongdich on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    uvicorn.run(
        create_app(database=db, migrate=False),
        host=host,
        port=port,
        log_config=logs.uvicorn_log_config(),
    )


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Run one cycle and exit.")] = False,
) -> None:
    """Process outbox events and periodic jobs (several workers may run at once on PostgreSQL)."""
    import threading

    from phongdich import events, logs
    from phongdich import worker as background

    logs.configure()
    db = database()
    events.load_handlers()
    if once:
        ran = background.run_once(db)
        console.print(f"{ran} deliveries processed")
        return
    stop = threading.Event()
    try:
        background.run_forever(db, stop, get_settings().worker_poll_seconds)
    except KeyboardInterrupt:
        stop.set()


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations."""
    db = database(migrate=False)
    with cli_errors():
        upgrade(db, revision)
        console.print(f"schema at {current_revision(db)}")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision."""
    with cli_errors():
        console.print(current_revision(database(migrate=False)) or "empty database")


@units_app.command("load")
def units_load(
    csv: Annotated[
        Path | None,
        typer.Option(
            "--csv", help="CSV code,name,level,parent_code,population for any other tree."
        ),
    ] = None,
    builtin: Annotated[
        str | None,
        typer.Option(
            "--builtin",
            help="A tree shipped with phongdich: vn-2021 (province/district/commune as of 2021).",
        ),
    ] = None,
) -> None:
    """Load admin units: by default the current official list from `vietnam-provinces`."""
    from phongdich.adminunits import service
    from phongdich.auth.actor import system_actor

    if csv is not None and builtin is not None:
        raise fail("give --csv or --builtin, not both")
    db = database()
    report = ImportReport()
    with cli_errors(), db.transaction() as session:
        if csv is not None:
            rows = service.parse_csv(csv, report)
        elif builtin is not None:
            rows = service.parse_csv(service.builtin_csv(builtin), report)
        else:
            rows = service.official_rows()
        service.load_units(session=session, actor=system_actor(), units=rows, report=report)
    print_report(report, "admin units")
    if report.errors:
        raise typer.Exit(1)


@units_app.command("find")
def units_find(
    query: Annotated[str, typer.Argument(help="Code or name, diacritics optional.")],
    limit: int = 20,
) -> None:
    """Look units up by code or name."""
    from phongdich.adminunits import service

    db = database()
    with db.transaction() as session:
        units = service.search_units(session=session, query=query, limit=limit)
        table = Table("code", "name", "level", "parent")
        for unit in units:
            table.add_row(unit.code, unit.name, str(unit.level), unit.parent_code or "")
    if not units:
        raise fail(f"no admin unit matches {query!r}", 1)
    console.print(table)


@persons_app.command("import")
def persons_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV document_number,full_name,"
            "birth_date,sex,phone,unit_code,address,household_code"
        ),
    ],
) -> None:
    """Import a resident list; bad rows are reported with line and reason, good rows kept."""
    from phongdich.auth.actor import system_actor
    from phongdich.persons.importer import import_persons

    db = database()
    with cli_errors(), db.transaction() as session:
        report = import_persons(session=session, actor=system_actor(), source=file)
    print_report(report, "persons")
    if report.errors:
        raise typer.Exit(1)


PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


def read_password(from_stdin: bool) -> str:
    """Passwords come on stdin only: a command line ends up in shell history and `ps`."""
    if not from_stdin:
        raise fail("pass the password on standard input with --password-stdin")
    return sys.stdin.readline().rstrip("\r\n")


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Option(help="Login name.")],
    role: Annotated[
        str,
        typer.Option(
            help="national_admin, province_officer, district_officer, "
            "commune_officer, checkpoint_officer, sampling_staff, "
            "lab_technician, vaccination_staff, venue_manager, "
            "citizen"
        ),
    ],
    unit: Annotated[str | None, typer.Option(help="Admin unit code (required for staff).")] = None,
    full_name: Annotated[str, typer.Option(help="Display name.")] = "",
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a user. The password is read from stdin, never from the command line."""
    from phongdich.auth.actor import system_actor
    from phongdich.auth.service import create_user, parse_role

    password = read_password(password_stdin)
    db = database()
    with cli_errors(), db.transaction() as session:
        user = create_user(
            session=session,
            actor=system_actor(),
            username=username,
            password=password,
            role=parse_role(role),
            unit_code=unit,
            full_name=full_name,
        )
        console.print(f"created user {user.username} ({user.role}, unit {user.unit_code or '-'})")


@users_app.command("set-password")
def users_set_password(
    username: Annotated[str, typer.Argument(help="The user whose password changes.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password (read from stdin); the user's web sessions and API tokens end."""
    from phongdich.auth.actor import system_actor
    from phongdich.auth.service import set_password

    password = read_password(password_stdin)
    db = database()
    with cli_errors(), db.transaction() as session:
        user = set_password(
            session=session, actor=system_actor(), username=username, password=password
        )
        console.print(f"password of {user.username} changed; their sessions and API tokens ended")


@users_app.command("token")
def users_token(
    username: Annotated[str, typer.Argument(help="The user the token acts as.")],
    label: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    device: Annotated[
        bool, typer.Option("--device", help="A station or scanner device token.")
    ] = False,
    days: Annotated[int | None, typer.Option(min=1, help="Expire after N days.")] = None,
) -> None:
    """Print a new bearer token for the user (shown once; only its hash is stored)."""
    from datetime import timedelta

    from phongdich.auth.service import get_user_by_username, issue_token

    db = database()
    with cli_errors(), db.transaction() as session:
        user = get_user_by_username(session=session, username=username)
        token = issue_token(
            session=session,
            user=user,
            kind="device" if device else "api",
            label=label,
            lifetime=timedelta(days=days) if days else None,
        )
    print(token)


@audit_app.command("list")
def audit_list(
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    username: Annotated[str | None, typer.Option(help="Only this user's actions.")] = None,
    record: Annotated[str | None, typer.Option(help="Only this record id.")] = None,
) -> None:
    """The newest audit entries."""
    from phongdich.auth import audit
    from phongdich.auth.actor import system_actor

    db = database()
    with cli_errors(), db.transaction() as session:
        entries = audit.list_entries(
            session=session, actor=system_actor(), username=username, object_id=record, limit=limit
        )
        table = Table("at (UTC)", "user", "action", "record", "from", "detail")
        for e in entries:
            table.add_row(
                e.at.strftime("%Y-%m-%d %H:%M:%S"),
                e.username,
                e.action,
                f"{e.object_type} {e.object_id or ''}",
                e.origin,
                e.detail,
            )
    console.print(table)


@events_app.command("dead-letters")
def dead_letters() -> None:
    """Deliveries that failed every retry."""
    from phongdich import events

    db = database()
    with db.transaction() as session:
        table = Table("delivery", "topic", "handler", "attempts", "last error")
        for d, e in events.dead_letters(session):
            table.add_row(str(d.id), e.topic, d.handler, str(d.attempts), d.last_error[:80])
    console.print(table)


@app.command()
def demo(
    people: Annotated[int, typer.Option(min=1, max=5_000_000, help="How many people.")] = 20_000,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed builds the same city.")
    ] = 2021,
) -> None:
    """Fill the database with a synthetic city inside real admin units, and one user per role."""
    from phongdich.demo.city import build_demo

    db = database()
    with cli_errors():
        result = build_demo(db, people=people, seed=seed, progress=True)
    result.print(console)


from phongdich.credentials.commands import credential_app  # noqa: E402  (uses this module)

app.add_typer(credential_app, name="credential")

from phongdich.checkins.commands import checkins_app  # noqa: E402
from phongdich.venues.commands import venues_app  # noqa: E402

app.add_typer(venues_app, name="venues")
app.add_typer(checkins_app, name="checkins")

from phongdich.testing.commands import testing_app  # noqa: E402

app.add_typer(testing_app, name="testing")

from phongdich.cases.commands import cases_app  # noqa: E402
from phongdich.cases.commands import trace as trace_command  # noqa: E402

app.add_typer(cases_app, name="cases")

from phongdich.checkpoints.commands import checkpoints_app  # noqa: E402
from phongdich.station.command import station as station_command  # noqa: E402

app.add_typer(checkpoints_app, name="checkpoints")
app.command(name="station")(station_command)
app.command("trace")(trace_command)


def main() -> None:
    app()
