"""The demo city: a synthetic population of Hà Nội inside the real 2021 admin tree.

Deterministic for a seed (names, birth dates, documents, households, passwords), and fast:
rows are generated in Python and written with Core bulk inserts.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from phongdich.adminunits import service as units
from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import system_actor
from phongdich.auth.models import User
from phongdich.auth.passwords import hash_password
from phongdich.auth.roles import Role
from phongdich.db import Database, utcnow
from phongdich.demo import checkins, health
from phongdich.demo.checkpoints import CheckpointsDemo, add_checkpoints
from phongdich.demo.names import (
    FAMILY_NAMES,
    GIVEN_FEMALE,
    GIVEN_MALE,
    MIDDLE_FEMALE,
    MIDDLE_MALE,
    STREETS,
)
from phongdich.demo.outbreak import OutbreakDemo, add_outbreak
from phongdich.demo.testing import TestingDemo, add_testing
from phongdich.errors import Conflict
from phongdich.importing import ImportReport
from phongdich.persons.models import Household, IdentityDocument, Person
from phongdich.text import fold

CITY = "01"  # Thành phố Hà Nội
CITY_CCCD_PREFIX = "001"
DEMO_DISTRICT = "001"  # Quận Ba Đình
DEMO_COMMUNES = ("00001", "00004")  # Phường Phúc Xá, Phường Trúc Bạch
CHUNK = 5000
TODAY = date(2021, 9, 13)
DUPLICATE_SHARE = (
    0.004  # adults registered a second time  # the seed reports' day: ages are as of then
)


@dataclass
class DemoResult:
    people: int
    households: int
    users: list[tuple[str, str, str, str]] = field(default_factory=list)  # user, role, unit, pw
    venues: int = 0
    # Check-ins end at the current time, so two builds may differ by a scan or two at the edges.
    checkins: int = field(default=0, compare=False)
    health_facts: int = field(default=0, compare=False)  # dated from now, like the check-ins
    testing: TestingDemo | None = None  # labs and a screening campaign in progress
    # Cases traced through the check-ins, which end at the current time (like them, edges vary).
    outbreak: OutbreakDemo | None = field(default=None, compare=False)
    # Gateway checkpoints, a week of passages, transfers, a station token and QR frames.
    checkpoints: CheckpointsDemo | None = field(default=None, compare=False)

    def print(self, console: Console) -> None:
        console.print(f"Demo city: {self.people:,} people in {self.households:,} households.")
        console.print(
            f"{self.venues:,} venues and {self.checkins:,} check-ins over the last "
            f"{checkins.DAYS} days."
        )
        if self.testing is not None:
            console.print(self.testing.line())
        if self.outbreak is not None:
            console.print(self.outbreak.line())
        if self.checkpoints is not None:
            for line in self.checkpoints.lines():
                console.print(line, highlight=False, soft_wrap=True)
        table = Table("username", "role", "unit", "password", title="Demo users")
        for row in self.users:
            table.add_row(*row)
        console.print(table)


def has_people(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(Person)) != 0


def _weighted(rng: random.Random, pairs: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


class _Generator:
    """Households, people and their documents, from one seeded random stream."""

    def __init__(
        self, seed: int, communes: list[str], other_communes: dict[str, list[str]]
    ) -> None:
        self.rng = random.Random(seed)
        self.communes = communes
        self.other = other_communes  # province code -> its communes, for migrant workers
        self.other_provinces = sorted(other_communes)
        self.used_numbers: set[str] = set()
        self.used_phones: set[str] = set()

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def cccd(self, province: str, sex: str, born: date) -> str:
        marker = (born.year // 100 - 19) * 2 + (0 if sex == "male" else 1)
        prefix = f"0{province}{marker}{born.year % 100:02d}"
        while True:
            number = prefix + f"{self.rng.randrange(1_000_000):06d}"
            if number not in self.used_numbers:
                self.used_numbers.add(number)
                return number

    def cmnd(self) -> str:
        while True:
            number = f"{self.rng.randrange(10**8, 10**9)}"
            if number not in self.used_numbers:
                self.used_numbers.add(number)
                return number

    def phone(self) -> str:
        while True:
            number = (
                self.rng.choice(("09", "03", "08", "07", "05")) + f"{self.rng.randrange(10**8):08d}"
            )
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number

    def name(self, family: str, sex: str) -> str:
        if sex == "male":
            return f"{family} {self.rng.choice(MIDDLE_MALE)} {self.rng.choice(GIVEN_MALE)}"
        return f"{family} {self.rng.choice(MIDDLE_FEMALE)} {self.rng.choice(GIVEN_FEMALE)}"

    def born(self, low: int, high: int) -> date:
        age_days = self.rng.randrange(low * 365, high * 365 + 1)
        return TODAY - timedelta(days=age_days)

    def address(self) -> str:
        return (
            f"Số {self.rng.randrange(1, 300)}, ngõ {self.rng.randrange(1, 120)}, "
            f"phố {self.rng.choice(STREETS)}"
        )

    def household(
        self, index: int
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        """A household and its members: a couple, children, sometimes grandparents or a lodger."""
        rng = self.rng
        roll = rng.random()
        # One in eight households lives in the demo communes, so their officers have people.
        commune = rng.choice(DEMO_COMMUNES) if roll < 0.12 else rng.choice(self.communes)
        address = self.address()
        household = {
            "id": self.uuid(),
            "code": f"HK{CITY}{index:08d}",
            "unit_code": commune,
            "address": address,
            "created_at": utcnow(),
        }
        family = _weighted(rng, FAMILY_NAMES)
        migrant = rng.random() < 0.12  # migrant workers: permanent residence elsewhere
        members: list[tuple[str, date, str]] = []  # sex, born, family name
        size = rng.choices((1, 2, 3, 4, 5, 6), weights=(10, 18, 25, 28, 13, 6))[0]
        head_sex = rng.choice(("male", "female"))
        head_born = self.born(24, 70)
        members.append((head_sex, head_born, family))
        if size >= 2:
            spouse_born = head_born + timedelta(days=rng.randrange(-2500, 2500))
            members.append(
                (
                    "female" if head_sex == "male" else "male",
                    spouse_born,
                    _weighted(rng, FAMILY_NAMES),
                )
            )
        for _ in range(max(0, size - 2)):
            youngest = max(0, (TODAY - head_born).days // 365 - 45)
            oldest = max(youngest + 1, (TODAY - head_born).days // 365 - 18)
            if rng.random() < 0.2:
                members.append(
                    (
                        rng.choice(("male", "female")),
                        self.born(min(95, (TODAY - head_born).days // 365 + 20), 98),
                        family,
                    )
                )
            else:
                members.append(
                    (
                        rng.choice(("male", "female")),
                        self.born(youngest, oldest),
                        family if head_sex == "male" else _weighted(rng, FAMILY_NAMES),
                    )
                )
        province = CITY
        permanent_unit, permanent_address = commune, address
        if migrant:
            province = rng.choice(self.other_provinces)
            permanent_unit = rng.choice(self.other[province])
            permanent_address = f"Thôn {rng.randrange(1, 15)}"
        people: list[dict[str, Any]] = []
        documents: list[dict[str, Any]] = []
        for sex, born, fam in members:
            full_name = self.name(fam, sex)
            adult = (TODAY - born).days >= 14 * 365
            people.append(
                {
                    "id": self.uuid(),
                    "full_name": full_name,
                    "name_folded": fold(full_name),
                    "birth_date": born,
                    "birth_year": born.year,
                    "sex": sex,
                    "phone": self.phone() if adult else None,
                    "nationality": "VNM",
                    "permanent_unit_code": permanent_unit,
                    "permanent_address": permanent_address,
                    "temporary_unit_code": commune if migrant else None,
                    "temporary_address": address if migrant else "",
                    "address_folded": fold(address),
                    "household_id": household["id"],
                    "merged_into_id": None,
                }
            )
            documents.append(self.document(people[-1], "cccd", province))
            if adult and rng.random() < DUPLICATE_SHARE:
                # The same person registered twice, the second time with an old CMND: the
                # kind of record official lists were full of, for the duplicates page.
                twin = dict(people[-1], id=self.uuid(), household_id=None)
                people.append(twin)
                documents.append(self.document(twin, "cmnd", province))
        return household, people, documents

    def document(self, person: dict[str, Any], kind: str, province: str) -> dict[str, Any]:
        if kind == "cccd":
            number = self.cccd(province, person["sex"], person["birth_date"])
        else:
            number = self.cmnd()
        return {
            "id": self.uuid(),
            "person_id": person["id"],
            "kind": kind,
            "number": number,
            "nationality": "VNM",
            "issued_on": None,
        }


def _ensure_units(session: Session) -> None:
    if session.get(AdminUnit, CITY) is None or session.get(AdminUnit, DEMO_COMMUNES[0]) is None:
        report = ImportReport()
        rows = units.parse_csv(units.builtin_csv("vn-2021"), report)
        units.load_units(session=session, actor=system_actor("demo"), units=rows, report=report)


def _communes(session: Session) -> tuple[list[str], dict[str, list[str]]]:
    leaves = session.execute(
        select(AdminUnit.code, AdminUnit.path)
        .where(
            ~AdminUnit.code.in_(
                select(AdminUnit.parent_code).where(AdminUnit.parent_code.is_not(None))
            )
        )
        .order_by(AdminUnit.code)
    ).all()
    city: list[str] = []
    other: dict[str, list[str]] = {}
    for code, path in leaves:
        province = path.split("/")[0]
        if province == CITY:
            city.append(code)
        else:
            other.setdefault(province, []).append(code)
    return city, other


DEMO_USERS: tuple[tuple[str, Role, str | None, str], ...] = (
    ("admin", Role.NATIONAL_ADMIN, None, "Quản trị hệ thống"),
    ("soyte.hanoi", Role.PROVINCE_OFFICER, CITY, "Sở Y tế Hà Nội"),
    ("yte.badinh", Role.DISTRICT_OFFICER, DEMO_DISTRICT, "TTYT quận Ba Đình"),
    ("yte.phucxa", Role.COMMUNE_OFFICER, DEMO_COMMUNES[0], "Trạm Y tế phường Phúc Xá"),
    ("yte.trucbach", Role.COMMUNE_OFFICER, DEMO_COMMUNES[1], "Trạm Y tế phường Trúc Bạch"),
    ("chot.phapvan", Role.CHECKPOINT_OFFICER, CITY, "Chốt Pháp Vân – Cầu Giẽ"),
    ("laymau.phucxa", Role.SAMPLING_STAFF, DEMO_COMMUNES[0], "Tổ lấy mẫu Phúc Xá"),
    ("xetnghiem.cdc", Role.LAB_TECHNICIAN, CITY, "Phòng xét nghiệm CDC Hà Nội"),
    ("tiemchung.badinh", Role.VACCINATION_STAFF, DEMO_DISTRICT, "Điểm tiêm Ba Đình"),
    ("quanly.cho", Role.VENUE_MANAGER, DEMO_COMMUNES[0], "Chợ Châu Long"),
    ("congdan", Role.CITIZEN, None, ""),
)


@dataclass
class Rows:
    """One chunk of the demo city, ready for Core bulk inserts (parents before children)."""

    households: list[dict[str, Any]] = field(default_factory=list)
    persons: list[dict[str, Any]] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)


def generate(session: Session, *, people: int, seed: int, chunk: int = CHUNK) -> Iterator[Rows]:
    """The city's rows in chunks of about `chunk` people; needs the 2021 tree loaded."""
    city, other = _communes(session)
    generator = _Generator(seed, city, other)
    now = utcnow()
    rows, made, index = Rows(), 0, 0
    while made < people:
        index += 1
        household, members, documents = generator.household(index)
        members = members[: people - made]
        kept = {m["id"] for m in members}
        rows.households.append(household)
        for member in members:
            member["created_at"] = member["updated_at"] = now
        rows.persons.extend(members)
        rows.documents.extend(dict(d, created_at=now) for d in documents if d["person_id"] in kept)
        made += len(members)
        if len(rows.persons) >= chunk:
            yield rows
            rows = Rows()
    if rows.persons:
        yield rows


