"""Every API operation, fed generated input: whatever a caller sends, the answer is never a 500.

Hypothesis runs each operation's test body many times, so the app works on a real, committed
database (one per backend per run) instead of the rolled-back session the other tests share.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from phongdich.app import create_app
from phongdich.auth.models import User
from phongdich.auth.roles import Role
from phongdich.auth.service import issue_token
from phongdich.config import Settings
from phongdich.db import Database
from tests.conftest import _load_reference_tree, migrated_database
from tests.factories import HANG_BAC, PHUC_XA, TRUC_BACH, make_person, make_user

ROLES = {
    "national_admin": (Role.NATIONAL_ADMIN, None),
    "commune_officer": (Role.COMMUNE_OFFICER, PHUC_XA),
}
# Enough to reach past the happy path on every operation, few enough for ~a minute per backend;
# PHONGDICH_FUZZ_EXAMPLES=500 digs deeper before a release.
EXAMPLES_PER_OPERATION = int(os.environ.get("PHONGDICH_FUZZ_EXAMPLES", "25"))


@dataclass(frozen=True)
class FuzzTarget:
    database: Database
    users: dict[str, User]


def _seed(database: Database) -> dict[str, User]:
    """The reference tree, a few people (two of them alike) and one user per fuzzed role."""
    _load_reference_tree(database)
    with database.transaction() as session:
        make_person(session, permanent_unit_code=PHUC_XA)
        make_person(session, permanent_unit_code=PHUC_XA, phone="0912000111")
        make_person(session, permanent_unit_code=TRUC_BACH, phone="0912000111")
        make_person(session, permanent_unit_code=HANG_BAC, full_name="Trần Thị Bình", sex="female")
        users = {name: make_user(session, role, unit)[0] for name, (role, unit) in ROLES.items()}
    return users


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FuzzTarget]:
    with migrated_database(request.param, tmp_path_factory.mktemp("fuzz")) as database:
        yield FuzzTarget(database, _seed(database))


@pytest.fixture(scope="module")
def fuzz_app(fuzz_target: FuzzTarget, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    app_settings = Settings(data_dir=tmp_path_factory.mktemp("fuzz-data"), database_url="sqlite://")
    return create_app(app_settings, fuzz_target.database, migrate=False, run_worker=False)


@pytest.fixture(params=sorted(ROLES))
def role(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def _token_headers(target: FuzzTarget, role: str) -> dict[str, str]:
    """A new bearer token for the role's user, committed: the app reads it in its own session."""
    with target.database.transaction() as session:
        user = session.get_one(User, target.users[role].id)
        return {"Authorization": f"Bearer {issue_token(session=session, user=user, kind='api')}"}


@pytest.fixture
def auth_headers(role: str, fuzz_target: FuzzTarget) -> dict[str, str]:
    """Each test gets its own token, so a fuzzed logout harms no other test."""
    return _token_headers(fuzz_target, role)


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every operation, read from the app's OpenAPI without a database."""
    app = create_app(
        Settings(database_url="sqlite://"), Database("sqlite://"), migrate=False, run_worker=False
    )
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)
    found = []
    for result in loaded.get_all_operations():
        if not isinstance(result, Ok):
            raise result.err()  # a schema the fuzzer cannot read is itself a failure
        found.append(result.ok())
    return sorted((op.method.upper(), op.path) for op in found)


OPERATIONS = _operations()


@pytest.fixture(scope="module")
def api_schema(fuzz_app: FastAPI) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_server_errors(
    method: str,
    path: str,
    api_schema: Any,
    auth_headers: dict[str, str],
    fuzz_target: FuzzTarget,
    role: str,
) -> None:
    """No 5xx for any input, and what the API answers is what its OpenAPI says it answers."""
    operation = api_schema[path][method]

    # Hypothesis is driven directly (not through schemathesis' pytest plugin, which relies on
    # pytest internals that change between releases).
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def exercise(case: Any) -> None:
        headers = auth_headers
        if case.method == "DELETE" and case.path == "/api/auth/token":
            headers = _token_headers(fuzz_target, role)  # logging out revokes the token sent
        response = case.call(headers=headers)
        # Not status-code conformance: 401/403/404/409 are the error contract of errors.py, and
        # the service rejects with 422 what the schema alone cannot describe (a CCCD's structure).
        case.validate_response(
            response,
            checks=[not_a_server_error, content_type_conformance, response_schema_conformance],
        )

    exercise()


# Inputs that once reached the database or the clock and came back as 500s. Hypothesis finds
# such things by chance; these pin them down on every backend.
HOSTILE_REQUESTS: list[tuple[str, str, dict[str, Any], str]] = [
    ("POST", "/api/auth/token", {"json": {"username": "\x00", "password": "x"}}, "username"),
    ("GET", "/api/persons", {"params": {"q": "Lan\x00"}}, "query.q"),
    ("GET", "/api/adminunits/01%00", {}, "path.code"),
    (
        "POST",
        "/api/persons",
        {"json": {"document_number": "001085000001", "full_name": "An\x00", "sex": "male"}},
        "full_name",
    ),
    ("GET", "/api/audit", {"params": {"since": "0001-01-01T00:00:00"}}, "since"),
    ("GET", "/api/audit", {"params": {"since": "9999-12-31T23:00:00-05:00"}}, "since"),
    (
        "POST",
        "/api/persons/import",
        {"files": {"file": ("people.csv", b"document_number,full_name\n\x00\x01,A\n")}},
        "file",
    ),
    (
        "POST",
        "/api/adminunits/import",
        {"files": {"file": ("units.csv", b"code,name,level,parent_code\n\x00,A,1,\n")}},
        "file",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "request_kwargs", "field"),
    HOSTILE_REQUESTS,
    ids=[f"{m} {p} {f}" for m, p, _, f in HOSTILE_REQUESTS],
)
def test_hostile_input_is_a_422_naming_the_field(
    fuzz_app: FastAPI,
    fuzz_target: FuzzTarget,
    method: str,
    path: str,
    request_kwargs: dict[str, Any],
    field: str,
) -> None:
    headers = _token_headers(fuzz_target, "national_admin")
    with TestClient(fuzz_app) as client:
        response = client.request(method, path, headers=headers, **request_kwargs)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


@pytest.mark.parametrize(
    ("row", "field"),
    [("X1,Big,1,,99999999999", "population"), ("X2,Deep,40000,,", "level")],
)
def test_admin_unit_numbers_beyond_their_columns_are_row_errors(
    fuzz_app: FastAPI, fuzz_target: FuzzTarget, row: str, field: str
) -> None:
    """Too big for INTEGER / SMALLINT: a rejected row, not a database error."""
    headers = _token_headers(fuzz_target, "national_admin")
    csv = f"code,name,level,parent_code,population\n{row}\n".encode()
    with TestClient(fuzz_app) as client:
        response = client.post(
            "/api/adminunits/import", headers=headers, files={"file": ("units.csv", csv)}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["rejected"]) == (0, 1)
    assert body["errors"][0]["field"] == field
