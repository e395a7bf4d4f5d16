from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from phongdich import logs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "GET /api/persons/lookup?n=001085012345 200",
            "GET /api/persons/lookup?n=00********45 200",
        ),
        ("cmnd 123456789", "cmnd 12*****89"),
        ("phone 0912345678", "phone 09******78"),
        ("year 1985, code 26734", "year 1985, code 26734"),
        ("a 13-digit run 1234567890123", "a 13-digit run 1234567890123"),
        ("token pd_AbC123-_xyzXYZ987 used", "token pd_*** used"),
        ("Authorization: Bearer abc.def.ghi", "Authorization: Bearer ***"),
        ("authorization: bearer pd_secret1234", "authorization: bearer ***"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert logs.redact(text) == expected


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """configure() changes the root logger: put it back as pytest had it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def test_the_filter_redacts_formatted_records() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.RedactingFilter())
    logger = logging.getLogger("phongdich.tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        # uvicorn's access log passes the path as an argument, not in the message.
        logger.warning(
            '%s - "%s %s HTTP/%s" %d', "10.0.0.1", "GET", "/api/x/079190000001", "1.1", 200
        )
        logger.warning("token %s", "pd_abcdefghijklmnop")
        logger.warning("nothing secret %d", 42)
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue().splitlines() == [
        '10.0.0.1 - "GET /api/x/07********01 HTTP/1.1" 200',
        "token pd_***",
        "nothing secret 42",
    ]


def test_configure_installs_one_redacting_handler(root_logger: logging.Logger) -> None:
    logs.configure(logging.DEBUG)
    logs.configure(logging.DEBUG)
    redacting = [
        h
        for h in root_logger.handlers
        if any(isinstance(f, logs.RedactingFilter) for f in h.filters)
    ]
    assert len(redacting) == 1
    assert root_logger.level == logging.DEBUG
    access = logging.getLogger("uvicorn.access")
    assert access.handlers == []
    assert access.propagate is True


def test_uvicorn_log_config_propagates_to_the_root() -> None:
    config = logs.uvicorn_log_config()
    loggers = config["loggers"]
    assert isinstance(loggers, dict)
    assert set(loggers) == {"uvicorn", "uvicorn.error", "uvicorn.access"}
    assert all(v["propagate"] is True for v in loggers.values())
