"""`phongdich testing …`: pool-size advice and a lab's result import from the console."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

testing_app = typer.Typer(help="Sampling, pooled tests and lab results.", no_args_is_help=True)


@testing_app.command("pool-size")
def pool_size(
    prevalence: Annotated[
        float, typer.Option(help="Expected share of positives, e.g. 0.02 for 2%.")
    ],
    max_size: Annotated[int, typer.Option("--max", help="Largest pool the lab accepts.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The pool size with the fewest expected tests per person (Dorfman's two-stage scheme)."""
    from phongdich import cli
    from phongdich.testing import pooling

    with cli.cli_errors():
        advice = pooling.advise(prevalence, max_size)
    if as_json:
        typer.echo(json.dumps(advice.as_dict()))
        return
    cli.console.print(
        f"prevalence {advice.prevalence:.4g}: pools of {advice.pool_size} "
        f"(at most {advice.max_pool_size}), {advice.tests_per_person:.4f} tests per person, "
        f"{advice.capacity_gain:.2f}× the people per test"
    )
    for size in sorted({1, *range(max(2, advice.pool_size - 2), advice.pool_size + 3)}):
        if size <= advice.max_pool_size:
            cost = pooling.tests_per_person(advice.prevalence, size)
            mark = " ←" if size == advice.pool_size else ""
            cli.console.print(f"  k={size:<3} {cost:.4f} tests per person{mark}")


@testing_app.command("import-results")
def import_results(
    lab: Annotated[str, typer.Argument(help="The lab's code.")],
    file: Annotated[Path, typer.Argument(help="CSV tube_barcode,result,ct_value,method,tested_at")],
) -> None:
    """Import a lab machine's results; bad rows are reported, a second import adds nothing."""
    from phongdich import cli
    from phongdich.auth.actor import system_actor
    from phongdich.testing.results import import_results as run

    db = cli.database()
    with cli.cli_errors(), db.transaction() as session:
        report = run(session=session, actor=system_actor(), lab_code=lab, source=file)
    cli.print_report(report, "result rows")
    if report.errors:
        raise typer.Exit(1)
