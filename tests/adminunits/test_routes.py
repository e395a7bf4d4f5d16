from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from tests.factories import BA_DINH, HA_NOI, PHUC_XA, TRUC_BACH, bearer, make_user


def test_search_is_public_reference_data(client: TestClient) -> None:
    response = client.get("/api/adminunits", params={"q": "phuc xa"})
    assert response.status_code == 200
    assert response.json() == [
        {
            "code": PHUC_XA,
            "name": "Phường Phúc Xá",
            "level": 3,
            "parent_code": BA_DINH,
            "population": 18000,
            "zone_level": None,
        }
    ]
    children = client.get("/api/adminunits", params={"parent": BA_DINH}).json()
    assert [u["code"] for u in children] == [PHUC_XA, TRUC_BACH]
    provinces = client.get("/api/adminunits", params={"level": 1, "limit": 1}).json()
    assert [u["code"] for u in provinces] == [HA_NOI]


def test_search_rejects_bad_parameters(client: TestClient) -> None:
    for params, field in (
        ({"level": 0}, "query.level"),
        ({"level": "x"}, "query.level"),
        ({"limit": 1001}, "query.limit"),
        ({"q": "x" * 101}, "query.q"),
        ({"parent": "x" * 17}, "query.parent"),
    ):
        response = client.get("/api/adminunits", params=params)
        assert (response.status_code, response.json()["field"]) == (422, field)


def test_read_a_unit_with_ancestors_and_children(client: TestClient) -> None:
    response = client.get(f"/api/adminunits/{BA_DINH}")
    assert response.status_code == 200
    unit = response.json()
    assert (unit["name"], unit["level"]) == ("Quận Ba Đình", 2)
    assert [a["code"] for a in unit["ancestors"]] == [HA_NOI]
    assert [c["code"] for c in unit["children"]] == [PHUC_XA, TRUC_BACH]
    missing = client.get("/api/adminunits/99999")
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    assert client.get("/api/adminunits/" + "9" * 17).status_code == 422


def test_import_a_tree(client: TestClient, session: Session) -> None:
    admin, _ = make_user(session, Role.NATIONAL_ADMIN)
    csv = (
        "code,name,level,parent_code,population\n"
        "9900100,Thôn Mới,4,00001,250\n"
        "9900101,Thôn Lạc,4,NOPE,\n"
        "9900102,,4,00001,\n"
    )
    response = client.post(
        "/api/adminunits/import",
        files={"file": ("units.csv", csv.encode(), "text/csv")},
        headers=bearer(session, admin),
    )
    assert response.status_code == 200
    answer = response.json()
    assert (answer["created"], answer["rejected"]) == (1, 2)
    assert [(e["line"], e["field"]) for e in answer["errors"]] == [
        (4, "name"),
        (3, "parent_code"),
    ]
    unit = client.get("/api/adminunits/9900100").json()
    assert [a["code"] for a in unit["ancestors"]] == [HA_NOI, BA_DINH, PHUC_XA]


def test_import_needs_an_admin_and_a_csv(client: TestClient, session: Session) -> None:
    files = {"file": ("units.csv", b"code,name,level,parent_code\nZ1,Z,1,\n", "text/csv")}
    assert client.post("/api/adminunits/import", files=files).status_code == 401
    officer, _ = make_user(session, Role.PROVINCE_OFFICER, HA_NOI)
    denied = client.post("/api/adminunits/import", files=files, headers=bearer(session, officer))
    assert denied.status_code == 403
    admin, _ = make_user(session, Role.NATIONAL_ADMIN)
    headers = bearer(session, admin)
    bad = client.post(
        "/api/adminunits/import",
        files={"file": ("units.csv", b"just,some,words\n", "text/csv")},
        headers=headers,
    )
    assert (bad.status_code, bad.json()["field"]) == (422, "file")
    assert "missing columns" in bad.json()["reason"]
    assert client.post("/api/adminunits/import", headers=headers).status_code == 422
