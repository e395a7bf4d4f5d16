"""A unit's checkpoint day as a spreadsheet (XLSX) or a printable sheet (PDF).

The page, the spreadsheet and the PDF show the same rows (`FIGURE_ROWS`, `CHECKPOINT_COLUMNS`)
in the reader's language. The PDF embeds DejaVu Sans, as the venue posters do, so every
Vietnamese letter prints.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace
from openpyxl import Workbook
from openpyxl.styles import Font

from phongdich.checkpoints.reports import ZONE_KEYS, UnitReport, risk_line
from phongdich.venues.posters import font_files
from phongdich.web import i18n
from phongdich.web.reasons import N_

FigurePath = tuple[str, ...]

# (label, where the number is in the figures)
FIGURE_ROWS: tuple[tuple[str, FigurePath], ...] = (
    (N_("People in"), ("people", "in")),
    (N_("People out"), ("people", "out")),
    (N_("Passages in"), ("passages", "in")),
    (N_("Passages out"), ("passages", "out")),
    (N_("Vehicles in"), ("vehicles", "in")),
    (N_("Vehicles out"), ("vehicles", "out")),
    (N_("Passed"), ("verdicts", "pass")),
    (N_("Passed with conditions"), ("verdicts", "conditional")),
    (N_("Turned back (passages)"), ("verdicts", "turn_back")),
    (N_("Turned back (people)"), ("turned_back", "people")),
    (N_("Flagged passages"), ("flagged", "passages")),
    (N_("Flagged groups"), ("flagged", "groups")),
    (N_("Rapid tests at the lane"), ("rapid_tests", "taken")),
    (N_("Positive rapid tests"), ("rapid_tests", "positive")),
    (N_("People arrived on transfers"), ("transfers", "people")),
    (N_("Transfers arrived"), ("transfers", "transfers")),
    (N_("Travellers not identified"), ("unresolved",)),
    (N_("People admitted from level 3–4 zones"), ("risk", "from_high_zones")),
    (N_("Admitted without a recent negative test or full vaccination"), ("risk", "unprotected")),
)
CHECKPOINT_COLUMNS: tuple[tuple[str, FigurePath], ...] = (
    (N_("People in"), ("people", "in")),
    (N_("People out"), ("people", "out")),
    (N_("Vehicles in"), ("vehicles", "in")),
    (N_("Vehicles out"), ("vehicles", "out")),
    (N_("Turned back"), ("turned_back", "people")),
    (N_("Flagged groups"), ("flagged", "groups")),
    (N_("Rapid tests"), ("rapid_tests", "taken")),
    (N_("Positives"), ("rapid_tests", "positive")),
)
ZONE_LABELS = {
    "1": N_("Level 1"),
    "2": N_("Level 2"),
    "3": N_("Level 3"),
    "4": N_("Level 4"),
    "unknown": N_("Level unknown"),
}


def value(figures: Mapping[str, Any], path: Sequence[str]) -> int:
    found: Any = figures
    for key in path:
        found = found.get(key, 0) if isinstance(found, Mapping) else 0
    return int(found) if isinstance(found, int) else 0


def _title(report: UnitReport, gettext: Callable[[str], str]) -> str:
    where = report.unit.name if report.unit is not None else gettext(N_("Whole country"))
    return f"{gettext(N_('Checkpoint report'))} · {where} · {report.day.strftime('%d/%m/%Y')}"


def _origin_label(origin: Mapping[str, Any], names: Mapping[str, str]) -> str:
    province = names.get(origin["province"], origin["province"])
    district = origin.get("district")
    return f"{names.get(district, district)}, {province}" if district else province


def _tables(
    report: UnitReport, gettext: Callable[[str], str]
) -> list[tuple[str, list[list[str | int]]]]:
    """The report's tables, header row first: figures, checkpoints, origins."""
    figures: list[list[str | int]] = [[gettext(N_("Figure")), gettext(N_("Value"))]]
    figures += [[gettext(label), value(report.totals, path)] for label, path in FIGURE_ROWS]
    header: list[str | int] = [gettext(N_("Checkpoint")), gettext(N_("Unit"))]
    header += [gettext(label) for label, _ in CHECKPOINT_COLUMNS]
    checkpoints = [header]
    for item in report.checkpoints:
        checkpoints.append(
            [
                f"{item.checkpoint.code} · {item.checkpoint.name}",
                report.names.get(item.checkpoint.unit_code, item.checkpoint.unit_code),
                *(value(item.figures, path) for _, path in CHECKPOINT_COLUMNS),
            ]
        )
    header = [gettext(N_("Origin")), gettext(N_("People")), gettext(N_("Turned back"))]
    header += [gettext(ZONE_LABELS[key]) for key in ZONE_KEYS]
    origins = [header]
    for origin in report.totals.get("origins", []):
        origins.append(
            [
                _origin_label(origin, report.names),
                int(origin["people"]),
                int(origin["turned_back"]),
                *(int(origin["zone_levels"].get(key, 0)) for key in ZONE_KEYS),
            ]
        )
    return [
        (gettext(N_("Figures")), figures),
        (gettext(N_("Checkpoints")), checkpoints),
        (gettext(N_("Origin of people entering")), origins),
    ]


def to_xlsx(report: UnitReport, locale: str | None = None) -> bytes:
    """One sheet per table, the title and the risk line above the figures."""
    gettext = i18n.translations(locale or i18n.current_locale()).gettext
    book = Workbook()
    first = True
    for name, rows in _tables(report, gettext):
        sheet = book.active if first and book.active is not None else book.create_sheet()
        sheet.title = name[:31]
        if first:
            sheet.append([_title(report, gettext)])
            sheet.append([risk_line(report.totals, locale)])
            sheet.append([])
            sheet["A1"].font = Font(bold=True, size=14)
        first = False
        header = sheet.max_row + 1 if sheet.max_row > 1 else 1
        for row in rows:
            sheet.append(row)
        for cell in sheet[header]:
            cell.font = Font(bold=True)
        sheet.column_dimensions["A"].width = 48
        sheet.column_dimensions["B"].width = 22
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_pdf(report: UnitReport, locale: str | None = None) -> bytes:
    """A4 portrait: title, risk line, the figures, then each checkpoint and each origin."""
    gettext = i18n.translations(locale or i18n.current_locale()).gettext
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    regular, bold = font_files()
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold))
    pdf.set_title(_title(report, gettext))
    pdf.set_lang("vi" if (locale or i18n.current_locale()) == "vi" else "en")
    pdf.set_creator("phongdich")
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 14)
    pdf.multi_cell(0, 7, _title(report, gettext), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("DejaVu", "", 10)
    pdf.multi_cell(0, 5, risk_line(report.totals, locale), new_x="LMARGIN", new_y="NEXT")
    heading = FontFace(emphasis="BOLD", fill_color=(230, 230, 230))
    for name, rows in _tables(report, gettext):
        pdf.ln(4)
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(0, 6, name, new_x="LMARGIN", new_y="NEXT")
        if len(rows) == 1:
            pdf.set_font("DejaVu", "", 9)
            pdf.cell(0, 5, gettext(N_("None")), new_x="LMARGIN", new_y="NEXT")
            continue
        columns = len(rows[0])
        pdf.set_font("DejaVu", "", 8 if columns > 4 else 9)
        widths = (3.0, *(1.0,) * (columns - 1)) if columns > 2 else (3.0, 1.0)
        with pdf.table(
            col_widths=widths, headings_style=heading, text_align="LEFT", line_height=4.5
        ) as table:
            for row in rows:
                cells = table.row()
                for item in row:
                    cells.cell(str(item))
    return bytes(pdf.output())
