"""Demo venues, spread over the communes where the demo's people live.

About one per `RESIDENTS_PER_VENUE` residents, so tracing a case finds neighbours, colleagues
and classmates; every category present; the market `MANAGED_CODE` run by the demo's venue
manager. Their check-ins are `demo.checkins`.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.demo.names import STREETS
from phongdich.persons.models import Household, Person
from phongdich.text import CODE_ALPHABET, fold
from phongdich.venues.models import Venue
from phongdich.venues.service import APPROVED, CATEGORIES, PENDING

RESIDENTS_PER_VENUE = 50
PENDING_SHARE = 0.03
ADULT_BIRTH_YEAR = 1985  # for a person registered without a birth year
MANAGED_CODE = "CHOCHAULONG"
MANAGED_NAME = "Chợ Châu Long"

# A commune's venues after its first residential gate: cafés, shops and gates are everywhere,
# markets and supermarkets serve several streets, schools and hospitals a whole ward.
CATEGORY_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("residential_gate", 18),
    ("cafe", 14),
    ("shop", 12),
    ("restaurant", 11),
    ("office", 10),
    ("pharmacy", 6),
    ("market", 5),
    ("supermarket", 5),
    ("school", 4),
    ("factory", 3),
    ("worship", 3),
    ("hospital", 2),
    ("transport", 3),
    ("commune_checkpoint", 1),
    ("other", 3),
)

_NAMES: dict[str, tuple[str, ...]] = {
    "restaurant": ("Nhà hàng Phở {s}", "Bún chả {s}", "Quán Lẩu {s}", "Cơm văn phòng {s}"),
    "cafe": ("Cà phê {s}", "Cà phê Cộng {s}", "Trà chanh {s}", "Highlands {s}"),
    "supermarket": ("Siêu thị WinMart {s}", "Siêu thị Co.op {s}", "BRG Mart {s}"),
    "market": ("Chợ {s}", "Chợ dân sinh {s}"),
    "shop": ("Tạp hóa {s}", "Cửa hàng điện máy {s}", "Hiệu sách {s}", "Shop quần áo {s}"),
    "office": ("Công ty CP {s}", "Văn phòng {s} Tower", "Ngân hàng chi nhánh {s}"),
    "factory": ("Xưởng may {s}", "Nhà máy bia {s}", "Xưởng in {s}"),
    "school": ("Trường Tiểu học {s}", "Trường THCS {s}", "Trường THPT {s}", "Mầm non {s}"),
    "hospital": ("Bệnh viện Đa khoa {s}", "Phòng khám {s}", "Trạm Y tế {s}"),
    "pharmacy": ("Nhà thuốc {s}", "Nhà thuốc Long Châu {s}", "Nhà thuốc An Khang {s}"),
    "residential_gate": ("Cổng khu dân cư {s}", "Cổng ngõ {n} {s}", "Cổng chung cư {s}"),
    "commune_checkpoint": ("Chốt kiểm soát {s}",),
    "transport": ("Điểm xe buýt {s}", "Bến xe {s}", "Ga {s}"),
    "worship": ("Chùa {s}", "Đình {s}", "Nhà thờ {s}"),
    "other": ("Nhà văn hóa {s}", "Sân bóng {s}", "Bưu điện {s}"),
}
_CAPACITY: dict[str, tuple[int, int]] = {
    "market": (200, 800),
    "supermarket": (100, 400),
    "school": (300, 1500),
    "hospital": (100, 600),
    "factory": (100, 1000),
    "office": (30, 400),
    "transport": (50, 500),
}


@dataclass
class Places:
    """The demo venues by commune, by district and citywide, per category."""

    ids: list[uuid.UUID] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    by_commune: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    by_district: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    by_city: dict[str, list[int]] = field(default_factory=dict)

    def add(self, venue_id: uuid.UUID, unit: str, district: str, category: str) -> int:
        index = len(self.ids)
        self.ids.append(venue_id)
        self.units.append(unit)
        self.categories.append(category)
        self.by_commune.setdefault((unit, category), []).append(index)
        self.by_district.setdefault((district, category), []).append(index)
        self.by_city.setdefault(category, []).append(index)
        return index

    def near(
        self, rng: random.Random, commune: str, district: str, categories: Sequence[str]
    ) -> int:
        """A venue of one of the categories in the commune, else the district, else the city."""
        for scope, key in ((self.by_commune, commune), (self.by_district, district)):
            found = [i for c in categories for i in scope.get((key, c), ())]
            if found:
                return rng.choice(found)
        return rng.choice([i for c in categories for i in self.by_city.get(c, ())])


@dataclass
class Summary:
    venues: int = 0
    checkins: int = 0


def _code(rng: random.Random, used: set[str]) -> str:
    while True:
        # As `text.new_code`, but drawn from the seeded stream.
        code = "".join(rng.choice(CODE_ALPHABET) for _ in range(8))
        if code not in used:
            used.add(code)
            return code


def _venue_row(
    rng: random.Random,
    used: set[str],
    category: str,
    unit: str,
    created: datetime,
    *,
    code: str | None = None,
    name: str | None = None,
    status: str | None = None,
    manager_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    street = rng.choice(STREETS)
    name = name or rng.choice(_NAMES[category]).format(s=street, n=rng.randrange(1, 200))
    low, high = _CAPACITY.get(category, (10, 80))
    status = status or (PENDING if rng.random() < PENDING_SHARE else APPROVED)
    return {
        "id": uuid.UUID(int=rng.getrandbits(128), version=4),
        "code": code or _code(rng, used),
        "name": name,
        "name_folded": fold(name),
        "category": category,
        "unit_code": unit,
        "address": f"Số {rng.randrange(1, 300)}, phố {street}",
        "capacity": rng.randrange(low, high),
        "default_visit_minutes": CATEGORIES[category].visit_minutes,
        "status": status,
        "manager_id": manager_id,
        "created_at": created,
        "decided_at": created if status == APPROVED else None,
        "decided_by": "demo" if status == APPROVED else "",
    }


def residents(
    session: Session,
) -> tuple[list[tuple[uuid.UUID, str, int]], dict[str, str]]:
    """(person, home commune, birth year) in id order, and each commune's district."""
    people = [
        (pid, unit, year if year is not None else ADULT_BIRTH_YEAR)
        for pid, unit, year in session.execute(
            select(Person.id, Household.unit_code, Person.birth_year)
            .join(Household, Household.id == Person.household_id)
            .where(Person.merged_into_id.is_(None))
            .order_by(Person.id)
        )
        if unit is not None
    ]
    communes = sorted({unit for _, unit, _ in people})
    districts: dict[str, str] = {}
    for start in range(0, len(communes), 5000):
        for code, path in session.execute(
            select(AdminUnit.code, AdminUnit.path).where(
                AdminUnit.code.in_(communes[start : start + 5000])
            )
        ):
            parts = path.split("/")
            districts[code] = parts[-2] if len(parts) > 1 else code
    return people, districts


