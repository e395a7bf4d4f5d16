"""Writing and purging check-in rows: bulk inserts, daily partitions, daily counts.

On PostgreSQL `checkin_events` is partitioned by UTC day: a partition exists before any row of
its day is written, and retention drops whole partitions (deleted means gone, at once, with no
dead rows left for vacuum). SQLite has one table, purged by a range delete on the primary key
with `secure_delete` on, so the bytes are overwritten too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Table, any_, bindparam, cast, func, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import InstrumentedAttribute, Session

from phongdich.checkins.models import CheckinDailyCount, CheckinEvent
from phongdich.db import UTCDateTime

EVENTS: Table = CheckinEvent.__table__  # type: ignore[assignment]
COUNTS: Table = CheckinDailyCount.__table__  # type: ignore[assignment]
PARTITION_PREFIX = "checkin_events_p"
# Serialises partition creation between servers (an arbitrary constant, the same everywhere).
_PARTITION_LOCK = 7_304_211


def dialect_name(session: Session | Connection) -> str:
    return session.get_bind().dialect.name if isinstance(session, Session) else session.dialect.name


def insert_for(session: Session | Connection) -> Any:
    """The dialect's INSERT construct, which knows ON CONFLICT."""
    return postgresql.insert if dialect_name(session) == "postgresql" else sqlite.insert


def one_of(
    session: Session, column: ColumnElement[Any] | InstrumentedAttribute[Any], values: Sequence[Any]
) -> ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `= ANY(array)`, one parameter instead of thousands.

    The values must not hold commas: UUIDs and document numbers.
    """
    if dialect_name(session) == "postgresql":
        # One comma-joined text, split and cast by the server (see `_insert_new_unnest`).
        joined: BindParameter[str] = bindparam(None, ",".join(str(v) for v in values), unique=True)
        return column == any_(
            cast(func.string_to_array(joined, ","), postgresql.ARRAY(column.type))
        )
    return column.in_(values)


def partition_name(day: date) -> str:
    return f"{PARTITION_PREFIX}{day:%Y%m%d}"


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def existing_partitions(session: Session | Connection) -> dict[date, str]:
    rows = session.execute(
        text(
            "SELECT c.relname FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'checkin_events'"
        )
    ).scalars()
    found: dict[date, str] = {}
    for name in rows:
        suffix = name.removeprefix(PARTITION_PREFIX)
        if suffix != name and suffix.isdigit() and len(suffix) == 8:
            found[date(int(suffix[:4]), int(suffix[4:6]), int(suffix[6:]))] = name
    return found


def ensure_partitions(session: Session | Connection, days: Iterable[date]) -> None:
    """Create the missing daily partitions (PostgreSQL), before inserting rows of those days.

    One catalogue query when they exist (the usual case: the worker makes them days ahead).
    """
    if dialect_name(session) != "postgresql":
        return
    wanted = set(days)
    if not wanted - existing_partitions(session).keys():
        return
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PARTITION_LOCK})
    for day in sorted(wanted - existing_partitions(session).keys()):
        session.execute(
            text(
                f"CREATE TABLE {partition_name(day)} PARTITION OF checkin_events "
                f"FOR VALUES FROM ('{_day_start(day).isoformat()}') "
                f"TO ('{_day_start(day + timedelta(days=1)).isoformat()}')"
            )
        )


def insert_new(session: Session, rows: Sequence[Mapping[str, Any]]) -> set[uuid.UUID]:
    """Insert the rows not stored yet; return the ids that were new (the rest were duplicates)."""
    if not rows:
        return set()
    ensure_partitions(session, {row["at"].astimezone(UTC).date() for row in rows})
    if dialect_name(session) == "postgresql":
        return _insert_new_unnest(session, rows)
    stmt = (
        insert_for(session)(EVENTS)
        .on_conflict_do_nothing(index_elements=["at", "id"])
        .returning(EVENTS.c.id)
    )
    return set(session.execute(stmt, list(rows)).scalars())


# PostgreSQL array types of the event columns, for `_insert_new_unnest`.
_PG_ARRAYS = {
    "at": "timestamptz[]",
    "id": "uuid[]",
    "venue_id": "uuid[]",
    "person_id": "uuid[]",
    "direction": "varchar[]",
    "source": "varchar[]",
    "received_at": "timestamptz[]",
}


def _pg_text(value: Any) -> str:
    """A value as PostgreSQL reads it back from text: none of these can hold a comma."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _insert_new_unnest(session: Session, rows: Sequence[Mapping[str, Any]]) -> set[uuid.UUID]:
    """One INSERT … SELECT FROM unnest(arrays) per batch: one parameter per column.

    The multi-row VALUES form has seven parameters per row; at 10,000 rows psycopg spends longer
    parsing those statements than the server spends inserting. Each column goes as one
    comma-joined text that the server splits and casts: dumping Python lists of UUIDs and times
    as array parameters costs the client more than the insert itself.
    """
    names = list(_PG_ARRAYS)
    missing = set(rows[0]) - set(names)
    if missing:
        raise ValueError(f"not check-in event columns: {sorted(missing)}")
    arrays = ", ".join(
        f"CAST(string_to_array(:{name}, ',') AS {_PG_ARRAYS[name]})" for name in names
    )
    stmt = text(
        f"INSERT INTO {EVENTS.name} ({', '.join(names)}) SELECT * FROM unnest({arrays}) "  # noqa: S608
        "ON CONFLICT (at, id) DO NOTHING RETURNING id"
    )
    params = {name: ",".join([_pg_text(row[name]) for row in rows]) for name in names}
    return set(session.execute(stmt, params).scalars().all())  # one fetch, not one per row


