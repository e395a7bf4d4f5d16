from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.adminunits import service
from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import system_actor
from phongdich.auth.roles import Role
from phongdich.errors import Forbidden, Invalid, NotFound
from phongdich.importing import ImportReport
from tests.factories import (
    BA_DINH,
    HA_NOI,
    HANG_BAC,
    HCM,
    HOAN_KIEM,
    PHUC_XA,
    REFERENCE_TREE,
    TAN_DINH,
    TRUC_BACH,
    load_tree,
    make_user,
)

HEADER = "code,name,level,parent_code,population\n"


def paths(session: Session, *codes: str) -> dict[str, str]:
    rows = session.execute(select(AdminUnit.code, AdminUnit.path).where(AdminUnit.code.in_(codes)))
    return {row.code: row.path for row in rows}


def test_reference_tree_has_materialised_paths(session: Session) -> None:
    assert paths(session, HA_NOI, BA_DINH, PHUC_XA, HANG_BAC, TAN_DINH) == {
        HA_NOI: "01",
        BA_DINH: "01/001",
        PHUC_XA: "01/001/00001",
        HANG_BAC: "01/002/00037",
        TAN_DINH: "79/760/26734",
    }
    unit = service.get_unit(session=session, code=PHUC_XA)
    assert (unit.name, unit.level, unit.parent_code, unit.population) == (
        "Phường Phúc Xá",
        3,
        BA_DINH,
        18000,
    )
    assert unit.name_folded == "phuong phuc xa"


def test_reload_of_the_same_tree_changes_nothing(session: Session) -> None:
    report = load_tree(session, REFERENCE_TREE)
    assert (report.created, report.updated, report.unchanged, report.errors) == (0, 0, 9, [])


def test_search_by_name_without_diacritics_and_by_code(session: Session) -> None:
    assert [u.code for u in service.search_units(session=session, query="phuc xa")] == [PHUC_XA]
    assert [u.code for u in service.search_units(session=session, query="PHÚC XÁ")] == [PHUC_XA]
    assert [u.code for u in service.search_units(session=session, query=" 00037 ")] == [HANG_BAC]
    assert [u.code for u in service.search_units(session=session, query="ho chi minh")] == [HCM]
    assert service.search_units(session=session, query="100%") == []


def test_search_by_parent_and_level(session: Session) -> None:
    children = service.search_units(session=session, parent_code=BA_DINH)
    assert [u.code for u in children] == [PHUC_XA, TRUC_BACH]
    provinces = service.search_units(session=session, level=1)
    assert [u.code for u in provinces] == [HA_NOI, HCM]
    assert [u.code for u in service.search_units(session=session, query="phuong", level=3)] == [
        HANG_BAC,
        PHUC_XA,
        TAN_DINH,
        TRUC_BACH,
    ]
    assert len(service.search_units(session=session, query="phuong", limit=2)) == 2


def test_get_unit_unknown_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound, match="admin unit 99999 not found"):
        service.get_unit(session=session, code="99999")


def test_ancestors_and_label(session: Session) -> None:
    unit = service.get_unit(session=session, code=PHUC_XA)
    lineage = service.ancestors(session=session, unit=unit)
    assert [u.code for u in lineage] == [HA_NOI, BA_DINH]
    assert service.label(unit, lineage) == "Phường Phúc Xá, Quận Ba Đình, Thành phố Hà Nội"
    assert (
        service.ancestors(session=session, unit=service.get_unit(session=session, code=HCM)) == []
    )
    assert service.label(None) == ""


def test_load_inserts_children_before_parents_given_in_any_order(session: Session) -> None:
    report = load_tree(
        session,
        HEADER + "9900003,Thôn C,4,9900002,\n9900002,Xã B,3,9900001,120\n9900001,Huyện A,2,79,\n",
    )
    assert (report.created, report.errors) == (3, [])
    assert paths(session, "9900003")["9900003"] == "79/9900001/9900002/9900003"
    assert service.count_units(session=session) == 12


def test_update_renames_and_moving_a_unit_moves_its_subtree(session: Session) -> None:
    report = load_tree(session, HEADER + "002,Quận Hoàn Kiếm mới,2,79,140000\n")
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    moved = service.get_unit(session=session, code=HOAN_KIEM)
    session.refresh(moved)
    assert (moved.name, moved.name_folded, moved.population) == (
        "Quận Hoàn Kiếm mới",
        "quan hoan kiem moi",
        140000,
    )
    assert paths(session, HOAN_KIEM, HANG_BAC) == {HOAN_KIEM: "79/002", HANG_BAC: "79/002/00037"}
    assert [u.code for u in service.search_units(session=session, parent_code=HCM)] == [
        HOAN_KIEM,
        "760",
    ] or [u.code for u in service.search_units(session=session, parent_code=HCM)] == [
        "760",
        HOAN_KIEM,
    ]


def test_a_unit_may_move_under_a_new_unit_of_the_same_file(session: Session) -> None:
    report = load_tree(session, HEADER + "00037,Phường Hàng Bạc,3,9900010,\n9900010,Quận X,2,79,\n")
    assert (report.created, report.updated, report.errors) == (1, 1, [])
    assert paths(session, HANG_BAC)[HANG_BAC] == "79/9900010/00037"


