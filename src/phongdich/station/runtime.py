"""One checkpoint station: scans in, verdicts out, passages queued and synced.

Everything the officer sees comes from local data (the cached bundle and the queue), so a
network failure changes nothing at the lane but the age shown on the page. The camera loop,
the USB scanner (typed into the local page) and the sync loop all call into one `Station`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from phongdich.checkpoints.entry_rules import PASS, TURN_BACK
from phongdich.station import assess
from phongdich.station.client import Client, Offline, Refused
from phongdich.station.offline import Offline as OfflineData
from phongdich.station.queue import Queue
from phongdich.text import plate as text_plate

log = logging.getLogger("phongdich.station")

DEDUPE_SECONDS = 10.0  # the same code held in front of the camera is one passage
BATCH = 1000
REFRESH_SECONDS = 300.0
LOOKUP_TIMEOUT = 0.5  # a CCCD card is looked up online only if the answer is this quick
LOOKUP_PAUSE = 60.0


@dataclass
class Shown:
    """A verdict as the officer's page shows it."""

    passage_id: str | None
    at: datetime
    verdict: str  # pass | conditional | turn_back | unreadable | note
    reason: str
    condition: str = ""
    flagged: str = ""
    traveller: str = ""
    credential: str = ""
    problem: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class SyncResult:
    sent: int = 0
    stored: int = 0
    already: int = 0
    rejected: int = 0
    rapid_tests: int = 0
    offline: bool = False


