"""Reading submitted forms for the pages.

Pages read the form as a plain mapping rather than as one parameter per field: the services
check each field and name the one that is wrong, and the page shows it beside that field with
what was typed kept. (A framework-level rejection would lose the values and show no field.)
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

MAX_FIELDS = 50


async def form_values(request: Request) -> dict[str, str]:
    """The submitted text fields, stripped of surrounding spaces."""
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    return {key: value.strip() for key, value in form.items() if isinstance(value, str)}


FormValues = Annotated[dict[str, str], Depends(form_values)]
