"""Officials' pages for transfers between provinces (chuyển người giữa các tỉnh) and for the
notices checkpoints send to units (rapid tests at the driver lane, flagged groups).

The pages call the same services as the API (`transfer_routes.py`). A refused form is shown
again with the reason beside the field it names and what was typed kept; each change runs in
a savepoint, so a refusal leaves nothing behind when the request's transaction commits.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.checkpoints import notices, transfer_views, transfers
from phongdich.checkpoints.transfer_routes import signed_code
from phongdich.credentials.passes import qr_svg
from phongdich.deps import ActorDep, SessionDep
from phongdich.errors import Conflict, Invalid, NotFound
from phongdich.web.forms import FormValues, parse_date, redirect
from phongdich.web.i18n import gettext_
from phongdich.web.reasons import N_
from phongdich.web.templating import render

router = APIRouter(include_in_schema=False)

Code = Annotated[str, Path(max_length=40)]
Errors = dict[str, str]
LineErrors = list[tuple[str, int, str]]  # ("line" of the text box | "row" of the CSV, number, why)

MAX_FIELDS = 20
MAX_CSV_BYTES = 1_000_000
DOCUMENT_COLUMNS = ("document_number", "so_giay_to", "cccd", "document")
FIELDS = (
    "from_unit_code",
    "to_unit_code",
    "reason",
    "reason_other",
    "travel_date",
    "document_numbers",
    "route",
    "vehicle_plate",
    "vehicle_type",
)
REASON_LABELS = {
    "continued_quarantine": N_("Continued quarantine"),
    "patient": N_("Patient transfer"),
    "workers": N_("Workers"),
    "returning_residents": N_("Residents returning home"),
    "other": N_("Other (say which)"),
}
STATUS_LABELS = {
    "pending": N_("Awaiting decision"),
    "accepted": N_("Accepted"),
    "refused": N_("Refused"),
    "cancelled": N_("Cancelled"),
}
KIND_LABELS = {
    "rapid_positive": N_("Rapid test: positive"),
    "rapid_negative": N_("Rapid test: negative"),
    "flagged": N_("Flagged group"),
}
# Fixed reasons the transfer services give in English, listed so the catalogue has them.
SERVICE_REASONS = (
    N_("an admin unit code"),
    N_("a unit of another province"),
    N_("at least one person"),
    N_("not registered in your jurisdiction"),
    N_("say why the transfer is refused"),
    N_("one document number a line, or a CSV file with a document_number column"),
    N_("the file is not UTF-8 text"),
    N_("the file is larger than 1 MB"),
    N_("not a CSV file"),
    N_("from yesterday to 30 days ahead"),
    N_("at most 500 people"),
)


def _unit_names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = session.execute(select(AdminUnit.code, AdminUnit.name).where(AdminUnit.code.in_(codes)))
    return {row.code: row.name for row in rows}


def _reason_label(reason: str) -> str:
    return REASON_LABELS.get(reason, reason)


def _page_context(session: Session) -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "reason_label": _reason_label,
        "provinces": list(
            session.scalars(select(AdminUnit).where(AdminUnit.level == 1).order_by(AdminUnit.code))
        ),
    }


# The list


@router.get("/transfers", response_class=HTMLResponse)
def transfers_page(request: Request, actor: ActorDep, session: SessionDep) -> Response:
    """Incoming manifests awaiting a decision first, then outgoing ones, then the rest."""
    actor.require(Permission.CHECKPOINTS_RECORD)
    rows = transfer_views.rows(session, actor)
    awaiting = [r for r in rows if r.sides.receiver and r.transfer.status == "pending"]
    outgoing = [
        r
        for r in rows
        if r not in awaiting and r.sides.sender and r.transfer.status in ("pending", "accepted")
    ]
    history = [r for r in rows if r not in awaiting and r not in outgoing]
    codes = {r.transfer.from_unit_code for r in rows} | {r.transfer.to_unit_code for r in rows}
    return render(
        request,
        "checkpoints/transfer_list.html",
        {
            **_page_context(session),
            "awaiting": awaiting,
            "outgoing": outgoing,
            "history": history,
            "unit_names": _unit_names(session, codes),
            "may_manage": actor.can(Permission.CHECKPOINTS_MANAGE),
        },
    )


# Filing a manifest


def _new_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    values: Mapping[str, str] | None = None,
    errors: Errors | None = None,
    line_errors: LineErrors | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "checkpoints/transfer_new.html",
        {
            **_page_context(session),
            "values": values or {"from_unit_code": actor.unit_code or "", "reason": ""},
            "errors": errors or {},
            "line_errors": line_errors or [],
            "reasons": [(key, gettext_(label)) for key, label in REASON_LABELS.items()],
        },
        status_code=status_code,
    )


@router.get("/transfers/new", response_class=HTMLResponse)
def transfer_new(request: Request, actor: ActorDep, session: SessionDep) -> Response:
    actor.require(Permission.CHECKPOINTS_MANAGE)
    return _new_page(request, session, actor)


async def _manifest_form(request: Request) -> tuple[dict[str, str], bytes | None]:
    """The text fields and the optional CSV file's bytes (the page's only upload); the
    parsed form is closed here, so its spooled file never outlives the request."""
    form = await request.form(max_files=1, max_fields=MAX_FIELDS)
    try:
        values = {k: v.strip() for k, v in form.items() if isinstance(v, str) and k in FIELDS}
        upload = form.get("file")
        data = None
        if isinstance(upload, UploadFile) and upload.filename:
            data = await upload.read(MAX_CSV_BYTES + 1)
        return values, data
    finally:
        await form.close()


ManifestForm = Annotated[tuple[dict[str, str], bytes | None], Depends(_manifest_form)]


def _lines(text: str) -> tuple[list[str], list[str]]:
    """Document numbers typed one a line, with where each came from."""
    numbers, where = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            numbers.append(line.strip()[:20])
            where.append(f"line:{number}")
    return numbers, where


def _csv_numbers(data: bytes) -> tuple[list[str], list[str]]:
    """Document numbers from a CSV: the `document_number` column, or the first one."""
    if len(data) > MAX_CSV_BYTES:
        raise Invalid("file", "the file is larger than 1 MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("file", "the file is not UTF-8 text") from None
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error:
        raise Invalid("file", "not a CSV file") from None
    column, start = 0, 0
    if rows:
        header = [cell.strip().lower() for cell in rows[0]]
        for name in DOCUMENT_COLUMNS:
            if name in header:
                column, start = header.index(name), 1
                break
        else:
            if rows[0] and not any(ch.isdigit() for ch in rows[0][0]):
                start = 1  # a header of other names: numbers are in the first column
    numbers, where = [], []
    for index, row in enumerate(rows[start:], start=start + 1):
        cell = row[column].strip() if len(row) > column else ""
        if cell:
            numbers.append(cell[:20])
            where.append(f"row:{index}")
    return numbers, where


@router.post("/transfers/new", response_class=HTMLResponse)
def transfer_file(
    request: Request, actor: ActorDep, session: SessionDep, form: ManifestForm
) -> Response:
    actor.require(Permission.CHECKPOINTS_MANAGE)
    values, upload = form
    errors: Errors = {}
    numbers, where = _lines(values.get("document_numbers", ""))
    if upload is not None:
        try:
            more, more_where = _csv_numbers(upload)
        except Invalid as exc:
            errors["file"] = exc.reason
        else:
            numbers, where = numbers + more, where + more_where
    if not numbers and "file" not in errors:
        errors["document_numbers"] = (
            "one document number a line, or a CSV file with a document_number column"
        )
    reason = values.get("reason", "")
    if reason == "other" or reason not in REASON_LABELS:
        reason = values.get("reason_other", "") if reason == "other" else reason
        if not reason:
            errors["reason_other" if values.get("reason") == "other" else "reason"] = "required"
    travel_day: date | None = None
    try:
        travel_day = parse_date(values.get("travel_date", "")[:20], "travel_date")
    except Invalid as exc:
        errors["travel_date"] = exc.reason
    if errors or travel_day is None:
        return _new_page(request, session, actor, values=values, errors=errors, status_code=422)
    try:
        with session.begin_nested():
            transfer = transfers.file_transfer(
                session=session,
                actor=actor,
                from_unit_code=values.get("from_unit_code", "")[:16],
                to_unit_code=values.get("to_unit_code", "")[:16],
                reason=reason[:200],
                travel_date=travel_day,
                document_numbers=numbers[: transfers.MAX_PEOPLE + 1],
                route=values.get("route", "")[:300],
                vehicle_plate=values.get("vehicle_plate", "")[:16],
                vehicle_type=values.get("vehicle_type", "")[:16],
            )
    except Invalid as exc:
        match = re.fullmatch(r"document_numbers\.(\d+)", exc.field)
        if match and int(match.group(1)) < len(where):
            kind, number = where[int(match.group(1))].split(":")
            return _new_page(
                request,
                session,
                actor,
                values=values,
                errors={"document_numbers": ""},
                line_errors=[(kind, int(number), exc.reason)],
                status_code=422,
            )
        field = exc.field if exc.field in FIELDS else "form"
        return _new_page(
            request, session, actor, values=values, errors={field: exc.reason}, status_code=422
        )
    except NotFound:  # a sending unit outside the actor's units looks like no unit at all
        code = values.get("from_unit_code", "")[:16]
        return _new_page(
            request,
            session,
            actor,
            values=values,
            errors={"from_unit_code": f"no admin unit with code {code}"},
            status_code=422,
        )
    except Conflict as exc:
        return _new_page(
            request, session, actor, values=values, errors={"form": exc.message}, status_code=409
        )
    return redirect(f"/transfers/{transfer.code}?notice=saved")


# One manifest


def _detail_page(
    request: Request,
    session: Session,
    actor: Actor,
    code: str,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, Errors] | None = None,
    status_code: int = 200,
) -> Response:
    found = transfer_views.view(session, actor, code)
    transfer = found.transfer
    manage = actor.can(Permission.CHECKPOINTS_MANAGE)
    svg = None
    if transfer.status in ("pending", "accepted"):
        svg = Markup(  # noqa: S704  (segno's own SVG, no user text)
            qr_svg(signed_code(request, session, actor, transfer.code))
        )
    return render(
        request,
        "checkpoints/transfer_detail.html",
        {
            **_page_context(session),
            "view": found,
            "transfer": transfer,
            "svg": svg,
            "unit_names": _unit_names(session, {transfer.from_unit_code, transfer.to_unit_code}),
            "may_decide": manage and found.sides.receiver and transfer.status == "pending",
            "may_cancel": manage
            and found.sides.sender
            and transfer.status in ("pending", "accepted"),
            "values": values or {},
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/transfers/{code}", response_class=HTMLResponse)
def transfer_page(request: Request, code: Code, actor: ActorDep, session: SessionDep) -> Response:
    """Members (named for the sender, and for the receiver once accepted), status, decision,
    each member's arrival at the gate, and the vehicle's QR."""
    return _detail_page(request, session, actor, code)


def _decide(
    request: Request,
    session: Session,
    actor: Actor,
    code: str,
    values: Mapping[str, str],
    form: str,
) -> Response:
    actor.require(Permission.CHECKPOINTS_MANAGE)
    try:
        with session.begin_nested():
            if form == "cancel":
                transfer = transfers.cancel(session=session, actor=actor, code=code)
            else:
                transfer = transfers.decide(
                    session=session,
                    actor=actor,
                    code=code,
                    accept=form == "accept",
                    note=values.get("note", "")[:300],
                )
    except Invalid as exc:
        field = exc.field if exc.field == "note" else "form"
        return _detail_page(
            request,
            session,
            actor,
            code,
            values={form + "_note": values.get("note", "")},
            errors={form: {field: exc.reason}},
            status_code=422,
        )
    except Conflict as exc:
        return _detail_page(
            request, session, actor, code, errors={form: {"form": exc.message}}, status_code=409
        )
    return redirect(f"/transfers/{transfer.code}?notice=saved")


@router.post("/transfers/{code}/accept", response_class=HTMLResponse)
def transfer_accept(
    request: Request, code: Code, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    return _decide(request, session, actor, code, values, "accept")


@router.post("/transfers/{code}/refuse", response_class=HTMLResponse)
def transfer_refuse(
    request: Request, code: Code, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    return _decide(request, session, actor, code, values, "refuse")


@router.post("/transfers/{code}/cancel", response_class=HTMLResponse)
def transfer_cancel(
    request: Request, code: Code, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    return _decide(request, session, actor, code, values, "cancel")


@router.get("/transfers/{code}/card", response_class=HTMLResponse)
def transfer_card(request: Request, code: Code, actor: ActorDep, session: SessionDep) -> Response:
    """The printable sheet the vehicle carries: the QR, the plate, the date, the head count."""
    actor.require(Permission.CHECKPOINTS_RECORD)
    transfer = transfers.get_transfer(session, actor, code)
    text = signed_code(request, session, actor, transfer.code)
    return render(
        request,
        "checkpoints/transfer_card.html",
        {
            **_page_context(session),
            "transfer": transfer,
            "people": len(transfers.members_of(session, transfer)),
            "svg": Markup(qr_svg(text)),  # noqa: S704  (segno's own SVG, no user text)
            "unit_names": _unit_names(session, {transfer.from_unit_code, transfer.to_unit_code}),
        },
    )


# Notices


@dataclass(frozen=True)
class NoticeRow:
    """One line of the notices page: a notice, or a flagged vehicle's notices together."""

    first: notices.NoticeView
    people: list[str]

    @property
    def count(self) -> int:
        return len(self.people)


