"""Officials' pages for the checkpoints' daily reports: a unit's day (its checkpoints summed,
each listed, each child unit to go down to), one checkpoint's day, and the exports.

The commune, district and province read the same page for their own unit; a unit outside the
reader's jurisdiction looks not found. Days are local (Asia/Ho_Chi_Minh).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from phongdich.checkpoints import exports, reports
from phongdich.deps import ActorDep, SessionDep
from phongdich.web import i18n
from phongdich.web.templating import render

router = APIRouter(include_in_schema=False)

UnitQuery = Annotated[str | None, Query(max_length=40)]
DayQuery = Annotated[str | None, Query(max_length=40)]
RISK_CLASSES = {
    reports.RISK_LOW: "zone-green",
    reports.RISK_ELEVATED: "zone-orange",
    reports.RISK_HIGH: "zone-red",
}


def _link(unit: str | None, day: date) -> str:
    params = {"day": day.isoformat()}
    if unit:
        params = {"unit": unit, **params}
    return "/checkpoints/reports?" + urlencode(params)


def _common(figures: dict[str, Any], day: date) -> dict[str, Any]:
    latest = reports.today()
    return {
        "figure_rows": exports.FIGURE_ROWS,
        "checkpoint_columns": exports.CHECKPOINT_COLUMNS,
        "zone_keys": reports.ZONE_KEYS,
        "zone_labels": exports.ZONE_LABELS,
        "value": exports.value,
        "risk_label": reports.RISK_LABELS[reports.risk_level(figures)],
        "risk_class": RISK_CLASSES[reports.risk_level(figures)],
        "risk_line": reports.risk_line(figures, with_level=False),
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1) if day < latest else None,
        "today": latest,
    }


@router.get("/checkpoints/reports", response_class=HTMLResponse)
def unit_reports(
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    unit: UnitQuery = None,
    day: DayQuery = None,
) -> Response:
    """The unit's day (the reader's unit and today by default)."""
    picked = reports.parse_day(day)
    report = reports.unit_report(session=session, actor=actor, unit_code=unit, day=picked)
    code = report.unit.code if report.unit is not None else None
    query = urlencode({k: v for k, v in (("unit", code), ("day", picked.isoformat())) if v})
    return render(
        request,
        "checkpoints/report_unit.html",
        {
            "report": report,
            "link": _link,
            "code": code,
            "query": query,
            **_common(report.totals, picked),
        },
    )


def _export_name(report: reports.UnitReport, extension: str) -> str:
    where = report.unit.code if report.unit is not None else "all"
    return f"checkpoint-report-{where}-{report.day.isoformat()}.{extension}"


@router.get("/checkpoints/reports.xlsx")
def unit_reports_xlsx(
    actor: ActorDep, session: SessionDep, unit: UnitQuery = None, day: DayQuery = None
) -> Response:
    report = reports.unit_report(
        session=session, actor=actor, unit_code=unit, day=reports.parse_day(day)
    )
    return Response(
        exports.to_xlsx(report, i18n.current_locale()),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{_export_name(report, "xlsx")}"'},
    )


@router.get("/checkpoints/reports.pdf")
def unit_reports_pdf(
    actor: ActorDep, session: SessionDep, unit: UnitQuery = None, day: DayQuery = None
) -> Response:
    report = reports.unit_report(
        session=session, actor=actor, unit_code=unit, day=reports.parse_day(day)
    )
    return Response(
        exports.to_pdf(report, i18n.current_locale()),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{_export_name(report, "pdf")}"'},
    )


@router.get("/checkpoints/{code}/reports/{day}", response_class=HTMLResponse)
def checkpoint_day(
    request: Request,
    code: Annotated[str, Path(max_length=40)],
    day: Annotated[str, Path(max_length=40)],
    actor: ActorDep,
    session: SessionDep,
) -> Response:
    """One checkpoint's day: every figure, by lane and by origin."""
    picked = reports.parse_day(day)
    item, names = reports.checkpoint_report(session=session, actor=actor, code=code, day=picked)
    return render(
        request,
        "checkpoints/report_checkpoint.html",
        {
            "item": item,
            "day": picked,
            "names": names,
            "unit_link": _link(item.checkpoint.unit_code, picked),
            **_common(item.figures, picked),
        },
    )