def make_venues(
    session: Session,
    rng: random.Random,
    residents: Sequence[tuple[uuid.UUID, str, int]],
    districts: dict[str, str],
    *,
    manager_id: uuid.UUID | None,
    manager_unit: str,
    now: datetime,
) -> Places:
    """Insert the venues; every commune with residents gets a residential gate first."""
    per_commune: dict[str, int] = defaultdict(int)
    for _, unit, _ in residents:
        per_commune[unit] += 1
    kinds = [c for c, _ in CATEGORY_WEIGHTS]
    weights = [w for _, w in CATEGORY_WEIGHTS]
    used: set[str] = {MANAGED_CODE}
    places = Places()
    rows: list[dict[str, Any]] = []

    def add(category: str, unit: str, **extra: Any) -> None:
        # Registered before the check-ins begin, some long before.
        created = now - timedelta(days=60 + rng.randrange(365))
        row = _venue_row(rng, used, category, unit, created, **extra)
        rows.append(row)
        places.add(row["id"], unit, districts.get(unit, unit), category)

    for unit in sorted(per_commune):
        count = max(1, round(per_commune[unit] / RESIDENTS_PER_VENUE))
        add("residential_gate", unit)
        for category in rng.choices(kinds, weights=weights, k=count - 1):
            add(category, unit)
    # A tiny demo still shows every category, in the demo's own commune.
    for category in CATEGORIES:
        if category not in places.by_city:
            add(category, manager_unit)
    add(
        "market",
        manager_unit,
        code=MANAGED_CODE,
        name=MANAGED_NAME,
        status=APPROVED,
        manager_id=manager_id,
    )
    if not any(row["status"] == PENDING for row in rows):
        # Officials' approval queue is never empty, however small the demo.
        rows[-2].update(status=PENDING, decided_at=None, decided_by="")
    for start in range(0, len(rows), 5000):
        session.execute(insert(Venue), rows[start : start + 5000])
    return places
