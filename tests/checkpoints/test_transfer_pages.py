"""The transfer pages: filing a manifest (typed or as CSV), deciding, arrivals, the vehicle's
QR; refused forms keep what was typed and name the field; no input gives a 5xx."""

from __future__ import annotations

import random
import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from phongdich.checkpoints import transfers
from phongdich.checkpoints.models import Transfer
from tests.checkpoints.transfer_fixtures import (
    document_of,
    file_to_ba_dinh,
    hcm_people,
    sender,
    today,
)
from tests.factories import BA_DINH, HCM, make_user
from tests.web.pages import field_error, sign_in


def form(session: Session, count: int = 2, **change: str) -> dict[str, str]:
    values = {
        "from_unit_code": HCM,
        "to_unit_code": BA_DINH,
        "reason": "continued_quarantine",
        "reason_other": "",
        "travel_date": today().strftime("%d/%m/%Y"),
        "document_numbers": "\n".join(document_of(p) for p in hcm_people(session, count)),
        "route": "QL1A",
        "vehicle_plate": "51B-12345",
        "vehicle_type": "xe khách",
    }
    values.update(change)
    return values


def test_a_manifest_is_filed_on_the_page_and_decided_by_the_receiver(
    session: Session, client: TestClient
) -> None:
    sign_in(client, session, Role.PROVINCE_OFFICER, HCM)
    assert client.get("/transfers/new").status_code == 200
    filed = client.post("/transfers/new", data=form(session, 3), follow_redirects=False)
    assert filed.status_code == 303, filed.text
    code = filed.headers["location"].split("/")[2].split("?")[0]
    page = client.get(f"/transfers/{code}")
    assert page.status_code == 200
    assert 'data-status="pending"' in page.text
    assert page.text.count('class="name"') == 3  # the sender sees the names
    assert "<svg" in page.text
    assert client.get(f"/transfers/{code}/card").status_code == 200
    listed = client.get("/transfers").text
    assert code in listed.split('id="outgoing"')[1].split('id="history"')[0]

    sign_in(client, session, Role.DISTRICT_OFFICER, BA_DINH)
    incoming = client.get("/transfers").text
    assert code in incoming.split('id="awaiting"')[1].split('id="outgoing"')[0]
    before = client.get(f"/transfers/{code}").text
    assert 'id="names-hidden"' in before
    assert 'class="name"' not in before
    refused = client.post(f"/transfers/{code}/refuse", data={"note": ""})
    assert refused.status_code == 422
    assert field_error(refused.text.replace('id="e-refuse-note"', 'id="e-note"'), "note")
    accepted = client.post(f"/transfers/{code}/accept", data={"note": "Đón tại khu cách ly"})
    assert accepted.status_code == 200
    assert 'data-status="accepted"' in accepted.text
    assert accepted.text.count('class="name"') == 3
    # The same decision again is the same decision; the other one is refused with a reason.
    assert client.post(f"/transfers/{code}/accept").status_code == 200
    assert client.post(f"/transfers/{code}/refuse", data={"note": "x"}).status_code == 409
    assert code in client.get("/transfers").text.split('id="history"')[1]