class Station:
    def __init__(
        self,
        client: Client,
        queue: Queue,
        *,
        officer: str = "",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.queue = queue
        self.officer = officer
        self.clock = clock
        self.monotonic = monotonic
        self.context = assess.Context()
        self.offline: OfflineData | None = None
        self.shown: list[Shown] = []
        self.last_sync: datetime | None = None
        self.last_error = ""
        self._seen: dict[str, float] = {}
        # When the server last failed to answer: a card is not looked up for a while after.
        self._unreachable_at: float | None = None
        self._lock = threading.RLock()
        self._sync_lock = threading.Lock()
        cached = queue.get_meta("bundle")
        if cached:
            self.offline = OfflineData.from_bundle(json.loads(cached))

    @classmethod
    def open(cls, server: str, token: str, data_dir: str | Path, **kwargs: Any) -> Station:
        folder = Path(data_dir)
        folder.mkdir(parents=True, exist_ok=True)
        return cls(Client(server, token), Queue(folder / "station.sqlite3"), **kwargs)

    # The offline copy

    def refresh(self) -> bool:
        """Fetch a new bundle; False (keeping the old copy) when the server is unreachable."""
        try:
            data = self.client.bundle()
        except (Offline, Refused) as exc:
            self.last_error = str(exc)
            return False
        offline = OfflineData.from_bundle(data)
        self.queue.set_meta("bundle", json.dumps(data, ensure_ascii=False))
        with self._lock:
            self.offline = offline
        self._unreachable_at = None
        return True

    def require_offline(self) -> OfflineData:
        if self.offline is None:
            raise RuntimeError("no bundle yet: the station must reach the server once")
        return self.offline

    # Scanning

    def _duplicate(self, key: str) -> bool:
        now = self.monotonic()
        for old, seen in list(self._seen.items()):
            if now - seen > DEDUPE_SECONDS:
                del self._seen[old]
        if key in self._seen:
            self._seen[key] = now
            return True
        self._seen[key] = now
        return False

    def scan(self, text: str) -> Shown | None:
        """One code read by the camera or typed by the scanner; None for a repeat."""
        key = hashlib.sha256(text.strip().encode()).hexdigest()
        with self._lock:
            if self._duplicate(key):
                return None
            offline = self.require_offline()
            at = self.clock()
            reading = assess.read(text, offline, at)
            if reading.kind == "transfer":
                return self._attach_transfer(reading, at)
            if reading.kind == "invitation":
                return self._attach_invitation(reading, at)
            if reading.kind == "unknown":
                return self._show(Shown(None, at, "unreadable", reading.problem))
            if reading.kind == "cccd" and reading.state == "unverified":
                self._look_up(reading)
            return self._record(reading, offline, at)

    def _look_up(self, reading: assess.Reading) -> None:
        """A card carries no health data: ask the server, if it answers at once."""
        if not reading.card:
            return
        now = self.monotonic()
        if self._unreachable_at is not None and now - self._unreachable_at < LOOKUP_PAUSE:
            return  # the network was down a moment ago: do not make the lane wait on it
        try:
            found = self.client.lookup(reading.card, timeout=LOOKUP_TIMEOUT)
        except Offline:
            self._unreachable_at = now
            return
        except Refused:
            return
        reading.colour = found.get("colour")
        reading.reasons = tuple(found.get("reasons") or ())
        reading.unit = found.get("unit_code")
        reading.evidence = {
            name: datetime.fromisoformat(value)
            for name, value in (found.get("evidence") or {}).items()
        }

    def _attach_transfer(self, reading: assess.Reading, at: datetime) -> Shown:
        offline = self.require_offline()
        if reading.state != "valid" or reading.transfer is None:
            return self._show(
                Shown(
                    None, at, TURN_BACK, "The transfer code is not valid", problem=reading.problem
                )
            )
        manifest = offline.manifests.get(reading.transfer.transfer_id)
        status = manifest.status if manifest else "unknown"
        self.context.transfer = reading.transfer
        self.context.transfer_group = True
        if not self.context.vehicle_plate:
            self.context.vehicle_plate = reading.transfer.plate
        if self.context.group_id is None:
            self.context.group_id = uuid.uuid4()
        verdict = PASS if status == "accepted" else TURN_BACK
        return self._show(
            Shown(
                None,
                at,
                verdict,
                f"Transfer {reading.transfer.code}: {status}",
                details={"people": reading.transfer.people, "plate": reading.transfer.plate},
            )
        )

    def _attach_invitation(self, reading: assess.Reading, at: datetime) -> Shown:
        if reading.state != "valid" or reading.invitation is None:
            return self._show(
                Shown(None, at, TURN_BACK, "The invitation is not valid", problem=reading.problem)
            )
        self.context.invitation = reading.invitation
        return self._show(
            Shown(None, at, "note", "Invitation read: now scan the invited person's pass")
        )

    def _record(self, reading: assess.Reading, offline: OfflineData, at: datetime) -> Shown:
        decision = assess.decide(reading, self.context, offline, at)
        verdict = decision.verdict
        passage_id = str(uuid.uuid4())
        passage: dict[str, Any] = {
            "id": passage_id,
            "at": at.isoformat(),
            "direction": self.context.direction,
            "lane": self.context.lane,
            "group_id": str(self.context.group_id) if self.context.group_id else None,
            "vehicle_plate": self.context.vehicle_plate,
            "vehicle_type": self.context.vehicle_type,
            "origin_unit_code": decision.origin_unit_code,
            "destination_unit_code": decision.destination_unit_code,
            "origin_zone_level": decision.traveller.origin_zone_level,
            "reason": self.context.reason,
            "verdict": verdict.verdict,
            "reasons": [verdict.reason],
            "conditions": [verdict.condition] if verdict.condition else [],
            "rules_scope": decision.scope,
            "rules_version": decision.version,
            "officer": self.officer,
            "flagged": decision.flagged,
            "credential": reading.kind,
            "pass_id": str(reading.pass_id) if reading.pass_id else None,
            "card": reading.card,
            "traveller": reading.traveller,
            "transfer_id": str(decision.transfer_id) if decision.transfer_id else None,
            "rapid_test": self.context.rapid_test,
        }
        self.queue.add(passage)  # committed before the verdict is shown
        if (
            assess.LARGE_GROUP in decision.flagged
            and self.context.group_id is not None
            and self.context.group_size + 1 == assess.GROUP_WITHOUT_MANIFEST
        ):
            # Found large only now: its first passengers, still queued, are flagged with it.
            self.queue.flag_group(str(self.context.group_id), assess.LARGE_GROUP)
        if self.context.group_id is not None:
            self.context.group_size += 1
        self.context.invitation = None
        self.context.rapid_test = ""
        return self._show(
            Shown(
                passage_id,
                at,
                verdict.verdict,
                verdict.reason,
                condition=verdict.condition,
                flagged=decision.flagged,
                traveller=reading.traveller,
                credential=reading.kind,
                problem=reading.problem,
                details={
                    "colour": reading.colour,
                    "origin": offline.name(decision.origin_unit_code),
                    "origin_zone_level": decision.traveller.origin_zone_level,
                    "destination": offline.name(decision.destination_unit_code),
                    "rules": f"{decision.scope} v{decision.version}",
                },
            )
        )

    def _show(self, shown: Shown) -> Shown:
        self.shown.insert(0, shown)
        del self.shown[50:]
        return shown

    # The officer's context

    def start_vehicle(
        self,
        *,
        plate: str = "",
        vehicle_type: str = "",
        origin_unit_code: str | None = None,
        destination_unit_code: str | None = None,
        reason: str = "",
        transfer_group: bool = False,
    ) -> uuid.UUID:
        """The people scanned from now on travel together (one group)."""
        with self._lock:
            self.context = assess.Context(
                direction=self.context.direction,
                lane=self.context.lane,
                group_id=uuid.uuid4(),
                vehicle_plate=text_plate(plate),
                vehicle_type=vehicle_type[:16],
                origin_unit_code=origin_unit_code or None,
                destination_unit_code=destination_unit_code or None,
                reason=reason[:200],
                transfer_group=transfer_group,
            )
            assert self.context.group_id is not None
            return self.context.group_id

    def end_vehicle(self) -> None:
        with self._lock:
            self.context = assess.Context(direction=self.context.direction, lane=self.context.lane)

    def set_lane(self, *, direction: str | None = None, lane: str | None = None) -> None:
        with self._lock:
            if direction in ("in", "out"):
                self.context.direction = direction
            if lane:
                self.context.lane = lane[:16]

    def rapid_test_next(self, result: str) -> None:
        """A rapid test taken before the scan: the next person's verdict takes it into account
        (a positive turns them back; a negative counts as a recent negative test)."""
        if result not in ("negative", "positive", ""):
            raise ValueError("negative, positive or nothing")
        with self._lock:
            self.context.rapid_test = result

    def rapid_test(self, passage_id: str, result: str) -> None:
        """The lane's rapid test for a passage already recorded (the driver may have left)."""
        if result not in ("negative", "positive"):
            raise ValueError("negative or positive")
        self.queue.add_rapid_test(passage_id, result, self.clock().isoformat())

    # Sync

    def sync_once(self, batch: int = BATCH) -> SyncResult:
        """Send queued passages until none are left or the server is unreachable."""
        result = SyncResult()
        with self._sync_lock:
            while True:
                passages = self.queue.pending(batch)
                if not passages:
                    break
                try:
                    answer = self.client.send_passages(passages)
                except Offline as exc:
                    self.last_error = str(exc)
                    self._unreachable_at = self.monotonic()
                    result.offline = True
                    return result
                except Refused as exc:
                    bad = _refused_index(exc, len(passages))
                    if bad is None:
                        self.last_error = str(exc)
                        return result
                    self.queue.reject(passages[bad]["id"], json.dumps(exc.body)[:300])
                    result.rejected += 1
                    continue
                self.queue.mark_sent([p["id"] for p in passages])
                result.sent += len(passages)
                result.stored += int(answer.get("stored", 0))
                result.already += int(answer.get("already", 0))
            tests = self.queue.pending_rapid_tests()
            if tests:
                try:
                    answer = self.client.send_rapid_tests(tests)
                    unknown = {str(u) for u in answer.get("unknown") or ()}
                    done = [t for t in tests if t["passage_id"] not in unknown]
                    self.queue.mark_rapid_sent(done)
                    result.rapid_tests = len(done)
                except (Offline, Refused) as exc:
                    self.last_error = str(exc)
                    result.offline = isinstance(exc, Offline)
                    return result
            self.last_sync = self.clock()
            self.last_error = ""
        return result

    def status(self) -> dict[str, Any]:
        counts = self.queue.counts()
        offline = self.offline
        return {
            "checkpoint": dict(offline.checkpoint) if offline else None,
            "bundle_generated_at": offline.generated_at.isoformat() if offline else None,
            "bundle_age_seconds": round(offline.age_seconds(self.clock())) if offline else None,
            "queued": counts.queued,
            "sent": counts.sent,
            "rejected": counts.rejected,
            "oldest_queued": counts.oldest_queued,
            "last_sync": self.last_sync.isoformat() if self.last_sync else None,
            "last_error": self.last_error,
            "context": {
                "direction": self.context.direction,
                "lane": self.context.lane,
                "group_id": str(self.context.group_id) if self.context.group_id else None,
                "vehicle_plate": self.context.vehicle_plate,
                "vehicle_type": self.context.vehicle_type,
                "origin_unit_code": self.context.origin_unit_code,
                "destination_unit_code": self.context.destination_unit_code,
                "reason": self.context.reason,
                "transfer": self.context.transfer.code if self.context.transfer else None,
                "group_size": self.context.group_size,
                "rapid_test": self.context.rapid_test,
            },
        }


def _refused_index(exc: Refused, size: int) -> int | None:
    """The passage a 422 names (`passages.N...`), so the rest of the batch can go on."""
    body = exc.body if isinstance(exc.body, dict) else {}
    field_name = str(body.get("field") or "")
    if exc.status != 422 or not field_name.startswith("passages."):
        return None
    index = field_name.split(".")[1]
    return int(index) if index.isdigit() and int(index) < size else None
