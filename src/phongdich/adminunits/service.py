"""Loading the administrative tree and looking units up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import Actor, units_within
from phongdich.auth.roles import Permission
from phongdich.errors import Invalid, NotFound
from phongdich.importing import ImportReport, read_source, rows
from phongdich.text import fold

CSV_COLUMNS = ("code", "name", "level", "parent_code")
# The columns are SMALLINT and INTEGER; bigger numbers are typing mistakes, not units.
MAX_LEVEL = 10
MAX_POPULATION = 2_000_000_000
BUILTIN_TREES = {
    # The province / district / commune tree in force in 2021 (list of 2021-02-03).
    "vn-2021": "vn_2021.csv",
}


@dataclass(frozen=True)
class UnitRow:
    code: str
    name: str
    level: int
    parent_code: str | None
    population: int | None
    line: int = 0  # the CSV line, so load errors point at the row to fix


def official_rows() -> list[UnitRow]:
    """The current official two-level list (province → commune) from `vietnam-provinces`."""
    from vietnam_provinces import Province, Ward

    out = [UnitRow(f"{int(p.code):02d}", p.name, 1, None, None) for p in Province.iter_all()]
    out += [
        UnitRow(f"{int(w.code):05d}", w.name, 2, f"{int(w.province_code):02d}", None)
        for w in Ward.iter_all()
    ]
    return out


def builtin_csv(name: str) -> str:
    if name not in BUILTIN_TREES:
        raise Invalid("tree", f"unknown built-in tree {name!r}; one of: {', '.join(BUILTIN_TREES)}")
    return (resources.files("phongdich.adminunits") / "data" / BUILTIN_TREES[name]).read_text(
        encoding="utf-8"
    )


def parse_csv(source: bytes | str | Path, report: ImportReport) -> list[UnitRow]:
    """Validate each row on its own; a row whose parent is unknown is reported, not loaded."""
    parsed: list[UnitRow] = []
    seen: set[str] = set()
    for line, row in rows(read_source(source), required=CSV_COLUMNS, optional=("population",)):
        code, name = row["code"], row["name"]
        if not code or len(code) > 16:
            report.error(line, "code", "required, at most 16 characters")
            continue
        if "/" in code:  # '/' separates codes in the materialised path
            report.error(line, "code", "must not contain '/'")
            continue
        if code in seen:
            report.error(line, "code", f"code {code} appears twice in the file")
            continue
        if not name:
            report.error(line, "name", "required")
            continue
        try:
            level = int(row["level"])
            if not 1 <= level <= MAX_LEVEL:
                raise ValueError
        except ValueError:
            report.error(
                line, "level", f"a whole number from 1 (the top of the tree) to {MAX_LEVEL}"
            )
            continue
        population: int | None = None
        if row.get("population"):
            try:
                population = int(row["population"].replace(".", "").replace(",", ""))
                if not 0 <= population <= MAX_POPULATION:
                    raise ValueError
            except ValueError:
                report.error(line, "population", "a whole number of people, or empty")
                continue
        parent = row["parent_code"] or None
        if parent == code:
            report.error(line, "parent_code", "a unit cannot be its own parent")
            continue
        seen.add(code)
        parsed.append(UnitRow(code, name[:200], level, parent, population, line))
    return parsed


def load_units(
    *, session: Session, actor: Actor, units: Sequence[UnitRow], report: ImportReport | None = None
) -> ImportReport:
    """Insert or update units; parents come first so the foreign key always holds."""
    actor.require(Permission.ADMINUNITS_MANAGE)
    report = report or ImportReport()
    existing = {
        u.code: u
        for u in session.execute(
            select(
                AdminUnit.code,
                AdminUnit.name,
                AdminUnit.level,
                AdminUnit.parent_code,
                AdminUnit.population,
                AdminUnit.path,
            )
        ).all()
    }
    by_code = {u.code: u for u in units}
    paths: dict[str, str | None] = {}

    def path_of(code: str, trail: frozenset[str] = frozenset()) -> str | None:
        if code in paths:
            return paths[code]
        if code in trail:
            return None  # a cycle: reported by the caller
        unit = by_code.get(code)
        if unit is None:
            known = existing.get(code)
            paths[code] = known.path if known else None
            return paths[code]
        if unit.parent_code is None:
            paths[code] = code
            return code
        parent_path = path_of(unit.parent_code, trail | {code})
        # A parent known only from the database may be this unit's own descendant: a cycle.
        if parent_path is None or code in parent_path.split("/"):
            paths[code] = None
        else:
            paths[code] = f"{parent_path}/{code}"
        return paths[code]

    inserts: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    for unit in units:
        path = path_of(unit.code)
        if path is None:
            report.error(
                unit.line,
                "parent_code",
                f"unit {unit.code}: parent {unit.parent_code} is unknown or part of a cycle",
            )
            continue
        values = {
            "code": unit.code,
            "name": unit.name,
            "name_folded": fold(unit.name),
            "level": unit.level,
            "parent_code": unit.parent_code,
            "path": path,
            "population": unit.population,
        }
        old = existing.get(unit.code)
        if old is None:
            inserts.append(values)
        elif (old.name, old.level, old.parent_code, old.population, old.path) != (
            unit.name,
            unit.level,
            unit.parent_code,
            unit.population,
            path,
        ):
            updates.append(values)
        else:
            report.unchanged += 1
    inserts.sort(key=lambda v: str(v["path"]).count("/"))
    for start in range(0, len(inserts), 2000):
        session.execute(insert(AdminUnit), inserts[start : start + 2000])
    for values in sorted(updates, key=lambda v: str(v["path"]).count("/")):
        session.execute(update(AdminUnit).where(AdminUnit.code == values["code"]).values(**values))
    report.created += len(inserts)
    report.updated += len(updates)
    if updates:
        _refresh_descendant_paths(session)
    session.flush()
    return report


def _refresh_descendant_paths(session: Session) -> None:
    """A moved unit moves its subtree: recompute every path from the parents."""
    all_units = session.execute(select(AdminUnit.code, AdminUnit.parent_code, AdminUnit.path)).all()
    parent = {u.code: u.parent_code for u in all_units}
    current = {u.code: u.path for u in all_units}
    computed: dict[str, str] = {}

    def compute(code: str, trail: frozenset[str] = frozenset()) -> str:
        if code not in computed:
            if code in trail:
                raise Invalid("parent_code", f"unit {code} would become its own ancestor")
            up = parent[code]
            computed[code] = code if up is None else f"{compute(up, trail | {code})}/{code}"
        return computed[code]

    for code in parent:
        if compute(code) != current[code]:
            session.execute(
                update(AdminUnit).where(AdminUnit.code == code).values(path=computed[code])
            )


def get_unit(*, session: Session, code: str) -> AdminUnit:
    unit = session.get(AdminUnit, code.strip())
    if unit is None:
        raise NotFound("admin unit", code)
    return unit


def search_units(
    *,
    session: Session,
    query: str = "",
    parent_code: str | None = None,
    level: int | None = None,
    limit: int = 50,
) -> Sequence[AdminUnit]:
    """By code, or by name with or without diacritics ('chuong my' finds 'Huyện Chương Mỹ')."""
    stmt = select(AdminUnit).order_by(AdminUnit.level, AdminUnit.name_folded).limit(limit)
    if query.strip():
        folded = fold(query)
        stmt = stmt.where(
            or_(
                AdminUnit.code == query.strip(),
                AdminUnit.name_folded.contains(folded, autoescape=True),
            )
        )
    if parent_code is not None:
        stmt = stmt.where(AdminUnit.parent_code == parent_code)
    if level is not None:
        stmt = stmt.where(AdminUnit.level == level)
    return session.scalars(stmt).all()


def ancestors(*, session: Session, unit: AdminUnit) -> list[AdminUnit]:
    """From the top of the tree down to the unit's parent."""
    codes = unit.path.split("/")[:-1]
    if not codes:
        return []
    found = {u.code: u for u in session.scalars(select(AdminUnit).where(AdminUnit.code.in_(codes)))}
    return [found[c] for c in codes if c in found]


