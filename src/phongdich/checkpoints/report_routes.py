"""Checkpoints API: the daily reports of a unit's checkpoints, as JSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from phongdich.checkpoints import reports
from phongdich.deps import ActorDep, SessionDep

router = APIRouter(prefix="/api", tags=["checkpoints"])


def report_data(report: reports.UnitReport) -> dict[str, Any]:
    """What the API returns and what the pages and exports show, as plain data."""
    return {
        "day": report.day.isoformat(),
        "unit": (
            {"code": report.unit.code, "name": report.unit.name, "level": report.unit.level}
            if report.unit is not None
            else None
        ),
        "risk": {
            "level": reports.risk_level(report.totals),
            "line": reports.risk_line(report.totals),
        },
        "totals": report.totals,
        "checkpoints": [
            {
                "code": item.checkpoint.code,
                "name": item.checkpoint.name,
                "unit_code": item.checkpoint.unit_code,
                "computed_at": item.computed_at.isoformat() if item.computed_at else None,
                "figures": item.figures,
            }
            for item in report.checkpoints
        ],
        "children": [
            {
                "code": child.unit.code,
                "name": child.unit.name,
                "checkpoints": child.checkpoints,
                "figures": child.figures,
            }
            for child in report.children
        ],
        "unit_names": report.names,
    }


@router.get("/checkpoint-reports")
def checkpoint_reports(
    actor: ActorDep,
    session: SessionDep,
    unit: Annotated[str | None, Query(max_length=40)] = None,
    day: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    """The day's figures of the unit's checkpoints (the caller's unit and today by default):
    summed, per checkpoint and per child unit."""
    report = reports.unit_report(
        session=session, actor=actor, unit_code=unit, day=reports.parse_day(day)
    )
    return report_data(report)
