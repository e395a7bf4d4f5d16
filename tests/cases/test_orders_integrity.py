"""One open order per person, whatever happens around it: two traces at once sharing a
contact, and two records of one person merged while both are contacts of one case."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from phongdich.auth.actor import system_actor
from phongdich.auth.roles import Role
from phongdich.cases import tracing
from phongdich.cases.models import Case, Contact, Exposure, QuarantineOrder
from phongdich.db import Database
from phongdich.persons.dedupe import merge
from tests.cases.helpers import NOW, at, contacts, make_venue, open_case, trace, visit
from tests.conftest import _load_reference_tree, migrated_database
from tests.factories import BA_DINH, make_person, make_user

SYSTEM = system_actor("tests")


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[Database]:
    """Two traces at once need two real transactions: PostgreSQL's row locks."""
    with migrated_database("postgresql", tmp_path) as database:
        _load_reference_tree(database)
        yield database


def test_two_traces_at_once_give_a_shared_contact_one_order(postgres: Database) -> None:
    with postgres.transaction() as session:
        one = make_venue(session, SYSTEM, "Chợ Một", default_visit_minutes=30)
        two = make_venue(session, SYSTEM, "Chợ Hai", default_visit_minutes=30)
        a, b, shared = (make_person(session) for _ in range(3))
        visit(session, SYSTEM, one, a, at(-20), at(-19))
        visit(session, SYSTEM, one, shared, at(-20), at(-19))
        visit(session, SYSTEM, two, b, at(-10), at(-9))
        visit(session, SYSTEM, two, shared, at(-10), at(-9))
        case_ids = [open_case(session, SYSTEM, p).id for p in (a, b)]
        shared_id = shared.id
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def run(case_id: object) -> None:
        try:
            with postgres.transaction() as session:
                case = session.get_one(Case, case_id)
                start.wait(timeout=30)
                tracing.trace(session=session, actor=SYSTEM, case=case, now=NOW)
        except BaseException as exc:  # reported below, on the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(cid,)) for cid in case_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    with postgres.transaction() as session:
        orders = session.scalars(
            select(QuarantineOrder).where(
                QuarantineOrder.person_id == shared_id, QuarantineOrder.status == "active"
            )
        ).all()
        assert len(orders) == 1
        # Each case has the shared person as its contact all the same.
        assert (
            session.scalar(
                select(func.count()).select_from(Contact).where(Contact.person_id == shared_id)
            )
            == 2
        )


def test_the_database_refuses_a_second_open_order(session: Session) -> None:
    officer = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)[1]
    market = make_venue(session, officer, default_visit_minutes=30)
    f0, f1 = make_person(session), make_person(session)
    visit(session, officer, market, f0, at(-10), at(-9))
    visit(session, officer, market, f1, at(-10), at(-9))
    trace(session, officer, open_case(session, officer, f0))
    order = session.scalars(select(QuarantineOrder).where(QuarantineOrder.person_id == f1.id)).one()
    copy = QuarantineOrder(
        person_id=f1.id,
        contact_id=order.contact_id,
        kind="monitoring",
        unit_code=order.unit_code,
        starts_at=order.starts_at,
        ends_on=order.ends_on,
        policy_version=1,
    )
    with session.begin_nested():
        session.add(copy)
        with pytest.raises(IntegrityError):
            session.flush()


def test_merging_two_records_that_are_contacts_of_one_case(session: Session) -> None:
    officer = make_user(session, Role.PROVINCE_OFFICER, "01")[1]
    market = make_venue(session, officer, default_visit_minutes=30)
    shop = make_venue(session, officer, "Cửa hàng", default_visit_minutes=30)
    f0 = make_person(session)
    kept = make_person(session, full_name="Trần Văn Một")
    duplicate = make_person(session, full_name="Trần Văn Một")
    for person in (f0, kept, duplicate):
        visit(session, officer, market, person, at(-10), at(-9))
    visit(session, officer, shop, f0, at(-5), at(-4))
    visit(session, officer, shop, duplicate, at(-5), at(-4))  # only the second record was here
    case = open_case(session, officer, f0)
    trace(session, officer, case)

    merge(session=session, actor=officer, survivor_id=kept.id, duplicate_id=duplicate.id)
    found = contacts(session, case)
    assert set(found) == {kept.id}
    places = sorted(
        (e.venue_id, e.start)
        for e in session.scalars(select(Exposure).where(Exposure.contact_id == found[kept.id].id))
    )
    # The market visit both records share is one exposure; the shop visit moved over.
    assert places == sorted([(market.id, at(-10)), (shop.id, at(-5))])
    assert found[kept.id].last_exposure_at == at(-4)
    open_orders = session.scalars(
        select(QuarantineOrder).where(
            QuarantineOrder.person_id == kept.id, QuarantineOrder.status == "active"
        )
    ).all()
    assert len(open_orders) == 1
    # Tracing again adds nothing for the merged person.
    assert trace(session, officer, case).new_exposures == 0
