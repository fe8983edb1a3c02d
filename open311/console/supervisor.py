"""The console's supervisor pages: the dashboard (with its CSVs), the department's
response templates, and redacting a request's description. Thin views over the same
domain functions as the staff API (workflow.dashboard, workflow.templates,
workflow.moderation); the request page's extras (redactions, templates, pattern flags)
come from console/extras.py."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from marshmallow import EXCLUDE, Schema, fields
from werkzeug.wrappers import Response as BaseResponse

from open311.console.views import _back_with, bp, jurisdiction, viewer
from open311.errors import InvalidRequest
from open311.extensions import db
from open311.models.base import utcnow
from open311.pages.i18n import _
from open311.workflow import (
    actions,
    dashboard,
    moderation,
    offers,
    permissions,
    steps,
    templates,
)
from open311.workflow.permissions import Operation
from open311.workflow.templates import TemplateText

FIGURE = f"<any({', '.join(map(repr, dashboard.FIGURES))}):figure>"


# --- the dashboard ----------------------------------------------------------------------------


def _department() -> str | None:
    """The department asked for (the chooser), checked by the domain's scope rule."""
    staff = viewer()
    dashboard.require_reader(staff)
    asked = request.args.get("department", "").strip() or None
    return dashboard.scope_for(staff, asked, actions.departments(db.session()))


@bp.get("/dashboard")
def dashboard_page() -> str:
    department = _department()
    session_ = db.session()
    now = utcnow()
    time_zone = jurisdiction().time_zone
    figures = {
        name: dashboard.compute(session_, name, department, now, time_zone)
        for name in dashboard.FIGURES
    }
    query: dict[str, Any] = {"department": department} if department else {}
    choose = offers.sees_every_department(viewer())
    return render_template(
        "console/dashboard.html",
        figures=figures,
        csv={n: url_for("console.dashboard_csv", figure=n, **query) for n in dashboard.FIGURES},
        department=department,
        departments=sorted(d for d in actions.departments(session_) if d) if choose else [],
    )


@bp.get(f"/dashboard/{FIGURE}.csv")
def dashboard_csv(figure: str) -> Response:
    department = _department()
    found = dashboard.compute(db.session(), figure, department, utcnow(), jurisdiction().time_zone)
    name = f"{figure}-{department}" if department else figure
    safe = "".join(c if (c.isascii() and c.isalnum()) or c in "-_" else "-" for c in name)
    return Response(
        dashboard.to_csv(dashboard.table(found)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{safe}.csv"'},
    )


# --- response templates -----------------------------------------------------------------------


def _template_department() -> str:
    """The department whose templates are shown: one's own, or (administrators) the one
    chosen; the domain's MANAGE_TEMPLATES rule decides."""
    staff = viewer()
    asked = request.values.get("department", "").strip() or staff.department
    known = actions.departments(db.session())
    if asked not in known:
        raise InvalidRequest(f"department: no department is called {asked!r}.")
    permissions.require(staff, Operation.MANAGE_TEMPLATES, asked)
    return asked


def _template_text() -> TemplateText:
    data = steps.load_form(_TemplateForm(), request.form)
    return TemplateText(title=data["title"], text=data["text"])


@bp.get("/templates")
def templates_page() -> str:
    department = _template_department()
    staff = viewer()
    session_ = db.session()
    choose = permissions.ALLOWED[staff.role].get(Operation.MANAGE_TEMPLATES) is (
        permissions.Scope.ANY
    )
    return render_template(
        "console/templates.html",
        department=department,
        rows=templates.of_department(session_, department),
        placeholders=sorted(templates.PLACEHOLDERS.items()),
        departments=sorted(d for d in actions.departments(session_) if d) if choose else [],
        editing=request.args.get("edit", type=int),
    )


def _templates_url(department: str) -> str:
    return url_for("console.templates_page", department=department)


@bp.post("/templates")
def add_template() -> BaseResponse:
    department = _template_department()
    back = _templates_url(department)
    session_ = db.session()
    try:
        templates.create(
            session_, viewer(), department, _template_text(), actions.departments(session_),
            utcnow(),
        )  # fmt: skip
    except InvalidRequest as error:
        return _back_with(error, back)
    session_.commit()
    flash(_("The template is saved."), "success")
    return redirect(back, 303)


@bp.post("/templates/<int:template_id>")
def edit_template(template_id: int) -> BaseResponse:
    session_ = db.session()
    department = request.form.get("department", "").strip() or viewer().department
    try:
        templates.update(session_, viewer(), template_id, _template_text(), utcnow())
    except InvalidRequest as error:
        return _back_with(
            error, url_for("console.templates_page", department=department, edit=template_id)
        )
    session_.commit()
    flash(_("The template is saved."), "success")
    return redirect(_templates_url(department), 303)


@bp.post("/templates/<int:template_id>/delete")
def delete_template(template_id: int) -> BaseResponse:
    session_ = db.session()
    department = request.form.get("department", "").strip() or viewer().department
    templates.delete(session_, viewer(), template_id)
    session_.commit()
    flash(_("The template is deleted."), "success")
    return redirect(_templates_url(department), 303)


# --- moderation -------------------------------------------------------------------------------


@bp.post("/requests/<number>/redact")
def redact(number: str) -> BaseResponse:
    session_ = db.session()
    back = url_for("console.request_page", number=number)
    try:
        data = steps.load_form(_RedactForm(), request.form)
        moderation.redact_description(
            session_, number, data.get("description"), data["reason"], viewer(), utcnow()
        )
    except InvalidRequest as error:
        return _back_with(error, back + "#form-redact")
    session_.commit()
    flash(_("The description is redacted: the public reads the new text."), "success")
    return redirect(back, 303)


# The forms' fields: lengths as the staff API's (steps' limits), checked at the edge.


class _TemplateForm(Schema):
    class Meta:
        unknown = EXCLUDE

    title = fields.String(required=True, validate=steps.NAME_LENGTH)
    text = fields.String(required=True, validate=steps.NOTE_LENGTH)


class _RedactForm(Schema):
    class Meta:
        unknown = EXCLUDE

    description = fields.String(validate=steps.NOTE_LENGTH)
    reason = fields.String(required=True, validate=steps.NOTE_LENGTH)
