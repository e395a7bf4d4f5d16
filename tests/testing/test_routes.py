"""The testing API: every route's happy path and its 401/403/404/409/422 answers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from phongdich.testing.models import RetestOrder
from tests.factories import PHUC_XA, TRUC_BACH, bearer, cccd, make_person, make_user
from tests.testing.factories import fill_tube, make_campaign, make_lab, new_barcode, ship

API = "/api/testing"


def headers(session: Session, role: Role, unit: str | None = PHUC_XA) -> dict[str, str]:
    user, _ = make_user(session, role, unit)
    return bearer(session, user)


def now() -> str:
    return datetime.now(UTC).isoformat()


def step(op: str, barcode: str, **values: object) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "op": op, "barcode": barcode, **values}


@pytest.fixture
def officer(session: Session) -> dict[str, str]:
    return headers(session, Role.COMMUNE_OFFICER)


@pytest.fixture
def technician(session: Session) -> dict[str, str]:
    return headers(session, Role.LAB_TECHNICIAN)


def test_labs_create_list_and_turnaround(
    client: TestClient, session: Session, officer: dict[str, str], technician: dict[str, str]
) -> None:
    body = {
        "code": "cdc-px",
        "name": "Phòng xét nghiệm Phúc Xá",
        "unit_code": PHUC_XA,
        "daily_capacity": 300,
        "methods": ["pcr"],
    }
    created = client.post(f"{API}/labs", json=body, headers=officer)
    assert created.status_code == 201, created.text
    assert created.json() == {
        "code": "CDC-PX",
        "name": "Phòng xét nghiệm Phúc Xá",
        "unit_code": PHUC_XA,
        "daily_capacity": 300,
        "methods": ["pcr"],
    }
    assert client.post(f"{API}/labs", json=body, headers=officer).status_code == 409
    assert client.post(f"{API}/labs", json=body).status_code == 401
    assert client.post(f"{API}/labs", json=body, headers=technician).status_code == 403
    outside = client.post(
        f"{API}/labs", json={**body, "code": "CDC-TB", "unit_code": TRUC_BACH}, headers=officer
    )
    assert outside.status_code == 422
    assert outside.json()["field"] == "unit_code"
    zero = client.post(f"{API}/labs", json={**body, "daily_capacity": 0}, headers=officer)
    assert zero.status_code == 422
    listed = client.get(f"{API}/labs", headers=technician)
    assert listed.status_code == 200
    (row,) = [r for r in listed.json() if r["code"] == "CDC-PX"]
    assert (row["daily_capacity"], row["in_transit"], row["load"], row["warning"]) == (
        300,
        0,
        0.0,
        None,
    )
    assert client.get(f"{API}/labs").status_code == 401
    assert client.get(f"{API}/labs/turnaround", headers=technician).json() == []


def test_a_campaign_through_the_api(
    client: TestClient, session: Session, officer: dict[str, str]
) -> None:
    body = {
        "name": "Xét nghiệm phường Phúc Xá",
        "unit_code": PHUC_XA,
        "max_pool_size": 5,
        "starts_on": "2021-09-01",
        "ends_on": "2021-09-07",
        "code": "xn-px-01",
    }
    created = client.post(f"{API}/campaigns", json=body, headers=officer)
    assert created.status_code == 201, created.text
    assert created.json()["code"] == "XN-PX-01"
    assert created.json()["target_unit_codes"] == [PHUC_XA]
    assert client.post(f"{API}/campaigns", json=body, headers=officer).status_code == 409
    assert client.post(f"{API}/campaigns", json=body).status_code == 401
    late = client.post(
        f"{API}/campaigns", json={**body, "code": None, "ends_on": "2021-08-01"}, headers=officer
    )
    assert late.status_code == 422
    assert late.json()["field"] == "ends_on"
    huge = client.post(f"{API}/campaigns", json={**body, "max_pool_size": 31}, headers=officer)
    assert huge.status_code == 422
    sampler = headers(session, Role.SAMPLING_STAFF)
    assert client.post(f"{API}/campaigns", json=body, headers=sampler).status_code == 403
    stranger = headers(session, Role.COMMUNE_OFFICER, TRUC_BACH)
    assert client.get(f"{API}/campaigns/XN-PX-01", headers=stranger).status_code == 404
    assert client.get(f"{API}/campaigns", headers=stranger).json() == []
    assert [c["code"] for c in client.get(f"{API}/campaigns", headers=officer).json()] == [
        "XN-PX-01"
    ]
    assert client.get(f"{API}/campaigns/xn-px-01", headers=officer).json()["max_pool_size"] == 5

    site = {"code": "nvh-1", "name": "Nhà văn hóa tổ 1", "unit_code": PHUC_XA}
    added = client.post(f"{API}/campaigns/XN-PX-01/sites", json=site, headers=officer)
    assert added.status_code == 201
    assert added.json() == {
        "code": "NVH-1",
        "name": "Nhà văn hóa tổ 1",
        "unit_code": PHUC_XA,
        "address": "",
        "staff": [],
    }
    assert (
        client.post(f"{API}/campaigns/XN-PX-01/sites", json=site, headers=officer).status_code
        == 409
    )
    assert (
        client.post(f"{API}/campaigns/XN-PX-01/sites", json=site, headers=stranger).status_code
        == 404
    )
    team_user, _ = make_user(session, Role.SAMPLING_STAFF, TRUC_BACH)
    assigned = client.post(
        f"{API}/campaigns/XN-PX-01/sites/NVH-1/staff",
        json={"username": team_user.username},
        headers=officer,
    )
    assert assigned.status_code == 200
    assert assigned.json()["staff"] == [team_user.username]
    lab_user, _ = make_user(session, Role.LAB_TECHNICIAN, PHUC_XA)
    refused = client.post(
        f"{API}/campaigns/XN-PX-01/sites/NVH-1/staff",
        json={"username": lab_user.username},
        headers=officer,
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "username"
    assert (
        client.post(
            f"{API}/campaigns/XN-PX-01/sites/NOPE-1/staff",
            json={"username": team_user.username},
            headers=officer,
        ).status_code
        == 404
    )
    sites = client.get(f"{API}/campaigns/XN-PX-01/sites", headers=officer).json()
    assert [(s["code"], s["staff"]) for s in sites] == [("NVH-1", [team_user.username])]

    worker = make_person(session, permanent_unit_code=TRUC_BACH)
    csv = f"document_number\n{worker.documents[0].number}\n{cccd()}\n".encode()
    files = {"file": ("people.csv", csv, "text/csv")}
    imported = client.post(f"{API}/campaigns/XN-PX-01/people", files=files, headers=officer)
    assert imported.status_code == 200
    assert (imported.json()["created"], imported.json()["rejected"]) == (1, 1)
    assert imported.json()["errors"][0]["line"] == 3
    again = client.post(f"{API}/campaigns/XN-PX-01/people", files=files, headers=officer).json()
    assert (again["created"], again["unchanged"]) == (0, 1)

    progress = client.get(f"{API}/campaigns/XN-PX-01/progress", headers=officer)
    assert progress.status_code == 200
    figures = progress.json()
    assert figures["campaign"]["population"] == "list"
    assert figures["total"]["to_sample"] == 1
    assert [(u["code"], u["name"], u["to_sample"]) for u in figures["units"]] == [
        (TRUC_BACH, "Phường Trúc Bạch", 1)
    ]
    assert [(s["code"], s["sampled"]) for s in figures["sites"]] == [("NVH-1", 0)]
    assert (figures["positivity_7d"], figures["suggested"]) == (None, None)
    assert client.get(f"{API}/campaigns/XN-PX-01/progress", headers=stranger).status_code == 404

    next_round = client.post(f"{API}/campaigns/XN-PX-01/next-round", headers=officer)
    assert next_round.json()["current_round"] == 2
    closed = client.post(f"{API}/campaigns/XN-PX-01/close", headers=officer)
    assert closed.json()["status"] == "closed"
    assert client.post(f"{API}/campaigns/XN-PX-01/next-round", headers=officer).status_code == 422
    assert client.post(f"{API}/campaigns/XN-PX-01/close", headers=stranger).status_code == 404


def test_a_sampling_batch_with_good_and_bad_steps(client: TestClient, session: Session) -> None:
    campaign, site = make_campaign(session, max_pool_size=2)
    sampler = headers(session, Role.SAMPLING_STAFF)
    people = [make_person(session) for _ in range(3)]
    code = new_barcode()
    ops = [
        step("open", code, campaign_code=campaign.code, site_code=site.code),
        step("add", code, text=people[0].documents[0].number),
        step("add", code, text="not a number"),
        step("add", code, text=people[1].documents[0].number),
        step("add", code, text=people[2].documents[0].number),
        step("close", code),
        step("add", code, text=people[2].documents[0].number, at="2021-09-01T08:00:00"),
    ]
    answer = client.post(f"{API}/sampling", json={"ops": ops}, headers=sampler)
    assert answer.status_code == 200, answer.text
    outcome = answer.json()
    assert (outcome["applied"], outcome["duplicate"], outcome["rejected"]) == (4, 0, 3)
    assert [r["status"] for r in outcome["results"]] == [
        "applied",
        "applied",
        "rejected",
        "applied",
        "rejected",
        "applied",
        "rejected",
    ]
    assert outcome["results"][2]["field"] == "text"
    assert outcome["results"][4]["reason"] == "the pool is full: close the tube"
    tube = outcome["results"][5]["tube"]
    assert (tube["status"], tube["capacity"], len(tube["members"])) == ("closed", 2, 2)
    assert set(tube["members"][0]) == {"sample_id", "initials", "birth_year", "colour", "retest"}
    replay = client.post(f"{API}/sampling", json={"ops": ops}, headers=sampler).json()
    assert (replay["applied"], replay["duplicate"], replay["rejected"]) == (0, 4, 3)
    assert client.post(f"{API}/sampling", json={"ops": ops}).status_code == 401
    lab = headers(session, Role.LAB_TECHNICIAN)
    assert client.post(f"{API}/sampling", json={"ops": ops}, headers=lab).status_code == 403
    assert client.post(f"{API}/sampling", json={"ops": []}, headers=sampler).status_code == 422
    bad_op = [{**ops[0], "op": "shake"}]
    assert client.post(f"{API}/sampling", json={"ops": bad_op}, headers=sampler).status_code == 422
    # The tube as the team sees it; an outsider gets 404.
    seen = client.get(f"{API}/tubes/{code.lower()}", headers=sampler)
    assert seen.status_code == 200
    assert len(seen.json()["members"]) == 2
    far = headers(session, Role.SAMPLING_STAFF, TRUC_BACH)
    assert client.get(f"{API}/tubes/{code}", headers=far).status_code == 404
    assert client.get(f"{API}/tubes/{code}").status_code == 401
    assert client.get(f"{API}/tubes/bad!", headers=sampler).status_code == 422


def test_shipments_results_corrections_and_retests(
    client: TestClient, session: Session, officer: dict[str, str], technician: dict[str, str]
) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session, capacity=2)
    roomy = make_lab(session, capacity=100)
    sampler = headers(session, Role.SAMPLING_STAFF)
    people = [make_person(session) for _ in range(3)]
    pool = fill_tube(session, campaign, site, people[:2])
    single = fill_tube(session, campaign, site, people[2:], kind="single")
    still_open = fill_tube(session, campaign, site, [make_person(session)], close=False)

    refused = client.post(
        f"{API}/shipments",
        json={"lab_code": lab.code, "barcodes": [pool, still_open]},
        headers=sampler,
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "barcodes.1"
    assert (
        client.post(
            f"{API}/shipments", json={"lab_code": lab.code, "barcodes": []}, headers=sampler
        ).status_code
        == 422
    )
    sent = client.post(
        f"{API}/shipments", json={"lab_code": lab.code, "barcodes": [pool, single]}, headers=sampler
    )
    assert sent.status_code == 201, sent.text
    shipment = sent.json()
    assert (shipment["tubes"], shipment["received"], shipment["missing"]) == (2, 0, [])
    assert shipment["warnings"] == [
        f"lab {lab.code}: 2 tubes waiting for 2 a day; room at {roomy.code}"
    ]
    code = shipment["code"]
    assert (
        client.post(
            f"{API}/shipments", json={"lab_code": lab.code, "barcodes": [pool]}, headers=sampler
        ).status_code
        == 422
    )
    assert client.get(f"{API}/shipments/{code}", headers=officer).json()["lab_code"] == lab.code
    assert client.get(f"{API}/shipments/VC-NOPE", headers=officer).status_code == 404

    received = client.post(
        f"{API}/shipments/{code}/receive", json={"barcodes": [pool, "ZZ-9999"]}, headers=technician
    )
    assert received.status_code == 200
    assert (received.json()["missing"], received.json()["extra"]) == ([single], ["ZZ-9999"])
    assert (
        client.post(
            f"{API}/shipments/{code}/receive", json={"barcodes": [single]}, headers=sampler
        ).status_code
        == 403
    )
    far_lab = headers(session, Role.LAB_TECHNICIAN, TRUC_BACH)
    assert (
        client.post(
            f"{API}/shipments/{code}/receive", json={"barcodes": [single]}, headers=far_lab
        ).status_code
        == 404
    )
    late = client.post(
        f"{API}/shipments/{code}/receive", json={"barcodes": [single]}, headers=technician
    )
    assert (late.json()["received"], late.json()["missing"]) == (2, [])

    # The lab sees the tube but not who is in it.
    lab_view = client.get(f"{API}/tubes/{pool}", headers=technician).json()
    assert (lab_view["lab_code"], lab_view["shipment_code"], lab_view["members"]) == (
        lab.code,
        code,
        [],
    )

    entered = client.post(
        f"{API}/results",
        json={"barcode": pool, "result": "positive", "ct_value": 28.4, "tested_at": now()},
        headers=technician,
    )
    assert entered.status_code == 200, entered.text
    assert (entered.json()["created"], entered.json()["revision"], entered.json()["result"]) == (
        True,
        1,
        "positive",
    )
    body = {"barcode": single, "result": "negative", "tested_at": now()}
    assert client.post(f"{API}/results", json=body, headers=technician).json()["created"] is True
    assert client.post(f"{API}/results", json=body, headers=technician).json()["created"] is False
    conflict = client.post(
        f"{API}/results", json={**body, "result": "positive"}, headers=technician
    )
    assert conflict.status_code == 409
    assert client.post(f"{API}/results", json=body, headers=officer).status_code == 403
    assert client.post(f"{API}/results", json=body).status_code == 401
    assert (
        client.post(
            f"{API}/results", json={**body, "barcode": still_open}, headers=technician
        ).status_code
        == 404
    )
    bad_ct = client.post(f"{API}/results", json={**body, "ct_value": 80}, headers=technician)
    assert bad_ct.status_code == 422
    assert bad_ct.json()["field"] == "ct_value"
    naive = client.post(
        f"{API}/results", json={**body, "tested_at": "2099-01-01T00:00:00"}, headers=technician
    )
    assert naive.status_code == 422
    assert naive.json()["field"] == "tested_at"

    correction = {
        "result": "positive",
        "ct_value": 33.0,
        "tested_at": now(),
        "reason": "plate swap",
    }
    corrected = client.post(f"{API}/tubes/{single}/correction", json=correction, headers=technician)
    assert corrected.status_code == 200, corrected.text
    history = corrected.json()["history"]
    assert [(h["revision"], h["result"], h["reason"], h["source"]) for h in history] == [
        (1, "negative", "", "api"),
        (2, "positive", "plate swap", "form"),
    ]
    assert (
        client.post(
            f"{API}/tubes/{single}/correction",
            json={**correction, "reason": ""},
            headers=technician,
        ).status_code
        == 422
    )
    same = client.post(f"{API}/tubes/{single}/correction", json=correction, headers=technician)
    assert same.status_code == 422
    assert same.json()["field"] == "result"
    assert (
        client.post(
            f"{API}/tubes/{single}/correction", json=correction, headers=far_lab
        ).status_code
        == 404
    )
    assert client.get(f"{API}/tubes/{single}/results", headers=officer).json()["revision"] == 2

    retests = client.get(f"{API}/retests", headers=officer)
    assert retests.status_code == 200
    assert sorted(r["person_id"] for r in retests.json()) == sorted(str(p.id) for p in people[:2])
    first = retests.json()[0]
    assert (first["reason"], first["status"], first["source_barcode"], first["campaign_code"]) == (
        "pool_positive",
        "open",
        pool,
        campaign.code,
    )
    assert first["document_number"] in {p.documents[0].number for p in people}
    assert client.get(f"{API}/retests?status=done", headers=officer).json() == []
    assert client.get(f"{API}/retests?status=lost", headers=officer).status_code == 422
    assert client.get(f"{API}/retests", headers=technician).status_code == 403
    assert (
        client.get(
            f"{API}/retests", headers=headers(session, Role.COMMUNE_OFFICER, TRUC_BACH)
        ).json()
        == []
    )

    positives = client.get(f"{API}/positives", headers=officer)
    assert [(p["person_id"], p["barcode"]) for p in positives.json()] == [
        (str(people[2].id), single)
    ]
    assert (
        client.get(f"{API}/positives?since=2021-09-01T00:00:00", headers=officer).status_code == 422
    )
    edge = "0001-01-01T00:00:00+14:00"  # no UTC time for it: a 422 naming the field
    assert (
        client.get(f"{API}/positives", params={"since": edge}, headers=officer).json()["field"]
        == "since"
    )
    assert (
        client.get(f"{API}/positives", params={"since": edge}, headers=officer).status_code == 422
    )
    assert client.get(f"{API}/positives", headers=technician).status_code == 403
    days = client.get(f"{API}/positivity", headers=officer).json()
    assert [(d["unit_code"], d["tested"], d["positive"], d["rate"]) for d in days] == [
        (PHUC_XA, 1, 1, 1.0)
    ]
    assert client.get(f"{API}/positivity?days=0", headers=officer).status_code == 422

    mine = client.get(f"{API}/persons/{people[2].id}/results", headers=officer)
    assert [(r["barcode"], r["outcome"]) for r in mine.json()] == [(single, "positive")]
    far_officer = headers(session, Role.COMMUNE_OFFICER, TRUC_BACH)
    assert (
        client.get(f"{API}/persons/{people[2].id}/results", headers=far_officer).status_code == 404
    )
    assert client.get(f"{API}/persons/{uuid.uuid4()}/results", headers=officer).status_code == 404
    assert client.get(f"{API}/persons/not-a-uuid/results", headers=officer).status_code == 422
    assert (
        session.scalar(select(RetestOrder).where(RetestOrder.person_id == people[0].id)) is not None
    )


def test_a_lab_imports_a_csv_twice(
    client: TestClient, session: Session, technician: dict[str, str], officer: dict[str, str]
) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    tubes = [fill_tube(session, campaign, site, [make_person(session)]) for _ in range(2)]
    ship(session, lab, tubes)
    text = (
        "tube_barcode,result,ct_value,method,tested_at\n"
        f"{tubes[0]},negative,,pcr,{now()}\n"
        f"{tubes[1]},positive,abc,pcr,{now()}\n"
        f"{tubes[1]},positive,26,pcr,{now()}\n"
    )
    files = {"file": ("machine.csv", text.encode(), "text/csv")}
    first = client.post(f"{API}/labs/{lab.code}/results/import", files=files, headers=technician)
    assert first.status_code == 200, first.text
    assert (first.json()["created"], first.json()["rejected"]) == (2, 1)
    assert first.json()["errors"] == [
        {"line": 3, "field": "ct_value", "reason": "a number such as 24.5"}
    ]
    second = client.post(f"{API}/labs/{lab.code}/results/import", files=files, headers=technician)
    assert (second.json()["created"], second.json()["unchanged"], second.json()["rejected"]) == (
        0,
        2,
        1,
    )
    assert (
        client.post(
            f"{API}/labs/{lab.code}/results/import", files=files, headers=officer
        ).status_code
        == 403
    )
    assert (
        client.post(f"{API}/labs/NOLAB/results/import", files=files, headers=technician).status_code
        == 404
    )
    assert client.post(f"{API}/labs/{lab.code}/results/import", files=files).status_code == 401
    empty = {"file": ("empty.csv", b"", "text/csv")}
    bad = client.post(f"{API}/labs/{lab.code}/results/import", files=empty, headers=technician)
    assert bad.status_code == 422
    assert bad.json()["field"] == "file"
    assert (
        client.post(f"{API}/labs/{lab.code}/results/import", headers=technician).status_code == 422
    )


def test_pool_size_advice_needs_no_login(client: TestClient) -> None:
    answer = client.get(f"{API}/pool-size", params={"prevalence": 0.02})
    assert answer.status_code == 200
    assert answer.json() == {
        "prevalence": 0.02,
        "max_pool_size": 100,
        "pool_size": 8,
        "tests_per_person": 0.274237,
        "capacity_gain": 3.6465,
        "pool_positive_probability": 0.149237,
    }
    assert (
        client.get(f"{API}/pool-size", params={"prevalence": 0.01, "max": 10}).json()["pool_size"]
        == 10
    )
    for params in (
        {"prevalence": -0.1},
        {"prevalence": 1.5},
        {"prevalence": "nan"},
        {"prevalence": 0.1, "max": 0},
        {},
    ):
        assert client.get(f"{API}/pool-size", params=params).status_code == 422, params
