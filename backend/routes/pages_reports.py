"""The monthly attendance report (Order No. 456) of a school: a page, a CSV and a printable PDF (staff; audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.deps import DbDep, SettingsDep, StaffOf, school_role
from backend.routes.dashboard import LangCookie, PagePrincipal, lang_of
from backend.routes.exports import MONTH_PATTERN
from backend.services import reports
from backend.services.auth import audit
from backend.services.pages import school_zone
from backend.web.i18n import translator
from backend.web.render import page

router = APIRouter(tags=["reports"])
Month = Annotated[str | None, Query(pattern=MONTH_PATTERN, description="YYYY-MM; default this month")]


def _month(db: DbDep, school_id: str, default_zone: str, month: str | None) -> str:
    return month or datetime.now(ZoneInfo(school_zone(db.conn, school_id, default_zone))).strftime("%Y-%m")


@router.get("/schools/{school_id}/reports/monthly", response_class=HTMLResponse, include_in_schema=False)
def monthly_page(
    request: Request,
    school_id: str,
    db: DbDep,
    settings: SettingsDep,
    maybe: PagePrincipal,
    lang: LangCookie = None,
    month: Month = None,
) -> Response:
    """The report as a page with a bar per pupil (not logged in: to the login form)."""
    if maybe is None:
        return RedirectResponse("/login", status_code=303)
    who = school_role("school_admin", "staff")(school_id, maybe)
    chosen = _month(db, school_id, settings.school.timezone, month)
    report = reports.monthly(db.conn, school_id, chosen, settings.school.timezone)
    audit(db.conn, who, school_id, "view_monthly_report", f"month:{chosen}")
    return page(request, "report.html", lang_of(db, who, lang), who=who, report=report)


@router.get(
    "/api/v1/schools/{school_id}/reports/monthly.csv",
    response_class=Response,
    responses={200: {"description": "The CSV file", "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def monthly_csv(school_id: str, db: DbDep, settings: SettingsDep, who: StaffOf, month: Month = None) -> Response:
    """Per pupil: class, present, late, absent and the month's school days."""
    chosen = _month(db, school_id, settings.school.timezone, month)
    report = reports.monthly(db.conn, school_id, chosen, settings.school.timezone)
    audit(db.conn, who, school_id, "export_monthly_report", f"month:{chosen}")
    return Response(
        reports.to_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="monthly-{school_id}-{chosen}.csv"',
                 "Cache-Control": "no-store"},
    )  # fmt: skip


@router.get(
    "/api/v1/schools/{school_id}/reports/monthly.pdf",
    response_class=Response,
    responses={200: {"description": "The PDF", "content": {"application/pdf": {"schema": {"type": "string"}}}}},
)
def monthly_pdf(
    school_id: str,
    db: DbDep,
    settings: SettingsDep,
    who: StaffOf,
    lang: LangCookie = None,
    month: Month = None,
) -> Response:
    """The printable report: one page per class with its chart and table, in the caller's language."""
    chosen = _month(db, school_id, settings.school.timezone, month)
    report = reports.monthly(db.conn, school_id, chosen, settings.school.timezone)
    pdf = reports.to_pdf(report, translator(lang_of(db, who, lang)))
    audit(db.conn, who, school_id, "export_monthly_report", f"month:{chosen}:pdf")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="monthly-{school_id}-{chosen}.pdf"',
                 "Cache-Control": "no-store"},
    )  # fmt: skip
