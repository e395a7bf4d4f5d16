"""Pydantic shapes of the admin-units API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class AdminUnitPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    level: int
    parent_code: str | None
    population: int | None
    zone_level: int | None


class AdminUnitDetail(AdminUnitPublic):
    ancestors: list[AdminUnitPublic]
    children: list[AdminUnitPublic]
