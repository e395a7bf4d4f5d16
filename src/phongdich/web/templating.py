"""One Jinja environment over the base templates and every domain's `templates/` folder."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from phongdich.config import get_settings
from phongdich.domains import DOMAINS
from phongdich.web import i18n

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def _local_time(value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(get_settings().tz).strftime(fmt)


@cache
def environment() -> Environment:
    folders = [PACKAGE_DIR / "web" / "templates"]
    folders += [
        PACKAGE_DIR / d / "templates" for d in DOMAINS if (PACKAGE_DIR / d / "templates").is_dir()
    ]
    env = Environment(
        loader=FileSystemLoader([str(f) for f in folders]),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the i18n extension
        i18n.gettext_, i18n.ngettext_, newstyle=True
    )
    env.filters["localtime"] = _local_time
    env.globals["LOCALES"] = i18n.LOCALES
    return env


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    values: dict[str, Any] = {
        "request": request,
        "locale": i18n.current_locale(),
        "actor": getattr(request.state, "actor", None),
    }
    values.update(context or {})
    html = environment().get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code)
