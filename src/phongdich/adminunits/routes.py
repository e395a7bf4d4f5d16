"""Admin-units API: the tree is public reference data; loading it is an admin's job."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Path, Query, UploadFile

from phongdich.adminunits import service
from phongdich.adminunits.schemas import AdminUnitDetail, AdminUnitPublic
from phongdich.deps import ActorDep, SessionDep
from phongdich.importing import MAX_IMPORT_BYTES, ImportReport, ImportResult

router = APIRouter(prefix="/api/adminunits", tags=["admin units"])


@router.get("", response_model=list[AdminUnitPublic])
def search(
    session: SessionDep,
    q: Annotated[
        str, Query(max_length=100, description="Code, or name with or without diacritics")
    ] = "",
    parent: Annotated[str | None, Query(max_length=16)] = None,
    level: Annotated[int | None, Query(ge=1, le=10)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[AdminUnitPublic]:
    units = service.search_units(
        session=session, query=q, parent_code=parent, level=level, limit=limit
    )
    return [AdminUnitPublic.model_validate(u) for u in units]


@router.get("/{code}", response_model=AdminUnitDetail)
def read(code: Annotated[str, Path(max_length=16)], session: SessionDep) -> AdminUnitDetail:
    unit = service.get_unit(session=session, code=code)
    children = service.search_units(session=session, parent_code=unit.code, limit=5000)
    return AdminUnitDetail(
        **AdminUnitPublic.model_validate(unit).model_dump(),
        ancestors=[
            AdminUnitPublic.model_validate(u) for u in service.ancestors(session=session, unit=unit)
        ],
        children=[AdminUnitPublic.model_validate(u) for u in children],
    )


@router.post("/import", response_model=ImportResult)
def import_tree(
    actor: ActorDep,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="CSV: code,name,level,parent_code,population")],
) -> ImportResult:
    report = ImportReport()
    units = service.parse_csv(file.file.read(MAX_IMPORT_BYTES + 1), report)
    service.load_units(session=session, actor=actor, units=units, report=report)
    return ImportResult.model_validate(report.as_dict())