def insert_rows(session: Session, rows: Rows) -> None:
    if rows.households:
        session.execute(insert(Household), rows.households)
    if rows.persons:
        session.execute(insert(Person), rows.persons)
    if rows.documents:
        session.execute(insert(IdentityDocument), rows.documents)


def build_demo(
    database: Database,
    *,
    people: int,
    seed: int,
    progress: bool = False,
    checkin_days: int = checkins.DAYS,
) -> DemoResult:
    """Refuses a database that already has people: a demo never mixes with real records."""
    with database.transaction() as session:
        if has_people(session):
            raise Conflict("the database already has people; the demo needs an empty one")
        _ensure_units(session)
    result = DemoResult(people=0, households=0)
    bar = Progress(
        TextColumn("demo city"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not progress,
        transient=False,
    )
    with bar, database.transaction() as session:
        task = bar.add_task("people", total=people)
        for rows in generate(session, people=people, seed=seed):
            insert_rows(session, rows)
            result.people += len(rows.persons)
            result.households += len(rows.households)
            bar.update(task, completed=result.people)
        citizen_id = session.scalar(
            select(Person.id)
            .where(Person.permanent_unit_code == DEMO_COMMUNES[0], Person.phone.is_not(None))
            .order_by(Person.name_folded)
            .limit(1)
        )
        result.users = _users(session, random.Random(seed), citizen_id)
        added = checkins.add_venues_and_checkins(
            session,
            seed=seed,
            manager_id=session.scalar(select(User.id).where(User.username == "quanly.cho")),
            manager_unit=DEMO_COMMUNES[0],
            ages_on=TODAY,
            days=checkin_days,
        )
        result.venues, result.checkins = added.venues, added.checkins
        result.health_facts = health.add_health_facts(session, seed=seed, ages_on_year=TODAY.year)
        result.testing = add_testing(session, seed=seed)
        result.health_facts += result.testing.health_facts
        result.outbreak = add_outbreak(session, seed=seed)
        result.health_facts += result.outbreak.health_facts
        result.checkpoints = add_checkpoints(session, seed=seed)
        result.health_facts += result.checkpoints.health_facts
    return result


def _users(
    session: Session, rng: random.Random, citizen_id: uuid.UUID | None
) -> list[tuple[str, str, str, str]]:
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    rows = []
    for username, role, unit, name in DEMO_USERS:
        password = "".join(rng.choice(alphabet) for _ in range(10))
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            continue
        session.add(
            User(
                username=username,
                full_name=name,
                password_hash=hash_password(password),
                role=role.value,
                unit_code=unit,
                person_id=citizen_id if role is Role.CITIZEN else None,
            )
        )
        rows.append((username, role.value, unit or "-", password))
    session.flush()
    return rows
