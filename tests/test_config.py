from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from phongdich.config import Settings, get_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No PHONGDICH_* variables or .env file from the machine running the tests."""
    import os

    for name in list(os.environ):
        if name.startswith("PHONGDICH_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults(tmp_path: Path) -> None:
    settings = Settings()
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'data' / 'phongdich.db')}"
    assert settings.resolved_keys_dir == Path("data/keys")
    assert settings.is_sqlite
    assert settings.worker_in_process
    assert settings.tz == ZoneInfo("Asia/Ho_Chi_Minh")
    assert (settings.default_locale, settings.session_hours) == ("vi", 12)


def test_environment_and_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "PHONGDICH_DATABASE_URL=postgresql+psycopg://u@db/phongdich\nPHONGDICH_SESSION_HOURS=8\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PHONGDICH_KEYS_DIR", "/srv/keys")
    monkeypatch.setenv("PHONGDICH_SESSION_HOURS", "4")  # the environment wins over .env
    settings = Settings()
    assert settings.resolved_database_url == "postgresql+psycopg://u@db/phongdich"
    assert not settings.is_sqlite
    assert not settings.worker_in_process
    assert settings.resolved_keys_dir == Path("/srv/keys")
    assert settings.session_hours == 4
    assert Settings(run_worker_in_process=True).worker_in_process


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("timezone", "Mars/Olympus"),
        ("checkin_retention_days", 0),
        ("audit_retention_days", 7),
        ("session_hours", 0),
        ("worker_poll_seconds", 0),
    ],
)
def test_bad_values_are_refused_at_start_up(name: str, value: object) -> None:
    with pytest.raises(ValidationError) as exc:
        Settings.model_validate({name: value})
    assert exc.value.errors()[0]["loc"] == (name,)


def test_get_settings_is_cached_until_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    get_settings.cache_clear()
    try:
        monkeypatch.setenv("PHONGDICH_DATABASE_URL", "sqlite:///first.db")
        first = get_settings()
        monkeypatch.setenv("PHONGDICH_DATABASE_URL", "sqlite:///second.db")
        assert get_settings() is first
        get_settings.cache_clear()
        assert get_settings().database_url == "sqlite:///second.db"
    finally:
        get_settings.cache_clear()
