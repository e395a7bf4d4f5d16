"""`python -m bench NAME [--quick] [--database-url URL]`, or `python -m bench --list`.

Prints each figure with its unit and its ratio to the baseline it names, then, as the very last
line, every figure as `key=value` pairs for scripts and CI to pick up.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
from collections.abc import Callable, Sequence
from typing import cast

from bench.harness import Result, describe

BENCHMARKS = {
    "persons_registration": "Register people through the service layer vs a raw bulk insert",
    "demo_city": "Build the demo city (build_demo) vs inserting the same pre-generated rows",
    "credentials": "Verify health passes vs bare ECDSA-P256 verify; issue passes via the service",
    "checkins": "Ingest device batches via the service vs a raw bulk insert; tracing queries",
    "testing": "Import lab results via the service vs a raw bulk insert; pairing at the site",
    "tracing": "Trace one F0 (F1, F2, orders) and 1,000 F0 through the outbox; visits_at",
    "checkpoint": "Scan-to-verdict per camera frame vs all-format decode; 100,000 passages synced",
}

Runner = Callable[..., Result]


def _runner(name: str) -> Runner:
    module = importlib.import_module(f"bench.{name}")
    return cast(Runner, module.run)


def _number(value: float) -> str:
    if value == int(value) and abs(value) >= 100:
        return f"{int(value):,}"
    return f"{value:,.2f}" if abs(value) >= 10 else f"{value:.3g}"


def _print(result: Result) -> None:
    print(f"\n{result.title}")
    width = max(len(f.key) for f in result.figures)
    for figure in result.figures:
        line = f"  {figure.key:<{width}}  {_number(figure.value):>12} {figure.unit}"
        if figure.baseline is not None:
            base = result.value(figure.baseline)
            ratio = figure.value / base if base else float("inf")
            line += f"   ({ratio:.3g}x {figure.baseline})"
        if figure.note:
            line += f"   {figure.note}"
        print(line)
    for note in result.notes:
        print(f"  - {note}")


def _pair(key: str, value: float) -> str:
    if value == int(value):
        return f"{key}={int(value)}"
    if abs(value) >= 100:
        return f"{key}={value:.1f}"
    return f"{key}={value:.4g}" if abs(value) >= 0.001 else f"{key}={value:.6f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run, or 'all'")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--quick", action="store_true", help="a small run, under a minute")
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server (a fresh database is created and dropped on it); "
        "default: a temporary SQLite file",
    )
    args = parser.parse_args(argv)
    if args.list:
        for name, what in BENCHMARKS.items():
            print(f"{name:<22} {what}")
        return 0
    names = list(BENCHMARKS) if args.names == ["all"] else args.names
    unknown = [n for n in names if n not in BENCHMARKS]
    if not names or unknown:
        parser.error(
            f"unknown benchmark {', '.join(unknown)}; "
            if unknown
            else f"name a benchmark; one of: {', '.join(BENCHMARKS)} (or all)"
        )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        f"; database: {describe(args.database_url)}; scale: {'quick' if args.quick else 'full'}"
    )
    pairs: list[str] = []
    for name in names:
        result = _runner(name)(quick=args.quick, database_url=args.database_url)
        _print(result)
        pairs += [_pair(f.key, f.value) for f in result.figures]
    sys.stdout.flush()
    print(" ".join(pairs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
