"""What a station knows without the network: the last bundle the server sent.

Built from the JSON of `GET /api/station/bundle`; the station keeps that JSON in its local
database, so a restart without network starts from the same copy, and shows its age.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from phongdich.credentials.verify import TrustStore


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    parent: str | None
    level: int
    zone_level: int | None


@dataclass(frozen=True)
class Manifest:
    id: uuid.UUID
    code: str
    status: str
    from_unit: str
    to_unit: str
    travel_date: str
    vehicle_plate: str
    subjects: frozenset[str]


@dataclass
class Offline:
    generated_at: datetime
    checkpoint: Mapping[str, Any]
    store: TrustStore
    rule_sets: Mapping[str, Mapping[str, Any]]
    units: dict[str, Unit] = field(default_factory=dict)
    manifests: dict[uuid.UUID, Manifest] = field(default_factory=dict)
    by_subject: dict[str, list[Manifest]] = field(default_factory=dict)
    officers: tuple[str, ...] = ()
    station_id: str = ""

    @classmethod
    def from_bundle(cls, data: Mapping[str, Any]) -> Offline:
        generated = datetime.fromisoformat(str(data["generated_at"]))
        offline = cls(
            generated_at=generated if generated.tzinfo else generated.replace(tzinfo=UTC),
            checkpoint=dict(data["checkpoint"]),
            store=TrustStore.from_json(data["trust_list"], data.get("revocations")),
            rule_sets=dict(data.get("rule_sets") or {}),
            officers=tuple(data.get("officers") or ()),
            station_id=str((data.get("station") or {}).get("id", "")),
        )
        for code, name, parent, level, zone in data.get("units") or ():
            offline.units[code] = Unit(code, name, parent, int(level), zone)
        for item in data.get("transfers") or ():
            manifest = Manifest(
                id=uuid.UUID(item["id"]),
                code=item["code"],
                status=item["status"],
                from_unit=item["from_unit"],
                to_unit=item["to_unit"],
                travel_date=item["travel_date"],
                vehicle_plate=item.get("vehicle_plate", ""),
                subjects=frozenset(item.get("subjects") or ()),
            )
            offline.manifests[manifest.id] = manifest
            for subject in manifest.subjects:
                offline.by_subject.setdefault(subject, []).append(manifest)
        return offline

    def path(self, code: str | None) -> list[str]:
        """The unit's codes from the top of the tree down to it ([] when unknown)."""
        chain: list[str] = []
        while code is not None and code in self.units and len(chain) < 10:
            chain.append(code)
            code = self.units[code].parent
        return chain[::-1]

    def within(self, code: str | None, ancestor: str | None) -> bool:
        return ancestor is not None and ancestor in self.path(code)

    def province(self, code: str | None) -> str | None:
        chain = self.path(code)
        return chain[0] if chain else None

    def zone_level(self, code: str | None) -> int | None:
        """The unit's zone level, or its nearest ancestor's when it has none."""
        for ancestor in reversed(self.path(code)):
            level = self.units[ancestor].zone_level
            if level is not None:
                return int(level)
        return None

    def name(self, code: str | None) -> str:
        unit = self.units.get(code or "")
        return unit.name if unit else (code or "")

    def age_seconds(self, now: datetime | None = None) -> float:
        return ((now or datetime.now(UTC)) - self.generated_at).total_seconds()
