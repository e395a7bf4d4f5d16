"""Lab pages (receiving shipments, entering, importing and correcting results) and a citizen's
own results page.

A lab sees barcodes and counts only, never who is in a tube. The citizen's page needs no login:
a person is found by their personal pass, or by document number and the phone registered with
it (which the phone then remembers), and an unknown document looks exactly like a wrong phone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.config import get_settings
from phongdich.db import utcnow
from phongdich.deps import ActorDep, SessionDep
from phongdich.errors import Conflict, Invalid, NotFound
from phongdich.testing import campaigns, labs, resolution, results, sampling
from phongdich.testing.models import Lab, Shipment, Tube
from phongdich.web import i18n
from phongdich.web.forms import FormValues
from phongdich.web.reasons import N_
from phongdich.web.templating import render
from phongdich.web.uploads import handle_upload, upload_page

router = APIRouter(include_in_schema=False)

Code = Annotated[str, Path(max_length=40)]
MAX_SCANS = 5000
IMPORT_TEMPLATE = "testing_lab/import.html"
RESULT_FIELDS = ("barcode", "result", "ct_value", "method", "tested_at")
CORRECTION_FIELDS = ("result", "ct_value", "method", "tested_at", "reason")
NO_TUBE = N_("no tube with this barcode at your labs")
NO_LAB = N_("choose one of your labs")
RESULT_LABELS = {
    "negative": N_("Negative"),
    "positive": N_("Positive"),
    "invalid": N_("Invalid"),
}
STATUS_LABELS = {
    "open": N_("open"),
    "closed": N_("closed"),
    "shipped": N_("on the way"),
    "received": N_("received"),
    "resulted": N_("resulted"),
}
SOURCE_LABELS = {"form": N_("form"), "import": N_("import"), "api": N_("API")}
Errors = dict[str, str]


def _choices(labels: Mapping[str, str], blank: bool = False) -> list[tuple[str, str]]:
    first = [("", i18n.gettext_(N_("— choose —")))] if blank else []
    return first + [(key, i18n.gettext_(text)) for key, text in labels.items()]


def _now_local() -> str:
    """What a datetime-local field shows for now, in the lab's time zone."""
    return datetime.now(get_settings().tz).strftime("%Y-%m-%dT%H:%M:%S")


# Who the lab is


def _my_labs(session: Session, actor: Actor) -> list[Lab]:
    actor.require(Permission.TESTING_LAB)
    return [lab for lab in labs.list_labs(session=session) if labs.works_at(session, actor, lab.id)]


def _lab_shipment(session: Session, actor: Actor, code: str) -> Shipment:
    actor.require(Permission.TESTING_LAB)
    shipment = labs.get_shipment(session=session, actor=actor, code=code)
    if not labs.works_at(session, actor, shipment.lab_id):
        raise NotFound("shipment", code)
    return shipment


def _lab_tube(session: Session, actor: Actor, code: str) -> Tube:
    actor.require(Permission.TESTING_LAB)
    tube = sampling.find_tube(session, sampling.barcode(code))
    if tube is None or tube.lab_id is None or not labs.works_at(session, actor, tube.lab_id):
        raise NotFound("tube", code)
    return tube


# The lab's overview


@router.get("/testing/lab", response_class=HTMLResponse)
def lab_home(request: Request, actor: ActorDep, session: SessionDep) -> Response:
    """The technician's labs: load against capacity, turnaround, and the shipments sent."""
    mine = _my_labs(session, actor)
    loads = labs.loads(session, mine)
    shipments = {
        lab.id: [labs.view(session, s) for s in labs.shipments_of(session, lab)] for lab in mine
    }
    return render(
        request,
        "testing_lab/home.html",
        {
            "loads": loads,
            "shipments": shipments,
            "turnaround": labs.turnaround_by_day(session, mine),
            "warnings": {
                load.lab.id: i18n.gettext_(load.warning) for load in loads if load.warning
            },
        },
    )


@router.get("/testing/lab/tubes", response_class=HTMLResponse)
def tube_lookup(
    actor: ActorDep, barcode: Annotated[str, Query(max_length=40)] = ""
) -> RedirectResponse:
    """The overview's "find a tube" box: straight to the tube's page."""
    actor.require(Permission.TESTING_LAB)
    code = barcode.strip().upper()
    return RedirectResponse(f"/testing/lab/tubes/{code}" if code else "/testing/lab", 303)


# Receiving a shipment


def _scanned(text: str) -> list[str]:
    """A USB scanner types each barcode and Enter; pasted lists may use commas or spaces."""
    return [code for code in re.split(r"[\s,;]+", text) if code][:MAX_SCANS]


