"""The demo's checkpoints: Hà Nội's gateways in September 2021, a week of crossings, transfers
from Quảng Ninh, a station token and a folder of QR frames to point a station at.

The gateways, their roads and lanes are those the city ran (the long-haul driver lane where
trucks were tested on the spot). A week of passages ending yesterday, so the daily reports of
every day are complete: vehicles as groups with plates, the demo city's people as travellers
(Hà Nội's own, and migrant workers between the city and their home provinces, whose declared
zone levels are set), verdicts by the default entry rules. No one is added to the registry;
the outbreak's cases and contacts stay home, so their tracing is unchanged. Ordinary crossings
are written with Core bulk inserts; the driver lane's rapid tests and the flagged groups go
through `sync.receive`, as a station sends them, so their notices, health facts and events are
the real ones. Deterministic for a seed (transfer codes and passes aside).
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import system_actor
from phongdich.auth.models import User
from phongdich.auth.passwords import TOKEN_PREFIX, hash_token
from phongdich.cases import zones
from phongdich.cases.models import Case, Contact
from phongdich.checkpoints import registry, reports, sync, transfers
from phongdich.checkpoints.entry_rules import DEFAULT_RULES, TURN_BACK, Traveller, evaluate
from phongdich.checkpoints.models import Checkpoint, Station
from phongdich.checkpoints.passages import PASSAGES
from phongdich.config import Settings, get_settings
from phongdich.credentials.keys import keyring
from phongdich.credentials.passes import initials_of
from phongdich.credentials.status import HealthFact
from phongdich.demo import station_images
from phongdich.persons.models import IdentityDocument, Person
from phongdich.station.assess import LARGE_GROUP

CITY = "01"
DAYS = 7
STATION_GATE = "CK-PHAPVAN"  # the checkpoint whose token is printed
OFFICERS = ("chot.phapvan", "soyte.hanoi")
PENDING_TO, ACCEPTED_TO = "001", "00001"  # Quận Ba Đình; Phường Phúc Xá
QUANG_NINH, HALONG, CAMPHA = "22", "193", "195"  # Quảng Ninh's cities the transfers leave from
STATION_GATE_QN = "CK-QL5-GIALAM"  # where the coach from Quảng Ninh arrives
FLAGGED = {STATION_GATE_QN: 53, "CK-PHAPVAN": 14, "CK-PHUDONG": 12}  # coaches without manifest


@dataclass(frozen=True)
class Gate:
    code: str
    name: str
    road: str
    lanes: tuple[str, ...]
    vehicles: int  # a day, at the demo's scale
    origins: tuple[str, ...]  # provinces the road comes from


GATES: tuple[Gate, ...] = (
    Gate(
        "CK-PHAPVAN",
        "Chốt cao tốc Pháp Vân – Cầu Giẽ",
        "Cao tốc Pháp Vân – Cầu Giẽ, trạm thu phí Pháp Vân (huyện Thanh Trì)",
        ("general", "driver", "priority"),
        90,
        ("35", "36", "37", "38", "40", "42", "79", "74"),
    ),
    Gate(
        "CK-QL1A-THUONGTIN",
        "Chốt Quốc lộ 1A – Thường Tín",
        "Quốc lộ 1A, xã Liên Phương (huyện Thường Tín)",
        ("general", "driver"),
        45,
        ("35", "34", "36"),
    ),
    Gate(
        "CK-CAU-THANGLONG",
        "Chốt cầu Thăng Long",
        "Đầu cầu Thăng Long, Quốc lộ 23 (huyện Đông Anh)",
        ("general", "driver"),
        60,
        ("26", "25", "19"),
    ),
    Gate(
        "CK-QL5-GIALAM",
        "Chốt Quốc lộ 5 – Gia Lâm",
        "Quốc lộ 5, thị trấn Trâu Quỳ (huyện Gia Lâm)",
        ("general", "driver"),
        70,
        ("33", "30", "31", "22"),
    ),
    Gate(
        "CK-CT-HNHP",
        "Chốt cao tốc Hà Nội – Hải Phòng",
        "Cao tốc Hà Nội – Hải Phòng, nút giao Quốc lộ 5 (huyện Gia Lâm)",
        ("general", "driver", "freight"),
        55,
        ("31", "22", "30", "34"),
    ),
    Gate(
        "CK-PHUDONG",
        "Chốt cầu Phù Đổng – Quốc lộ 1",
        "Cầu Phù Đổng, Quốc lộ 1 (huyện Gia Lâm)",
        ("general", "driver"),
        65,
        ("27", "24", "20"),
    ),
    Gate(
        "CK-QL6-CHUONGMY",
        "Chốt Quốc lộ 6 – Chương Mỹ",
        "Quốc lộ 6, xã Trường Yên (huyện Chương Mỹ)",
        ("general", "driver"),
        40,
        ("17", "14", "11"),
    ),
    Gate(
        "CK-QL32-SONTAY",
        "Chốt Quốc lộ 32 – Sơn Tây",
        "Quốc lộ 32, phường Xuân Khanh (thị xã Sơn Tây)",
        ("general",),
        30,
        ("25", "15"),
    ),
    Gate(
        "CK-QL3-SOCSON",
        "Chốt Quốc lộ 3 – Sóc Sơn",
        "Quốc lộ 3, xã Phù Lỗ (huyện Sóc Sơn)",
        ("general", "driver"),
        40,
        ("19", "06", "04"),
    ),
    Gate(
        "CK-NOIBAI-LAOCAI",
        "Chốt cao tốc Nội Bài – Lào Cai",
        "Cao tốc Nội Bài – Lào Cai, nút giao Quốc lộ 2 (huyện Sóc Sơn)",
        ("general", "driver"),
        35,
        ("10", "15", "26", "25"),
    ),
)

# The levels the provinces declared that week (Hà Nội's own come from its computed zones).
ORIGIN_LEVELS: dict[str, int] = {
    "79": 4, "74": 4, "40": 3, "42": 3, "38": 2, "24": 2, "27": 2, "30": 2,
    "31": 1, "22": 1, "33": 1, "34": 1, "35": 1, "36": 1, "37": 1, "26": 1,
    "25": 1, "19": 1, "17": 1, "14": 1, "11": 1, "15": 1, "06": 1, "04": 1, "10": 1,
}  # fmt: skip
# Plate prefixes of each province (the first of several where there are more).
PLATES: dict[str, str] = {
    "01": "30", "79": "51", "74": "61", "40": "37", "42": "38", "38": "36", "24": "98",
    "27": "99", "30": "34", "31": "15", "22": "14", "33": "89", "34": "17", "35": "35",
    "36": "18", "37": "35", "26": "88", "25": "19", "19": "20", "17": "28", "14": "26",
    "11": "27", "15": "21", "06": "97", "04": "11", "10": "24",
}  # fmt: skip
VEHICLES = (("car", 45), ("truck", 35), ("bus", 4), ("motorbike", 14), ("other", 2))
REASONS = (
    "Chở hàng thiết yếu",
    "Công tác",
    "Về nơi cư trú",
    "Khám chữa bệnh",
    "Đi làm",
    "Chở công nhân",
)


@dataclass
class CheckpointsDemo:
    checkpoints: int = 0
    passages: int = 0
    vehicles: int = 0
    turned_back: int = 0
    flagged_groups: int = 0
    rapid_tests: int = 0
    positives: int = 0
    notices: int = 0
    health_facts: int = 0  # the driver lane's rapid tests, on the drivers' records
    reports: int = 0
    pending_transfer: str = ""
    accepted_transfer: str = ""
    station: str = STATION_GATE
    token: str = ""
    images: Path | None = None
    image_files: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        found = [
            f"{self.checkpoints} gateway checkpoints with {self.passages:,} passages in "
            f"{self.vehicles:,} vehicles over {DAYS} days ({self.turned_back:,} turned back, "
            f"{self.flagged_groups} flagged groups, {self.rapid_tests} rapid tests in the "
            f"driver lane, {self.positives} positive); {self.reports} daily reports.",
            f"Transfers from Quảng Ninh: {self.pending_transfer} waiting for Ba Đình, "
            f"{self.accepted_transfer} accepted by Phúc Xá.",
            f"Station token of {self.station} (shown once): {self.token}",
        ]
        if self.images is not None:
            found.append(
                f"Start a station: phongdich station --server http://127.0.0.1:8000 "
                f"--token {self.token} --images {self.images}"
            )
        return found


@dataclass(frozen=True)
class _Traveller:
    person_id: uuid.UUID
    unit: str  # the permanent residence (a migrant's home commune in another province)
    province: str
    initials: str
    birth_year: int
    document: str


def _initials(name: str) -> str:
    return initials_of(name)


def _token(rng: random.Random) -> str:
    """Like `auth.passwords.new_token`, but from the seed, as the users' passwords are."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return TOKEN_PREFIX + "".join(rng.choice(alphabet) for _ in range(43))


