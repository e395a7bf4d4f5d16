"""The CSV upload pages (resident lists, venue registers, paper check-in logs) share one flow:
read the file, run the import in a savepoint, show the report or the file-level error."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from phongdich.errors import Invalid
from phongdich.importing import MAX_IMPORT_BYTES, ImportReport
from phongdich.web.templating import render

MAX_ROW_ERRORS_SHOWN = 1000


def upload_page(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    report: ImportReport | None = None,
    *,
    error: str = "",
    filename: str = "",
    missing_file: bool = False,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        template,
        {
            **context,
            "report": report,
            "row_errors": report.errors[:MAX_ROW_ERRORS_SHOWN] if report else [],
            "error": error,
            "missing_file": missing_file,
            "filename": filename,
        },
        status_code=status_code,
    )


def handle_upload(
    request: Request,
    session: Session,
    file: UploadFile | None,
    template: str,
    context: Mapping[str, Any],
    run: Callable[[bytes], ImportReport],
) -> Response:
    """A browser sends an empty part when no file was chosen: that is a missing file too.

    The import runs in a savepoint, so a file-level error (not UTF-8, a missing column) leaves
    nothing half-written while the page still answers.
    """
    if file is None or not file.filename:
        return upload_page(request, template, context, missing_file=True, status_code=422)
    data = file.file.read(MAX_IMPORT_BYTES + 1)
    name = file.filename[:200]
    try:
        with session.begin_nested():
            report = run(data)
    except Invalid as exc:
        return upload_page(
            request, template, context, error=exc.reason, filename=name, status_code=422
        )
    return upload_page(request, template, context, report, filename=name)