def _shipment_page(
    request: Request,
    session: Session,
    shipment: Shipment,
    *,
    scanned: int | None = None,
    values: Mapping[str, str] | None = None,
    errors: Errors | None = None,
    status_code: int = 200,
) -> Response:
    tubes = session.execute(
        select(Tube.barcode, Tube.status, Tube.kind)
        .where(Tube.shipment_id == shipment.id)
        .order_by(Tube.barcode)
    ).all()
    return render(
        request,
        "testing_lab/shipment.html",
        {
            "shipment": labs.view(session, shipment),
            "tubes": tubes,
            "status_labels": STATUS_LABELS,
            "scanned": scanned,
            "values": values or {},
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/testing/lab/shipments/{code}", response_class=HTMLResponse)
def shipment_page(request: Request, code: Code, actor: ActorDep, session: SessionDep) -> Response:
    return _shipment_page(request, session, _lab_shipment(session, actor, code))


@router.post("/testing/lab/shipments/{code}", response_class=HTMLResponse)
def shipment_receive(
    request: Request, code: Code, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    """Scanning is idempotent: scanning again later adds the tubes that turned up late."""
    shipment = _lab_shipment(session, actor, code)
    codes = _scanned(values.get("barcodes", ""))
    shown = {"barcodes": values.get("barcodes", "")[:200_000]}
    if not codes:
        errors = {"barcodes": "required"}
        return _shipment_page(
            request, session, shipment, values=shown, errors=errors, status_code=422
        )
    try:
        with session.begin_nested():
            labs.receive(session=session, actor=actor, code=shipment.code, barcodes=codes)
    except Invalid as exc:
        index = exc.field.rpartition(".")[2]
        bad = codes[int(index)] if index.isdigit() and int(index) < len(codes) else ""
        return _shipment_page(
            request,
            session,
            shipment,
            values=shown,
            errors={"barcodes": exc.reason, "bad_code": bad},
            status_code=422,
        )
    return _shipment_page(request, session, shipment, scanned=len(set(codes)))


# Entering one result


def _reading(values: Mapping[str, str]) -> tuple[resolution.Reading | None, Errors]:
    """Every field checked, so the form marks each wrong one at once."""
    errors: Errors = {}
    now = utcnow()
    checks: tuple[tuple[str, Any], ...] = (
        ("result", lambda v: results.parse_result(v)),
        ("ct_value", lambda v: results.parse_ct(v or None)),
        ("method", lambda v: campaigns.method(v or "pcr")),
        ("tested_at", lambda v: results.parse_time(v, "tested_at", now)),
    )
    for name, check in checks:
        text = values.get(name, "")
        if not text and name in ("result", "tested_at"):
            errors[name] = "required"
            continue
        try:
            check(text)
        except Invalid as exc:
            errors[name] = exc.reason
    if errors:
        return None, errors
    value = results.reading(
        values["result"],
        values.get("ct_value") or None,
        values.get("method") or "pcr",
        values["tested_at"],
        now,
    )
    return value, {}


def _result_form(
    request: Request,
    values: Mapping[str, str],
    *,
    errors: Errors | None = None,
    saved: str = "",
    created: bool = False,
    conflict: str = "",
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "testing_lab/result.html",
        {
            "values": values,
            "errors": errors or {},
            "result_choices": _choices(RESULT_LABELS, blank=True),
            "method_choices": _choices(campaigns.METHOD_LABELS),
            "saved": saved,
            "created": created,
            "conflict": conflict,
        },
        status_code=status_code,
    )


@router.get("/testing/lab/results", response_class=HTMLResponse)
def result_form(request: Request, actor: ActorDep) -> Response:
    actor.require(Permission.TESTING_LAB)
    return _result_form(request, {"method": "pcr", "tested_at": _now_local()})


@router.post("/testing/lab/results", response_class=HTMLResponse)
def result_submit(
    request: Request, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    """One tube's result; the same again changes nothing, a different one needs a correction."""
    actor.require(Permission.TESTING_LAB)
    shown = {name: values.get(name, "")[:60] for name in RESULT_FIELDS}
    value, errors = _reading(shown)
    try:
        code = sampling.barcode(shown["barcode"])
    except Invalid as exc:
        errors["barcode"] = exc.reason
    if value is None or errors:
        return _result_form(request, shown, errors=errors, status_code=422)
    try:
        with session.begin_nested():
            _, created = results.enter_result(session=session, actor=actor, code=code, value=value)
    except NotFound:
        return _result_form(request, shown, errors={"barcode": NO_TUBE}, status_code=404)
    except Conflict:
        return _result_form(request, shown, conflict=code, status_code=409)
    except Invalid as exc:
        field = "barcode" if exc.field == "tube_barcode" else exc.field
        field = field if field in RESULT_FIELDS else "barcode"
        return _result_form(request, shown, errors={field: exc.reason}, status_code=422)
    # Ready for the next tube of the same run: method and time stay.
    kept = {"method": shown["method"] or "pcr", "tested_at": shown["tested_at"]}
    return _result_form(request, kept, saved=code, created=created)


# Importing the lab machine's CSV


def _import_context(mine: Sequence[Lab], chosen: str, lab_error: str = "") -> dict[str, Any]:
    return {
        "columns": results.COLUMNS,
        "labs": mine,
        "chosen": chosen or (mine[0].code if len(mine) == 1 else ""),
        "lab_error": lab_error,
    }


@router.get("/testing/lab/results/import", response_class=HTMLResponse)
def import_form(
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    lab: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    mine = _my_labs(session, actor)
    return upload_page(request, IMPORT_TEMPLATE, _import_context(mine, lab.strip().upper()))


@router.post("/testing/lab/results/import", response_class=HTMLResponse)
def import_submit(
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    lab_code: Annotated[str, Form(max_length=32)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Good rows stored, bad rows listed by line; the same file again adds nothing."""
    mine = _my_labs(session, actor)
    chosen = lab_code.strip().upper()
    if chosen not in {lab.code for lab in mine}:
        context = _import_context(mine, "", NO_LAB)
        return upload_page(request, IMPORT_TEMPLATE, context, status_code=422)
    return handle_upload(
        request,
        session,
        file,
        IMPORT_TEMPLATE,
        _import_context(mine, chosen),
        lambda data: results.import_results(
            session=session, actor=actor, lab_code=chosen, source=data
        ),
    )


# One tube: its history and the correction form


def _tube_page(
    request: Request,
    session: Session,
    tube: Tube,
    *,
    values: Mapping[str, str] | None = None,
    errors: Errors | None = None,
    status_code: int = 200,
) -> Response:
    shipment = session.get(Shipment, tube.shipment_id) if tube.shipment_id else None
    lab = session.get(Lab, tube.lab_id) if tube.lab_id else None
    history = results.history(session, tube)
    current = history[-1] if history else None
    defaults = {
        "method": current.method if current else "pcr",
        "tested_at": _now_local(),
    }
    return render(
        request,
        "testing_lab/tube.html",
        {
            "tube": tube,
            "shipment": shipment,
            "lab": lab,
            "history": history,
            "current": current,
            "status_labels": STATUS_LABELS,
            "result_labels": RESULT_LABELS,
            "method_labels": campaigns.METHOD_LABELS,
            "source_labels": SOURCE_LABELS,
            "result_choices": _choices(RESULT_LABELS, blank=True),
            "method_choices": _choices(campaigns.METHOD_LABELS),
            "values": values if values is not None else defaults,
            "errors": errors or {},
            "corrected": request.query_params.get("corrected") == "1",
        },
        status_code=status_code,
    )


@router.get("/testing/lab/tubes/{code}", response_class=HTMLResponse)
def tube_page(request: Request, code: Code, actor: ActorDep, session: SessionDep) -> Response:
    return _tube_page(request, session, _lab_tube(session, actor, code))


@router.post("/testing/lab/tubes/{code}", response_class=HTMLResponse)
def tube_correct(
    request: Request, code: Code, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    """A correction is a new revision with who and why; the earlier ones stay."""
    tube = _lab_tube(session, actor, code)
    shown = {name: values.get(name, "")[:60] for name in CORRECTION_FIELDS}
    shown["reason"] = values.get("reason", "")[:300]
    value, errors = _reading(shown)
    if len(" ".join(shown["reason"].split())) < 3:
        errors["reason"] = N_("say why the result changes")
    if value is None or errors:
        return _tube_page(request, session, tube, values=shown, errors=errors, status_code=422)
    try:
        with session.begin_nested():
            results.correct_result(
                session=session, actor=actor, code=tube.barcode, value=value, reason=shown["reason"]
            )
    except Invalid as exc:
        # The tube's own complaints ("no result to correct") go by the new result.
        field = exc.field if exc.field in CORRECTION_FIELDS else "result"
        session.expire_all()
        tube = _lab_tube(session, actor, code)
        return _tube_page(
            request, session, tube, values=shown, errors={field: exc.reason}, status_code=422
        )
    return RedirectResponse(f"/testing/lab/tubes/{tube.barcode}?corrected=1", status_code=303)