def _notice_rows(shown: list[notices.NoticeView]) -> list[NoticeRow]:
    rows: list[NoticeRow] = []
    groups: dict[tuple[str, uuid.UUID, bool], NoticeRow] = {}
    for item in shown:
        who = item.full_name or item.traveller or "–"
        n = item.notice
        if n.kind != "flagged" or item.group_id is None:
            rows.append(NoticeRow(item, [who]))
            continue
        key = (n.unit_code, item.group_id, n.read_at is None)
        if key in groups:
            groups[key].people.append(who)
        else:
            groups[key] = NoticeRow(item, [who])
            rows.append(groups[key])
    return rows


@router.get("/checkpoints/notices", response_class=HTMLResponse)
def notices_page(
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    show_all: Annotated[str | None, Query(alias="all", max_length=4)] = None,
) -> Response:
    """The unit's rapid test results and flagged groups from the gates, unread first."""
    shown = notices.notices_of(session=session, actor=actor, unread_only=not show_all)
    return render(
        request,
        "checkpoints/notice_list.html",
        {
            "rows": _notice_rows(shown),
            "kind_labels": KIND_LABELS,
            "unit_names": _unit_names(session, {n.notice.unit_code for n in shown}),
            "show_all": bool(show_all),
        },
    )


@router.post("/checkpoints/notices/{notice_id}/read", response_class=HTMLResponse)
def notice_read(
    request: Request, notice_id: str, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    try:
        key = uuid.UUID(notice_id[:40])
    except ValueError:
        raise NotFound("notice", notice_id[:40]) from None
    notices.mark_read(
        session=session, actor=actor, notice_id=key, whole_group=bool(values.get("group"))
    )
    back = "/checkpoints/notices" + ("?all=1" if values.get("all") else "")
    return redirect(back)
