"""Logging set-up. ID numbers, phone numbers and tokens never reach a log line in plain text."""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"(pd_)[A-Za-z0-9_\-]{8,}|(Bearer\s+)\S+", re.IGNORECASE)
_DIGITS = re.compile(r"(?<![\d])\d{9,12}(?![\d])")


def redact(text: str) -> str:
    text = _TOKEN.sub(lambda m: (m.group(1) or m.group(2)) + "***", text)
    return _DIGITS.sub(
        lambda m: m.group(0)[:2] + "*" * (len(m.group(0)) - 4) + m.group(0)[-2:], text
    )


class RedactingFilter(logging.Filter):
    """Applied to handlers, so records from every library (uvicorn's access log too) pass it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure(level: int = logging.INFO) -> None:
    root = logging.getLogger()
    if not any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True


def uvicorn_log_config() -> dict[str, object]:
    """Uvicorn's own logging, routed through the redacting root handler."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {
            "uvicorn": {"level": "INFO", "propagate": True},
            "uvicorn.error": {"level": "INFO", "propagate": True},
            "uvicorn.access": {"level": "INFO", "propagate": True},
        },
    }
