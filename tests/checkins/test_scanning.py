"""Staff scans at a venue (passes, CCCD cards, typed numbers) and citizens' one-tap check-ins."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor, system_actor
from phongdich.auth.roles import Role
from phongdich.checkins.models import CheckinEvent
from phongdich.checkins.scanning import phone_checkin, scan, visit_open
from phongdich.checkins.schemas import ScanInput, ScanResult
from phongdich.config import Settings
from phongdich.credentials.keys import KeyRing, keyring
from phongdich.credentials.passes import issue_pass, revoke_passes_of
from phongdich.credentials.status import Status, record_fact
from phongdich.credentials.verify import TrustStore
from phongdich.errors import Forbidden, Invalid, NotFound
from phongdich.persons.documents import parse_document
from phongdich.persons.models import Person
from phongdich.persons.service import document_owner
from phongdich.venues.models import Venue
from phongdich.venues.schemas import VenueInput
from phongdich.venues.service import SUSPENDED, decide, register_venue
from tests.factories import PHUC_XA, TRUC_BACH, audit_entries, cccd, make_person, make_user

NOW = datetime(2021, 9, 1, 8, 0, tzinfo=UTC)
SYSTEM = system_actor("tests")


@pytest.fixture
def keys(settings: Settings) -> KeyRing:
    return keyring(settings)


@pytest.fixture
def manager(session: Session) -> Actor:
    return make_user(session, Role.VENUE_MANAGER, PHUC_XA)[1]


@pytest.fixture
def venue(session: Session, manager: Actor) -> Venue:
    data = VenueInput(name="Quán Phở Đức", category="restaurant", unit_code=PHUC_XA)
    return register_venue(session=session, actor=manager, data=data)


def colour(name: str) -> Status:
    return Status(colour=name, reasons=("tests",), rules_version=1, evaluated_at=NOW)


def pass_text(session: Session, keys: KeyRing, person: Person, status: str = "green") -> str:
    issued = issue_pass(
        session=session, actor=SYSTEM, person=person, status=colour(status), now=NOW, keys=keys
    )
    return issued.text


def vaccinated(session: Session) -> Person:
    person = make_person(session)
    record_fact(
        session=session,
        actor=SYSTEM,
        person_id=person.id,
        kind="vaccination_dose",
        occurred_at=NOW - timedelta(days=30),
        value={"dose_number": 2, "full_course": True},
    )
    return person


def stored(session: Session) -> list[tuple[uuid.UUID, datetime, str, str]]:
    return [
        (e.person_id, e.at, e.direction, e.source)
        for e in session.scalars(select(CheckinEvent).order_by(CheckinEvent.at))
    ]


def do_scan(
    session: Session,
    actor: Actor,
    venue: Venue,
    keys: KeyRing,
    text: str,
    *,
    minutes: float = 0,
    direction: str = "auto",
) -> ScanResult:
    return scan(
        session=session,
        actor=actor,
        venue_code=venue.code,
        data=ScanInput(text=text, direction=direction),
        trust=TrustStore.from_database(session, keys),
        now=NOW + timedelta(minutes=minutes),
    )


def card_qr(number: str, name: str = "Hoàng Văn Em", born: str = "02041985") -> str:
    return f"{number}|012345678|{name}|{born}|Nam|Số 7 Hòe Nhai, Phúc Xá, Ba Đình, Hà Nội|01012022"


def test_a_valid_pass_records_and_a_double_scan_is_one(
    session: Session, manager: Actor, venue: Venue, keys: KeyRing
) -> None:
    person = make_person(session, full_name="Trần Thị Bích Ngọc", sex="female")
    text = pass_text(session, keys, person, "yellow")
    result = do_scan(session, manager, venue, keys, text)
    assert result == ScanResult(
        recorded=True,
        direction="in",
        colour="yellow",
        initials="TTBN",
        birth_year=1985,
        at=NOW,
        refused=False,
        reasons=["tests"],
    )
    again = do_scan(session, manager, venue, keys, text, minutes=0.5)
    assert (again.recorded, again.direction) == (True, "in")
    assert stored(session) == [(person.id, NOW, "in", "staff")]
    assert visit_open(session, venue, person.id, NOW + timedelta(minutes=5)) == NOW
    # Later, the same pass on the way out.
    left = do_scan(session, manager, venue, keys, text, minutes=40)
    assert (left.recorded, left.direction) == (True, "out")
    assert [e[2] for e in stored(session)] == ["in", "out"]
    assert visit_open(session, venue, person.id, NOW + timedelta(minutes=41)) is None


def test_a_revoked_pass_is_refused(
    session: Session, manager: Actor, venue: Venue, keys: KeyRing
) -> None:
    person = make_person(session)
    text = pass_text(session, keys, person)
    revoke_passes_of(session=session, actor=SYSTEM, person_id=person.id, reason="tests", now=NOW)
    trust = TrustStore.from_database(session, keys)
    assert trust.revoked == {}  # asked about the pass shown, not loaded in full
    with pytest.raises(Invalid) as exc:
        scan(
            session=session,
            actor=manager,
            venue_code=venue.code,
            data=ScanInput(text=text),
            trust=trust,
            now=NOW + timedelta(minutes=1),
        )
    assert (exc.value.field, exc.value.reason) == ("text", "revoked")
    assert stored(session) == []


def test_a_red_pass_is_refused_and_records_nothing(
    session: Session, manager: Actor, venue: Venue, keys: KeyRing
) -> None:
    person = make_person(session)
    result = do_scan(session, manager, venue, keys, pass_text(session, keys, person, "red"))
    assert (result.recorded, result.refused, result.colour, result.direction, result.at) == (
        False,
        True,
        "red",
        None,
        None,
    )
    assert result.reasons == ["tests", "red status: entry refused"]
    assert stored(session) == []


def test_a_red_status_from_the_record_is_refused(
    session: Session, manager: Actor, venue: Venue, keys: KeyRing
) -> None:
    person = vaccinated(session)
    number = person.documents[0].number
    assert do_scan(session, manager, venue, keys, number).recorded
    record_fact(
        session=session,
        actor=SYSTEM,
        person_id=person.id,
        kind="case_confirmed",
        occurred_at=NOW,
    )
    refused = do_scan(session, manager, venue, keys, number, minutes=30, direction="in")
    assert (refused.refused, refused.recorded, refused.colour) == (True, False, "red")
    assert refused.reasons[0] == "Confirmed case, not yet recovered"
    assert len(stored(session)) == 1


def test_a_cccd_card_of_an_unknown_person_registers_them(
    session: Session, manager: Actor, venue: Venue, keys: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = cccd(born=1985)
    people = session.scalar(select(func.count()).select_from(Person))
    # Nothing on record: the default rules say red, so the visitor is registered but refused.
    first = do_scan(session, manager, venue, keys, card_qr(number))
    assert (first.refused, first.recorded, first.initials, first.birth_year) == (
        True,
        False,
        "HVE",
        1985,
    )
    person = document_owner(session, parse_document(number))
    assert person is not None
    assert (person.full_name, person.sex, person.temporary_unit_code, person.birth_year) == (
        "Hoàng Văn Em",
        "male",
        PHUC_XA,
        1985,
    )
    [registered] = audit_entries(session, action="create", object_id=person.id)
    assert registered.origin == f"CCCD card scanned at venue {venue.code}"
    assert stored(session) == []

    def green(**_: object) -> Status:
        return colour("green")

    monkeypatch.setattr("phongdich.credentials.scanned.status_for", green)
    second = do_scan(session, manager, venue, keys, card_qr(number), minutes=5)
    assert (second.recorded, second.direction) == (True, "in")
    assert stored(session) == [(person.id, NOW + timedelta(minutes=5), "in", "staff")]
    # The same card again registers nobody new.
    assert session.scalar(select(func.count()).select_from(Person)) == (people or 0) + 1


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("hello", "not a personal pass, a CCCD card QR or a document number"),
        ("HC1:6BFOXN", "a certificate is not a personal pass: scan the pass or the CCCD card"),
        (
            "001085999999",
            "not registered: scan the CCCD card, or ask them to make a health declaration",
        ),
    ],
)
def test_what_cannot_be_scanned(
    session: Session, manager: Actor, venue: Venue, keys: KeyRing, text: str, reason: str
) -> None:
    with pytest.raises(Invalid) as bad:
        do_scan(session, manager, venue, keys, text)
    assert (bad.value.field, bad.value.reason) == ("text", reason)
    assert stored(session) == []


def test_a_broken_pass_or_card_is_invalid(
    session: Session, manager: Actor, venue: Venue, keys: KeyRing
) -> None:
    text = pass_text(session, keys, make_person(session))
    with pytest.raises(Invalid) as forged:
        do_scan(session, manager, venue, keys, text[:-4] + "AAAA")
    assert forged.value.field == "text"
    with pytest.raises(Invalid) as expired:
        do_scan(session, manager, venue, keys, text, minutes=73 * 60)
    assert expired.value.field == "text"
    with pytest.raises(Invalid) as card:
        do_scan(session, manager, venue, keys, card_qr(cccd(), born="31021985"))
    assert card.value.field == "qr.birth_date"
    with pytest.raises(Invalid) as long_name:
        do_scan(session, manager, venue, keys, card_qr(cccd(), name="Nguyễn " * 40))
    assert long_name.value.field == "qr.full_name"
    assert stored(session) == []


def test_who_scans_where(session: Session, venue: Venue, keys: KeyRing) -> None:
    text = pass_text(session, keys, make_person(session))
    _, other_manager = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    with pytest.raises(NotFound):
        do_scan(session, other_manager, venue, keys, text)
    _, checkpoint = make_user(session, Role.CHECKPOINT_OFFICER, PHUC_XA)
    with pytest.raises(Forbidden):
        do_scan(session, checkpoint, venue, keys, text)
    _, elsewhere = make_user(session, Role.COMMUNE_OFFICER, TRUC_BACH)
    with pytest.raises(NotFound):
        do_scan(session, elsewhere, venue, keys, text)
    _, official = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    assert do_scan(session, official, venue, keys, text).recorded
    decide(session=session, actor=official, code=venue.code, status=SUSPENDED)
    with pytest.raises(Invalid) as suspended:
        do_scan(session, official, venue, keys, text, minutes=30)
    assert suspended.value.field == "venue_code"
    assert len(stored(session)) == 1


def test_a_citizens_tap_on_the_poster_page(session: Session, venue: Venue) -> None:
    person = make_person(session)
    first = phone_checkin(
        session=session,
        venue_code=venue.code.lower(),
        person_id=person.id,
        direction="in",
        event_id=uuid.uuid4(),
        now=NOW,
    )
    assert (first.venue.id, first.direction, first.at) == (venue.id, "in", NOW)
    # A second tap (another id) within the minute is the same check-in.
    phone_checkin(
        session=session,
        venue_code=venue.code,
        person_id=person.id,
        direction="in",
        event_id=uuid.uuid4(),
        now=NOW + timedelta(seconds=20),
    )
    assert stored(session) == [(person.id, NOW, "in", "phone")]
    for code, person_id, direction, error in (
        ("NOPE-1", person.id, "in", NotFound),
        (venue.code, uuid.uuid4(), "in", NotFound),
        (venue.code, person.id, "sideways", Invalid),
    ):
        with pytest.raises(error):
            phone_checkin(
                session=session,
                venue_code=code,
                person_id=person_id,
                direction=direction,
                event_id=uuid.uuid4(),
                now=NOW,
            )