def add_counts(session: Session, counts: Mapping[tuple[uuid.UUID, date, str], list[int]]) -> None:
    """Add [check-ins, check-outs] per (venue, local day, unit) to the daily counts."""
    if not counts:
        return
    values = [
        {"venue_id": venue, "day": day, "unit_code": unit, "checkins": n[0], "checkouts": n[1]}
        for (venue, day, unit), n in sorted(counts.items(), key=lambda item: item[0][:2])
    ]
    if dialect_name(session) == "postgresql":
        # As in `insert_new`: one parameter per column rather than five per row. The rows keep
        # their (venue, day) order, so concurrent batches lock them in the same order.
        session.execute(
            text(
                "INSERT INTO checkin_daily_counts (venue_id, day, unit_code, checkins, checkouts) "
                "SELECT * FROM unnest(CAST(:venue_id AS uuid[]), CAST(:day AS date[]), "
                "CAST(:unit_code AS varchar[]), CAST(:checkins AS integer[]), "
                "CAST(:checkouts AS integer[])) "
                "ON CONFLICT (venue_id, day) DO UPDATE SET "
                "checkins = checkin_daily_counts.checkins + excluded.checkins, "
                "checkouts = checkin_daily_counts.checkouts + excluded.checkouts"
            ),
            {key: [row[key] for row in values] for key in values[0]},
        )
        return
    stmt = insert_for(session)(COUNTS)
    stmt = stmt.on_conflict_do_update(
        index_elements=["venue_id", "day"],
        set_={
            "checkins": COUNTS.c.checkins + stmt.excluded.checkins,
            "checkouts": COUNTS.c.checkouts + stmt.excluded.checkouts,
        },
    )
    session.execute(stmt, values)


def purge_before(session: Session, before: datetime, *, chunk: int = 50_000) -> tuple[int, bool]:
    """Delete events older than `before`, one bounded step per call: (rows deleted, more left).

    PostgreSQL drops the partitions wholly before the cutoff (one per call) and deletes from
    the one that straddles it; SQLite deletes up to `chunk` rows.
    """
    if dialect_name(session) == "postgresql":
        for day, name in sorted(existing_partitions(session).items()):
            if _day_start(day + timedelta(days=1)) <= before:
                # `name` comes from the catalogue and matched the partition pattern above.
                count = session.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()  # noqa: S608
                session.execute(text(f"DROP TABLE {name}"))
                return int(count), True
        result = session.execute(EVENTS.delete().where(EVENTS.c.at < before))
        return int(result.rowcount or 0), False  # type: ignore[attr-defined]
    result = session.execute(
        text(
            "DELETE FROM checkin_events WHERE rowid IN "
            "(SELECT rowid FROM checkin_events WHERE at < :before LIMIT :chunk)"
        ).bindparams(bindparam("before", type_=UTCDateTime())),
        {"before": before, "chunk": chunk},
    )
    deleted = int(result.rowcount or 0)  # type: ignore[attr-defined]
    return deleted, deleted >= chunk