def test_a_csv_upload_files_the_people_it_lists(session: Session, client: TestClient) -> None:
    sign_in(client, session, Role.PROVINCE_OFFICER, HCM)
    people = hcm_people(session, 2)
    csv = "full_name,document_number\n" + "".join(
        f"{p.full_name},{document_of(p)}\n" for p in people
    )
    values = form(session, 1)
    filed = client.post(
        "/transfers/new",
        data=values,
        files={"file": ("people.csv", csv.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert filed.status_code == 303, filed.text
    code = filed.headers["location"].split("/")[2].split("?")[0]
    transfer = session.scalar(select(Transfer).where(Transfer.code == code))
    assert transfer is not None
    members = {person.id for _, person in transfers.members_of(session, transfer)}
    assert {p.id for p in people} < members
    assert len(members) == 3


def test_refused_forms_name_the_field_and_keep_what_was_typed(
    session: Session, client: TestClient
) -> None:
    sign_in(client, session, Role.PROVINCE_OFFICER, HCM)
    cases = [
        ({"to_unit_code": "79"}, "to_unit_code"),
        ({"to_unit_code": ""}, "to_unit_code"),
        ({"travel_date": "31/02/2026"}, "travel_date"),
        ({"travel_date": "01/01/2001"}, "travel_date"),
        ({"reason": "other"}, "reason_other"),
        ({"document_numbers": ""}, "document_numbers"),
        ({"from_unit_code": "zz"}, "from_unit_code"),
    ]
    for change, field in cases:
        values = form(session, 1, **change)
        answer = client.post("/transfers/new", data=values)
        assert answer.status_code == 422, (change, answer.status_code)
        assert field_error(answer.text, field), (change, field)
        assert values["vehicle_plate"] in answer.text
    wrong_line = form(session, 2)
    wrong_line["document_numbers"] += "\n\n001099000001"
    answer = client.post("/transfers/new", data=wrong_line)
    assert answer.status_code == 422
    error = field_error(answer.text, "document_numbers") or ""
    assert re.search(r"Dòng 4", error), error
    bad_csv = client.post(
        "/transfers/new",
        data=form(session, 1),
        files={"file": ("people.csv", b"\xff\xfe\x00bad", "text/csv")},
    )
    assert bad_csv.status_code == 422
    assert field_error(bad_csv.text, "file")


def test_a_receiving_official_cannot_file_for_the_sender_on_the_page(
    session: Session, client: TestClient
) -> None:
    sign_in(client, session, Role.DISTRICT_OFFICER, BA_DINH)
    answer = client.post("/transfers/new", data=form(session, 1))
    assert answer.status_code == 422
    assert field_error(answer.text, "from_unit_code")
    assert session.scalar(select(Transfer).where(Transfer.to_unit_code == BA_DINH)) is None


def test_arrivals_show_on_the_page(session: Session, client: TestClient) -> None:
    _, sending = sender(session)
    people = hcm_people(session, 2)
    transfer = file_to_ba_dinh(session, sending, people)
    _, receiving = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)
    transfers.decide(session=session, actor=receiving, code=transfer.code, accept=True)
    member, _ = transfers.members_of(session, transfer)[0]
    from phongdich.db import utcnow

    member.arrived_at = utcnow()
    session.flush()
    sign_in(client, session, Role.DISTRICT_OFFICER, BA_DINH)
    page = client.get(f"/transfers/{transfer.code}").text
    assert '<span id="arrived-count">1</span>' in page
    assert page.count('class="arrived"') == 1


FIELDS = [
    "from_unit_code",
    "to_unit_code",
    "reason",
    "reason_other",
    "travel_date",
    "document_numbers",
    "route",
    "vehicle_plate",
    "vehicle_type",
    "note",
    "all",
]
NASTY = [
    "",
    " ",
    "0",
    "-1",
    "9" * 400,
    "'; DROP TABLE transfers; --",
    "<script>alert(1)</script>",
    "Nguyễn\u0301",
    "\u202e",
    "29/02/2023",
    "2026-13-40",
    "001099000001\n" * 600,
    "🚌",
    "%00",
    "../../etc/passwd",
]


def test_form_fuzz_gives_no_server_error(session: Session, client: TestClient) -> None:
    _, sending = sender(session)
    transfer = file_to_ba_dinh(session, sending, hcm_people(session, 1))
    rng = random.Random(5)
    for role, unit in ((Role.PROVINCE_OFFICER, HCM), (Role.DISTRICT_OFFICER, BA_DINH)):
        sign_in(client, session, role, unit)
        paths = [
            "/transfers/new",
            f"/transfers/{transfer.code}/accept",
            f"/transfers/{transfer.code}/refuse",
            f"/transfers/{transfer.code}/cancel",
            "/transfers/NOPE/accept",
            "/checkpoints/notices/00000000-0000-0000-0000-000000000000/read",
        ]
        for _ in range(60):
            data = {
                name: rng.choice(NASTY) for name in rng.sample(FIELDS, rng.randint(0, len(FIELDS)))
            }
            for path in paths:
                answer = client.post(path, data=data)
                assert answer.status_code < 500, (path, data, answer.status_code)
        for path in (
            "/transfers",
            "/transfers/x" * 30,
            f"/transfers/{transfer.code}",
            f"/transfers/{transfer.code}/card",
            "/checkpoints/notices?all=" + "1" * 10,
        ):
            assert client.get(path).status_code < 500, path
        for blob in (b"\x00", b"a" * 200_000, b'"open\n1,2', b"\n\n", b"document_number\n"):
            answer = client.post(
                "/transfers/new",
                data=form(session, 1),
                files={"file": ("x.csv", blob, "text/csv")},
            )
            assert answer.status_code < 500, blob[:10]
        oversized = client.post(
            "/transfers/new",
            data=form(session, 1),
            files={"file": ("big.csv", b"1" * 1_100_000, "text/csv")},
        )
        assert oversized.status_code == 422
        two = client.post(
            "/transfers/new",
            data=form(session, 1),
            files=[("file", ("a.csv", b"1", "text/csv")), ("file", ("b.csv", b"1", "text/csv"))],
        )
        assert two.status_code < 500