def test_unknown_parent_is_reported_and_the_rest_is_loaded(session: Session) -> None:
    report = load_tree(session, HEADER + "9900020,Xã A,3,NOPE,\n9900021,Xã B,3,001,\n")
    assert report.created == 1
    assert [(e.line, e.field) for e in report.errors] == [(2, "parent_code")]
    assert "parent NOPE is unknown" in report.errors[0].reason
    assert paths(session, "9900021") == {"9900021": "01/001/9900021"}


def test_a_cycle_inside_the_file_is_reported(session: Session) -> None:
    report = load_tree(session, HEADER + "9900030,A,2,9900031,\n9900031,B,2,9900030,\n")
    assert report.created == 0
    assert sorted(e.line for e in report.errors) == [2, 3]
    assert all("cycle" in e.reason for e in report.errors)


def test_moving_a_unit_under_its_own_descendant_is_a_cycle(session: Session) -> None:
    """Ba Đình under Phúc Xá: Phúc Xá's path comes from the database, not the file."""
    report = load_tree(session, HEADER + "001,Quận Ba Đình,2,00001,\n")
    assert (report.updated, [(e.line, e.field) for e in report.errors]) == (0, [(2, "parent_code")])
    assert paths(session, BA_DINH, PHUC_XA) == {BA_DINH: "01/001", PHUC_XA: "01/001/00001"}


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        (",Xã A,3,001,", "code", "required"),
        ("12345678901234567,Xã A,3,001,", "code", "at most 16"),
        ("99/1,Xã A,3,001,", "code", "'/'"),
        ("9900040,,3,001,", "name", "required"),
        ("9900040,Xã A,ba,001,", "level", "whole number"),
        ("9900040,Xã A,0,001,", "level", "whole number"),
        ("9900040,Xã A,3,001,-5", "population", "whole number"),
        ("9900040,Xã A,3,001,nhiều", "population", "whole number"),
        ("9900040,Xã A,3,9900040,", "parent_code", "own parent"),
    ],
)
def test_parse_csv_reports_bad_rows_with_line_and_field(row: str, field: str, reason: str) -> None:
    report = ImportReport()
    units = service.parse_csv(HEADER + "9900041,Xã B,3,001,1.234\n" + row + "\n", report)
    assert [u.code for u in units] == ["9900041"]
    assert units[0].population == 1234
    assert [(e.line, e.field) for e in report.errors] == [(3, field)]
    assert reason in report.errors[0].reason


def test_parse_csv_rejects_a_code_given_twice() -> None:
    report = ImportReport()
    units = service.parse_csv(HEADER + "A1,X,1,,\nA1,Y,1,,\n", report)
    assert [u.name for u in units] == ["X"]
    assert [(e.line, e.field, e.reason) for e in report.errors] == [
        (3, "code", "code A1 appears twice in the file")
    ]


def test_parse_csv_accepts_semicolons_and_a_bom_without_population() -> None:
    report = ImportReport()
    data = "\ufeffcode;name;level;parent_code\nA1;Tỉnh A;1;\nA2;Xã B;2;A1\n".encode()
    units = service.parse_csv(data, report)
    assert report.errors == []
    assert [(u.code, u.parent_code, u.population) for u in units] == [
        ("A1", None, None),
        ("A2", "A1", None),
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"code,name\nA,B\n", "missing columns: level, parent_code"),
        ("code,name,level,parent_code\nA,Hà Tây,1,\n".encode("cp1258"), "not UTF-8"),
    ],
)
def test_parse_csv_rejects_bad_files(data: bytes, reason: str) -> None:
    with pytest.raises(Invalid) as exc:
        service.parse_csv(data, ImportReport())
    assert exc.value.field == "file"
    assert reason in exc.value.reason


def test_builtin_tree_unknown_name() -> None:
    with pytest.raises(Invalid) as exc:
        service.builtin_csv("vn-1975")
    assert exc.value.field == "tree"
    assert "vn-2021" in exc.value.reason


def test_only_admins_load_units(session: Session) -> None:
    _, officer = make_user(session, Role.PROVINCE_OFFICER, HA_NOI)
    with pytest.raises(Forbidden):
        service.load_units(session=session, actor=officer, units=[])


def test_builtin_2021_tree_loads_three_levels(session: Session) -> None:
    report = load_tree(session, service.builtin_csv("vn-2021"))
    assert report.errors == []
    assert report.rows_ok == 63 + 705 + 10_603
    counts = {
        level: len(service.search_units(session=session, level=level, limit=20_000))
        for level in (1, 2, 3)
    }
    # The reference tree's extra units (Quận 1 as 760, Tân Định) are part of the 2021 list too.
    assert counts == {1: 63, 2: 705, 3: 10_603}
    chuong_my = service.search_units(session=session, query="chuong my", level=2)
    assert [u.name for u in chuong_my] == ["Huyện Chương Mỹ"]


def test_official_two_level_list(session: Session) -> None:
    rows = service.official_rows()
    assert sum(1 for r in rows if r.level == 1) == 34
    assert sum(1 for r in rows if r.level == 2) == 3321
    report = ImportReport()
    service.load_units(session=session, actor=system_actor("tests"), units=rows, report=report)
    assert (report.errors, report.rows_ok) == ([], 3355)
    commune = next(r for r in rows if r.level == 2)
    assert paths(session, commune.code)[commune.code] == f"{commune.parent_code}/{commune.code}"