def count_units(*, session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AdminUnit)) or 0


def label(unit: AdminUnit | None, lineage: Sequence[AdminUnit] = ()) -> str:
    """'Phường Phúc Xá, Quận Ba Đình, Thành phố Hà Nội'."""
    if unit is None:
        return ""
    return ", ".join([unit.name, *(u.name for u in reversed(lineage))])


def names(*, session: Session, codes: set[str]) -> dict[str, str]:
    """Code -> name for display."""
    if not codes:
        return {}
    rows = session.execute(
        select(AdminUnit.code, AdminUnit.name).where(AdminUnit.code.in_(codes))
    ).all()
    return {row.code: row.name for row in rows}


def units_under(*, session: Session, actor: Actor, limit: int = 1000) -> Sequence[AdminUnit]:
    """The actor's own unit and those below it (empty for nationwide actors: too many to list)."""
    within = units_within(actor)
    if within is None:
        return []
    return session.scalars(
        select(AdminUnit).where(within).order_by(AdminUnit.path).limit(limit)
    ).all()


def is_leaf(*, session: Session, code: str) -> bool:
    """A unit with no units below it: a commune in the 2021 tree."""
    return (
        session.scalar(select(AdminUnit.code).where(AdminUnit.parent_code == code).limit(1)) is None
    )


def home_commune(*, session: Session, actor: Actor | None) -> str:
    """The code a form's unit field starts with: the staff user's own unit when it is a commune
    (they mostly register what lies in it), else nothing."""
    if actor is None or actor.unit_code is None:
        return ""
    return actor.unit_code if is_leaf(session=session, code=actor.unit_code) else ""
