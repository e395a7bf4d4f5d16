"""The station's own SQLite file: passages queued until the server has them, and the bundle.

A passage is committed here (synchronous=FULL) before the officer sees the verdict, so a power
cut loses nothing that was shown. Rows are marked sent only after the server answered for
them; a station killed in between sends them again and the server recognises their ids.
Once sent, a row's card text (a CCCD number) is blanked: the station keeps no ID numbers.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS passages (
    id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at TEXT,
    rejected TEXT,
    rejected_at TEXT
);
CREATE INDEX IF NOT EXISTS ix_passages_unsent ON passages (sent_at, at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rapid_tests (
    passage_id TEXT PRIMARY KEY,
    result TEXT NOT NULL,
    at TEXT NOT NULL,
    sent_at TEXT
);
"""


RETRY_REFUSED_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class QueueCounts:
    queued: int
    sent: int
    rejected: int
    oldest_queued: str | None


class Queue:
    """Thread-safe: the camera loop, the local page and the sync loop share one station."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        # Blanked card text is overwritten on disk too, not left in free pages.
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.executescript(SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(passages)")}
        if "rejected_at" not in columns:  # a queue file from before refusals were retried
            self._db.execute("ALTER TABLE passages ADD COLUMN rejected_at TEXT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, passage: dict[str, Any]) -> None:
        """Queue one passage (idempotent by id)."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO passages (id, at, body) VALUES (?, ?, ?)",
                (passage["id"], passage["at"], json.dumps(passage, ensure_ascii=False)),
            )

    def add_many(self, passages: Iterable[dict[str, Any]]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR IGNORE INTO passages (id, at, body) VALUES (?, ?, ?)",
                ((p["id"], p["at"], json.dumps(p, ensure_ascii=False)) for p in passages),
            )
            self._db.execute("COMMIT")

    def pending(self, limit: int) -> list[dict[str, Any]]:
        """The oldest unsent passages; one the server refused is offered again once a day (the
        server may accept it by then: a corrected clock, a newer server), not at every sync."""
        retry_before = (datetime.now(UTC) - RETRY_REFUSED_AFTER).isoformat()
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM passages WHERE sent_at IS NULL "
                "AND (rejected IS NULL OR rejected_at < ?) ORDER BY at, id LIMIT ?",
                (retry_before, limit),
            ).fetchall()
        return [json.loads(body) for (body,) in rows]

    def mark_sent(self, ids: Sequence[str]) -> None:
        now = datetime.now(UTC).isoformat()
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "UPDATE passages SET sent_at = ?, body = json_remove(body, '$.card') WHERE id = ?",
                ((now, passage_id) for passage_id in ids),
            )
            self._db.execute("COMMIT")

    def reject(self, passage_id: str, why: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE passages SET rejected = ?, rejected_at = ? WHERE id = ?",
                (why[:300], datetime.now(UTC).isoformat(), passage_id),
            )

    def flag_group(self, group_id: str, why: str) -> int:
        """Flag the group's passages not yet sent (a group found large only at its 10th
        person was not flagged at its first)."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE passages SET body = json_set(body, '$.flagged', ?) "
                "WHERE sent_at IS NULL AND json_extract(body, '$.group_id') = ? "
                "AND coalesce(json_extract(body, '$.flagged'), '') = ''",
                (why, group_id),
            )
            return cursor.rowcount

    def rejected(self) -> list[tuple[dict[str, Any], str]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT body, rejected FROM passages WHERE rejected IS NOT NULL ORDER BY at"
            ).fetchall()
        return [(json.loads(body), why) for body, why in rows]

    def counts(self) -> QueueCounts:
        with self._lock:
            queued, sent, rejected, oldest = self._db.execute(
                "SELECT "
                "SUM(sent_at IS NULL AND rejected IS NULL), SUM(sent_at IS NOT NULL), "
                "SUM(rejected IS NOT NULL), MIN(CASE WHEN sent_at IS NULL THEN at END) "
                "FROM passages"
            ).fetchone()
        return QueueCounts(queued or 0, sent or 0, rejected or 0, oldest)

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT body, sent_at FROM passages ORDER BY at DESC LIMIT ?", (limit,)
            ).fetchall()
        return [{**json.loads(body), "sent": sent_at is not None} for body, sent_at in rows]

    def all_ids(self) -> list[str]:
        with self._lock:
            return [row[0] for row in self._db.execute("SELECT id FROM passages")]

    def add_rapid_test(self, passage_id: str, result: str, at: str) -> None:
        """The lane's rapid test for a passage; a corrected result replaces an unsent one."""
        with self._lock:
            self._db.execute(
                "INSERT INTO rapid_tests (passage_id, result, at) VALUES (?, ?, ?) "
                "ON CONFLICT (passage_id) DO UPDATE SET result = excluded.result, "
                "at = excluded.at, sent_at = NULL",
                (passage_id, result, at),
            )

    def pending_rapid_tests(self, limit: int = 500) -> list[dict[str, str]]:
        """Unsent results whose passage the server already has."""
        with self._lock:
            rows = self._db.execute(
                "SELECT r.passage_id, r.result, r.at FROM rapid_tests r "
                "JOIN passages p ON p.id = r.passage_id "
                "WHERE r.sent_at IS NULL AND p.sent_at IS NOT NULL ORDER BY r.at LIMIT ?",
                (limit,),
            ).fetchall()
        return [{"passage_id": a, "result": b, "at": c} for a, b, c in rows]

    def mark_rapid_sent(self, tests: Sequence[dict[str, str]]) -> None:
        """Mark sent the results exactly as sent: one corrected meanwhile stays to be sent."""
        now = datetime.now(UTC).isoformat()
        with self._lock:
            self._db.executemany(
                "UPDATE rapid_tests SET sent_at = ? WHERE passage_id = ? AND result = ? AND at = ?",
                ((now, t["passage_id"], t["result"], t["at"]) for t in tests),
            )

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
