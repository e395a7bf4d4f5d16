from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from tests.factories import PHUC_XA, TRUC_BACH, bearer, make_person, make_user


def test_commune_officers_do_not_see_each_others_people(
    client: TestClient, session: Session
) -> None:
    phuc_xa_officer, _ = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    truc_bach_officer, _ = make_user(session, Role.COMMUNE_OFFICER, TRUC_BACH)
    in_phuc_xa = make_person(session, permanent_unit_code=PHUC_XA)
    in_truc_bach = make_person(
        session, permanent_unit_code=TRUC_BACH, full_name="Trần Thị Bình", sex="female"
    )
    a, b = bearer(session, phuc_xa_officer), bearer(session, truc_bach_officer)
    assert client.get(f"/api/persons/{in_phuc_xa.id}", headers=a).status_code == 200
    assert client.get(f"/api/persons/{in_truc_bach.id}", headers=a).status_code == 404
    assert client.get(f"/api/persons/{in_truc_bach.id}", headers=b).status_code == 200
    assert client.get(f"/api/persons/{in_phuc_xa.id}", headers=b).status_code == 404