def _checkpoints(
    session: Session, rng: random.Random
) -> tuple[dict[str, Checkpoint], dict[str, Station], str]:
    actor = system_actor("demo")
    checkpoints: dict[str, Checkpoint] = {}
    stations: dict[str, Station] = {}
    token = ""
    officers = [
        name for name in OFFICERS if session.scalar(select(User.id).where(User.username == name))
    ]
    for gate in GATES:
        checkpoint = registry.register_checkpoint(
            session=session,
            actor=actor,
            code=gate.code,
            name=gate.name,
            unit_code=CITY,
            road=gate.road,
            lanes=gate.lanes,
        )
        for username in officers:
            registry.add_officer(session=session, actor=actor, code=gate.code, username=username)
        issued = registry.add_station(
            session=session, actor=actor, code=gate.code, label=f"Máy trạm {gate.name}"
        )
        mine = _token(rng)
        issued.station.token_hash = hash_token(mine)
        if gate.code == STATION_GATE:
            token = mine
        checkpoints[gate.code], stations[gate.code] = checkpoint, issued.station
    session.flush()
    return checkpoints, stations, token


def _zone_levels(session: Session) -> None:
    actor = system_actor("demo")
    for province, level in sorted(ORIGIN_LEVELS.items()):
        zones.override(
            session=session,
            actor=actor,
            unit_code=province,
            day=zones.today(),
            level=level,
            reason="Cấp độ dịch do tỉnh công bố",
        )


