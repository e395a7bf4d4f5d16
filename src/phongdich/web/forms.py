"""Reading submitted forms for the pages.

Pages read the form as a plain mapping rather than as one parameter per field: the services
check each field and name the one that is wrong, and the page shows it beside that field with
what was typed kept. (A framework-level rejection would lose the values and show no field.)
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse

from phongdich.errors import Invalid
from phongdich.web.reasons import N_

MAX_FIELDS = 50


async def form_values(request: Request) -> dict[str, str]:
    """The submitted text fields, stripped of surrounding spaces."""
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    return {key: value.strip() for key, value in form.items() if isinstance(value, str)}


FormValues = Annotated[dict[str, str], Depends(form_values)]


DATE_RULE = N_("a date as YYYY-MM-DD or DD/MM/YYYY")


def parse_date(text: str, field: str) -> date:
    """A date as typed on a page: ISO, or day/month/year as Vietnamese write it."""
    try:
        if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", text):
            day, month, year = (int(part) for part in text.split("/"))
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(field, DATE_RULE) from None


def redirect(url: str) -> RedirectResponse:
    """After a form post: see the page again (303), so a reload does not post twice."""
    return RedirectResponse(url, status_code=303)
