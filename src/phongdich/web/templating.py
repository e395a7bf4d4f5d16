"""One Jinja environment over the base templates and every domain's `templates/` folder."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from phongdich.config import get_settings
from phongdich.domains import DOMAINS
from phongdich.web import i18n, reasons

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def _local_time(value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(get_settings().tz).strftime(fmt)


def _with_lang(request: Request, code: str) -> str:
    """This page in another language: a relative link that keeps the query, minus any notice."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("lang", "notice")]
    return request.url.path + "?" + urlencode([*params, ("lang", code)])


def _translate(message: object) -> str:
    """Service reasons are English; show the Vietnamese one where the catalogue has it."""
    text = str(message)
    return reasons.translate(text) if text else text


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
    env.filters["tr"] = _translate
    env.globals["with_lang"] = _with_lang
    env.globals["LOCALES"] = i18n.LOCALES
    return env


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    values: dict[str, Any] = {
        "request": request,
        "locale": i18n.current_locale(),
        "actor": getattr(request.state, "actor", None),
        # A short key set by a redirect after a POST; base.html maps known keys to messages.
        "notice": request.query_params.get("notice", "")[:40],
    }
    values.update(context or {})
    html = environment().get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code)