def _communes(session: Session, provinces: Sequence[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {p: [] for p in provinces}
    rows = session.execute(
        select(AdminUnit.code, AdminUnit.path).where(AdminUnit.level == 3).order_by(AdminUnit.code)
    )
    for code, path in rows:
        province = path.split("/")[0]
        if province in found:
            found[province].append(code)
    return found


def _travellers(session: Session, limit: int) -> tuple[list[_Traveller], list[_Traveller]]:
    """Adults of the demo city who may travel: (Hà Nội's own, migrant workers whose permanent
    residence is in another province). The outbreak's cases and contacts stay home, so the
    vehicles they would share add nobody to their tracing."""
    staying = select(Case.person_id).union(select(Contact.person_id))
    rows = session.execute(
        select(
            Person.id,
            Person.permanent_unit_code,
            Person.temporary_unit_code,
            AdminUnit.path,
            Person.full_name,
            Person.birth_year,
            IdentityDocument.number,
        )
        .join(IdentityDocument, IdentityDocument.person_id == Person.id)
        .join(AdminUnit, AdminUnit.code == Person.permanent_unit_code)
        .where(
            Person.birth_year <= 2003,
            IdentityDocument.kind == "cccd",
            Person.id.not_in(staying),
        )
        .order_by(Person.id)
    ).all()
    residents: list[_Traveller] = []
    migrants: list[_Traveller] = []
    for pid, permanent, temporary, path, name, year, number in rows:
        province = path.split("/")[0]
        home = permanent or temporary or CITY
        traveller = _Traveller(pid, home, province, _initials(name), year or 0, number)
        if temporary is not None and province != CITY:
            migrants.append(traveller)
        elif len(residents) < limit:
            residents.append(traveller)
    return residents, migrants


def _by_province(migrants: list[_Traveller]) -> dict[str, list[_Traveller]]:
    """Migrant workers by home province; a province with few of them borrows from all."""
    found: dict[str, list[_Traveller]] = {}
    for traveller in migrants:
        found.setdefault(traveller.province, []).append(traveller)
    provinces = {p for gate in GATES for p in gate.origins} | {QUANG_NINH}
    return {p: found[p] if len(found.get(p, ())) >= 5 else migrants for p in sorted(provinces)}


def _plate(rng: random.Random, province: str, vehicle: str) -> str:
    series = {"truck": "C", "bus": "B", "motorbike": "F1", "other": "LD"}.get(vehicle, "A")
    return f"{PLATES.get(province, '29')}{series}-{rng.randrange(100, 999)}.{rng.randrange(10, 99)}"


@dataclass
class _Writer:
    """Passages of one checkpoint, split into bulk rows and those sent through `receive`."""

    checkpoint: Checkpoint
    station: Station
    rows: list[dict[str, Any]] = field(default_factory=list)
    sent: list[sync.StationPassage] = field(default_factory=list)


def _traveller_verdict(
    rng: random.Random, at: datetime, zone: int | None, rapid: str
) -> tuple[str, str, str, str]:
    """What the traveller showed and the default entry rules' answer: (credential, verdict,
    reason, condition). Everyone in the demo city lives in Hà Nội (migrant workers as temporary
    residents), so a valid pass or card passes unless it says case or quarantine."""
    roll = rng.random()
    evidence: dict[str, datetime] = {}
    reasons: tuple[str, ...] = ()
    shown, state, colour = "pass", "valid", "green"
    if roll < 0.004:
        state = "revoked"
    elif roll < 0.007:
        colour, reasons = "red", ("Contact in quarantine",)
    elif roll < 0.04:
        state = "expired"
    elif roll < 0.12:
        shown, state = "cccd", "unverified"  # a card carries no health data
    elif roll < 0.70:
        evidence["vaccinated"] = at - timedelta(days=rng.randrange(15, 120))
    elif roll < 0.80:
        evidence["pcr_negative"] = at - timedelta(hours=rng.randrange(6, 70))
    else:
        colour = "yellow"
    traveller = Traveller(
        credential=state,
        colour=colour if state == "valid" else None,
        reasons=reasons,
        resident_of_destination=state in ("valid", "unverified"),
        origin_zone_level=zone,
        evidence=evidence,
        rapid_test=rapid,
    )
    verdict = evaluate(DEFAULT_RULES, traveller, at)
    return shown, verdict.verdict, verdict.reason, verdict.condition or ""


def _week(
    session: Session,
    rng: random.Random,
    writers: dict[str, _Writer],
    visitors: dict[str, list[_Traveller]],
    residents: list[_Traveller],
    communes: dict[str, list[str]],
    today: date,
    tz: tzinfo,
    summary: CheckpointsDemo,
) -> None:
    positive_day = today - timedelta(days=3)
    hanoi_zone = session.scalar(select(AdminUnit.zone_level).where(AdminUnit.code == CITY))
    flagged_left = dict(FLAGGED)
    for back in range(DAYS, 0, -1):
        day = today - timedelta(days=back)
        for gate in GATES:
            writer = writers[gate.code]
            count = int(gate.vehicles * rng.uniform(0.8, 1.2) * (0.8 if day.weekday() >= 5 else 1))
            for _ in range(count):
                local = datetime.combine(day, time(rng.randrange(5, 23), rng.randrange(60)))
                at = local.replace(tzinfo=tz).astimezone(UTC)
                vehicle = rng.choices([v for v, _ in VEHICLES], [w for _, w in VEHICLES])[0]
                inbound = rng.random() < 0.78
                home = rng.random() < 0.4
                province = CITY if home else rng.choice(gate.origins)
                size = {"truck": rng.choice((1, 1, 2)), "motorbike": rng.choice((1, 1, 2))}.get(
                    vehicle,
                    rng.choice((1, 2, 2, 3, 4)) if vehicle != "bus" else rng.randrange(8, 30),
                )
                flag = ""
                if vehicle == "bus" and inbound and not home and flagged_left.get(gate.code):
                    # A coach full of travellers and no manifest: the seed's 53 from Quảng Ninh.
                    size, flagged_left[gate.code] = flagged_left[gate.code], 0
                    province = QUANG_NINH if gate.code == STATION_GATE_QN else province
                    flag = LARGE_GROUP
                    summary.flagged_groups += 1
                crew = residents if home else visitors[province]
                people = rng.sample(crew, min(size, len(crew)))
                origin: str | None = None  # a trip of Hà Nội's own starts inside the city
                if province != CITY:  # where the first of them lives, or the road's province
                    first = people[0]
                    origin = first.unit if first.province == province else None
                    origin = origin or rng.choice(communes[province])
                zone = ORIGIN_LEVELS.get(province) if province != CITY else hanoi_zone
                driver_lane = vehicle == "truck" and "driver" in gate.lanes and inbound
                group = uuid.UUID(int=rng.getrandbits(128), version=4)
                plate = _plate(rng, province, vehicle)
                reason = rng.choice(REASONS)
                summary.vehicles += 1
                for seat, person in enumerate(people):
                    rapid = ""
                    if driver_lane and seat == 0 and rng.random() < 0.5:
                        rapid = "negative"
                        if (
                            gate.code == STATION_GATE
                            and day == positive_day
                            and not summary.positives
                        ):
                            rapid = "positive"
                            summary.positives += 1
                    credential, verdict, why, condition = _traveller_verdict(rng, at, zone, rapid)
                    summary.passages += 1
                    summary.turned_back += verdict == TURN_BACK
                    summary.rapid_tests += bool(rapid)
                    passage = sync.StationPassage(
                        id=uuid.UUID(int=rng.getrandbits(128), version=4),
                        at=at + timedelta(seconds=seat * 7),
                        direction="in" if inbound else "out",
                        lane="driver" if driver_lane and seat == 0 else "general",
                        group_id=group,
                        vehicle_plate=plate,
                        vehicle_type=vehicle,
                        origin_unit_code=origin if inbound else None,
                        origin_zone_level=zone if inbound and origin else None,
                        destination_unit_code=(CITY if inbound else origin),
                        reason=reason,
                        verdict=verdict,
                        reasons=(why,),
                        conditions=(condition,) if condition else (),
                        rules_scope="default",
                        rules_version=0,
                        officer=OFFICERS[0],
                        flagged=flag,
                        credential="document" if flag or rapid else credential,
                        document_number=person.document,
                        traveller=f"{person.initials} {person.birth_year}",
                        rapid_test=rapid,
                    )
                    if flag or rapid:
                        writer.sent.append(passage)
                    else:
                        writer.rows.append(_row(writer, passage, person.person_id))


def _row(writer: _Writer, p: sync.StationPassage, person_id: uuid.UUID) -> dict[str, Any]:
    return {
        "id": p.id,
        "at": p.at,
        "checkpoint_id": writer.checkpoint.id,
        "station_id": writer.station.id,
        "person_id": person_id,
        "direction": p.direction,
        "lane": p.lane,
        "group_id": p.group_id,
        "vehicle_plate": p.vehicle_plate.replace(" ", ""),
        "vehicle_type": p.vehicle_type,
        "origin_unit_code": p.origin_unit_code,
        "origin_zone_level": p.origin_zone_level,
        "destination_unit_code": p.destination_unit_code,
        "reason": p.reason,
        "verdict": p.verdict,
        "reasons": list(p.reasons),
        "conditions": list(p.conditions),
        "rules_scope": p.rules_scope,
        "rules_version": p.rules_version,
        "officer": p.officer,
        "flagged": "",
        "credential": p.credential,
        "traveller": p.traveller,
        "transfer_id": None,
        "rapid_test": "",
        "received_at": p.at + timedelta(minutes=2),
    }


def _write(session: Session, writers: dict[str, _Writer], summary: CheckpointsDemo) -> None:
    for writer in writers.values():
        for start in range(0, len(writer.rows), 5000):
            session.execute(insert(PASSAGES), writer.rows[start : start + 5000])
        if writer.sent:
            context = registry.StationContext(
                writer.station,
                writer.checkpoint,
                system_actor(f"station:{writer.checkpoint.code}"),
            )
            for start in range(0, len(writer.sent), sync.MAX_BATCH):
                received = sync.receive(
                    session=session,
                    context=context,
                    passages=writer.sent[start : start + sync.MAX_BATCH],
                )
                summary.notices += received.notices


def _transfers(
    session: Session, quang_ninh: list[_Traveller], today: date, summary: CheckpointsDemo
) -> str:
    """A manifest waiting for Ba Đình and one Phúc Xá accepted; the accepted one's code."""
    actor = system_actor("demo")
    leaving = sorted(quang_ninh, key=lambda t: t.document)
    half = max(1, min(12, len(leaving) // 2))
    pending = transfers.file_transfer(
        session=session,
        actor=actor,
        from_unit_code=HALONG,
        to_unit_code=PENDING_TO,
        reason="Tiếp tục cách ly tại nơi cư trú",
        travel_date=today + timedelta(days=1),
        document_numbers=[t.document for t in leaving[:half]],
        route="Hạ Long – cao tốc Hạ Long – Hải Phòng – Quốc lộ 5 – Hà Nội",
        vehicle_plate="14B-025.63",
        vehicle_type="bus",
        today=today,
    )
    accepted = transfers.file_transfer(
        session=session,
        actor=actor,
        from_unit_code=CAMPHA,
        to_unit_code=ACCEPTED_TO,
        reason="Công nhân về nơi cư trú",
        travel_date=today,
        document_numbers=[t.document for t in leaving[half : half + 8]],
        route="Cẩm Phả – Quốc lộ 18 – Quốc lộ 5 – Hà Nội",
        vehicle_plate="14B-031.07",
        vehicle_type="bus",
        today=today,
    )
    transfers.decide(
        session=session,
        actor=actor,
        code=accepted.code,
        accept=True,
        note="Đã bố trí cách ly tại nhà",
    )
    summary.pending_transfer, summary.accepted_transfer = pending.code, accepted.code
    return accepted.code


def _daily_reports(session: Session, checkpoints: Sequence[Checkpoint], today: date) -> int:
    """Each day of the week aggregated now, as the evening job would have done."""
    days = [today - timedelta(days=back) for back in range(DAYS, 0, -1)]
    return sum(reports.recompute(session, checkpoint.id, days) for checkpoint in checkpoints)


def add_checkpoints(
    session: Session, *, seed: int, settings: Settings | None = None
) -> CheckpointsDemo:
    """Needs the demo city (its people and users) in the session."""
    settings = settings or get_settings()
    rng = random.Random(seed * 7919 + 5)
    summary = CheckpointsDemo()
    today = datetime.now(settings.tz).date()
    checkpoints, stations, summary.token = _checkpoints(session, rng)
    summary.checkpoints = len(checkpoints)
    _zone_levels(session)
    provinces = sorted({p for gate in GATES for p in gate.origins} | {QUANG_NINH})
    communes = _communes(session, provinces)
    residents, migrants = _travellers(session, 2000)
    visitors = _by_province(migrants)
    writers = {code: _Writer(checkpoints[code], stations[code]) for code in sorted(checkpoints)}
    facts = session.scalar(select(func.count()).select_from(HealthFact)) or 0
    _week(session, rng, writers, visitors, residents, communes, today, settings.tz, summary)
    _write(session, writers, summary)
    summary.health_facts = (
        session.scalar(select(func.count()).select_from(HealthFact)) or 0
    ) - facts
    accepted = _transfers(session, visitors[QUANG_NINH], today, summary)
    summary.reports = _daily_reports(session, list(checkpoints.values()), today)
    folder = settings.data_dir / "demo-station"
    summary.images = folder.resolve()
    summary.image_files = station_images.write_images(
        session,
        folder,
        keys=keyring(settings),
        seed=seed,
        residents=[t.person_id for t in residents],
        transfer_code=accepted,
    )
    return summary


def expected(folder: Path) -> dict[str, dict[str, str]]:
    """The verdict a station should show for each image (written beside them)."""
    data: dict[str, dict[str, str]] = json.loads((folder / "expected.json").read_text("utf-8"))
    return data
