"""Settings from the environment and an optional `.env` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting is `PHONGDICH_<NAME>` in the environment or in `.env`."""

    model_config = SettingsConfigDict(
        env_prefix="PHONGDICH_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(default=Path("data"), description="Where the SQLite file and keys live.")
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL; empty means a SQLite file in data_dir. "
        "PostgreSQL: postgresql+psycopg://user@host/db",
    )
    keys_dir: Path | None = Field(default=None, description="Signing keys; default data_dir/keys.")
    timezone: str = "Asia/Ho_Chi_Minh"
    default_locale: str = "vi"
    checkin_retention_days: int = Field(default=30, ge=1)
    public_url: str = Field(
        default="",
        description="The address citizens reach this server at (printed in venue posters' QR); "
        "empty means the address of the request.",
    )
    audit_retention_days: int = Field(default=365 * 5, ge=30)
    session_hours: int = Field(default=12, ge=1)
    worker_poll_seconds: float = Field(default=2.0, gt=0)
    run_worker_in_process: bool | None = Field(
        default=None,
        description="Default: in-process on SQLite, separate `phongdich worker` otherwise.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        # Fail at start-up rather than at first use, as a validation error naming the setting
        # (ZoneInfoNotFoundError is a KeyError, which pydantic would not report).
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'phongdich.db').resolve()}"

    @property
    def resolved_keys_dir(self) -> Path:
        return self.keys_dir if self.keys_dir is not None else self.data_dir / "keys"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def worker_in_process(self) -> bool:
        if self.run_worker_in_process is not None:
            return self.run_worker_in_process
        return self.is_sqlite


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
