"""CSV exports: the attendance of one day, or the monthly attendance report (audited).

Cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return)
get a leading ``'`` so a pupil named ``=HYPERLINK(...)`` stays text. Days and months outside 1900-2999, or that do
not exist (``2026-02-31``), answer 422.
"""

from __future__ import annotations

import calendar
import csv
import io
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response

from backend.deps import DbDep, SettingsDep, StaffOf
from backend.services.auth import audit
from backend.services.dashboard import pupil_lines
from backend.services.errors import BadInputError
from backend.services.records import public_id
from backend.store import attendance, schools

router = APIRouter(prefix="/api/v1/schools/{school_id}/exports", tags=["exports"])
DAY_PATTERN = r"^(19|2\d)\d{2}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
MONTH_PATTERN = r"^(19|2\d)\d{2}-(0[1-9]|1[0-2])$"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DAY_COLUMNS: list[object] = [
    "pupil_id",
    "name",
    "class",
    "state",
    "first_in",
    "last_out",
    "late",
    "feverish",
    "max_temperature_c",
    "temperature_source",
]


def checked_day(day: str) -> str:
    """``day`` when it is a real calendar date (the pattern already bounds the year), else 422."""
    try:
        datetime.strptime(day, "%Y-%m-%d")
    except ValueError as exc:
        raise BadInputError("No such day", f"{day} is not a calendar date; use YYYY-MM-DD") from exc
    return day


def neutralised(cell: object) -> object:
    """A text cell that a spreadsheet would evaluate as a formula, prefixed with ``'``; anything else unchanged."""
    return f"'{cell}" if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) else cell


def _csv(rows: list[list[object]], filename: str) -> Response:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([[neutralised(c) for c in row] for row in rows])
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


def day_rows(db: DbDep, school_id: str, day: str, zone: str) -> list[list[object]]:
    """Header + one row per pupil of the day."""
    rows: list[list[object]] = [list(DAY_COLUMNS)]
    for p in pupil_lines(db.conn, school_id, day, ZoneInfo(zone)):
        rows.append(
            [p.pupil_id, p.name, p.class_name or "", p.state, p.first_in or "", p.last_out or "", int(p.late),
             int(p.feverish), "" if p.max_temperature_c is None else f"{p.max_temperature_c:.1f}",
             p.temperature_source or ""]
        )  # fmt: skip
    return rows


def month_rows(db: DbDep, school_id: str, month: str) -> list[list[object]]:
    """Header + one row per pupil: P (present), L (late) or blank per weekday, then the totals."""
    year, number = (int(x) for x in month.split("-"))
    days = [
        date(year, number, d) for d in range(1, calendar.monthrange(year, number)[1] + 1)
        if date(year, number, d).weekday() < 5
    ]  # fmt: skip
    marks: dict[tuple[str, str], str] = {
        (pupil_id, day): "L" if late else "P"
        for pupil_id, day, late in attendance.month_marks(db.conn, school_id, month)
    }
    header: list[object] = ["pupil_id", "name", "class", *[d.isoformat() for d in days], "present", "late", "absent"]
    rows: list[list[object]] = [header]
    for line in schools.roster(db.conn, school_id):
        cells = [marks.get((line.pupil_id, d.isoformat()), "") for d in days]
        present = sum(1 for c in cells if c)
        counts = [present, cells.count("L"), len(days) - present]
        rows.append([public_id(line.pupil_id), line.name, line.class_name, *cells, *counts])
    return rows


@router.get(
    "/attendance.csv",
    response_class=Response,
    responses={200: {"description": "The CSV file", "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def export_attendance(
    school_id: str,
    db: DbDep,
    settings: SettingsDep,
    who: StaffOf,
    day: Annotated[str | None, Query(pattern=DAY_PATTERN, description="One day (YYYY-MM-DD)")] = None,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN, description="A month (YYYY-MM)")] = None,
) -> Response:
    """The attendance of ``day`` or the monthly report of ``month`` as CSV."""
    if (day is None) == (month is None):
        raise BadInputError("Day or month", "give exactly one of ?day=YYYY-MM-DD or ?month=YYYY-MM")
    if day is not None:
        checked_day(day)
        rows, name = day_rows(db, school_id, day, settings.school.timezone), f"attendance-{school_id}-{day}.csv"
    else:
        assert month is not None
        rows, name = month_rows(db, school_id, month), f"attendance-{school_id}-{month}.csv"
    audit(db.conn, who, school_id, "export_attendance", f"{'day' if day else 'month'}:{day or month}")
    return _csv(rows, name)
