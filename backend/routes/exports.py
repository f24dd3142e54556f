"""CSV exports: the attendance of one day, or the monthly attendance report (audited)."""

from __future__ import annotations

import calendar
import csv
import io
from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response

from backend.deps import DbDep, SettingsDep
from backend.errors import Problem
from backend.services.auth import StaffOf, audit
from backend.services.dashboard import pupil_lines

router = APIRouter(prefix="/api/v1/schools/{school_id}/exports", tags=["exports"])
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
]


def _csv(rows: list[list[object]], filename: str) -> Response:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
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
             int(p.feverish), "" if p.max_temperature_c is None else f"{p.max_temperature_c:.1f}"]
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
        (r[0], r[1]): "L" if r[2] else "P"
        for r in db.execute(
            "SELECT pupil_id, day, late FROM attendance WHERE school_id = ? AND day LIKE ? AND first_in IS NOT NULL",
            (school_id, f"{month}-%"),
        )
    }
    header: list[object] = ["pupil_id", "name", "class", *[d.isoformat() for d in days], "present", "late", "absent"]
    rows: list[list[object]] = [header]
    for pupil_id, name, class_name in db.execute(
        "SELECT p.pupil_id, p.name, COALESCE(c.name, '') FROM pupils p LEFT JOIN classes c ON c.class_id = p.class_id"
        " WHERE p.school_id = ? ORDER BY c.name, p.name",
        (school_id,),
    ):
        cells = [marks.get((pupil_id, d.isoformat()), "") for d in days]
        present = sum(1 for c in cells if c)
        rows.append(
            [pupil_id, name, class_name, *cells, present, cells.count("L"), len(days) - present]
        )  # fmt: skip
    return rows


@router.get("/attendance.csv")
def export_attendance(
    school_id: str,
    db: DbDep,
    settings: SettingsDep,
    who: StaffOf,
    day: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="One day")] = None,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="A month")] = None,
) -> Response:
    """The attendance of ``day`` or the monthly report of ``month`` as CSV."""
    if (day is None) == (month is None):
        raise Problem(422, "Day or month", "give exactly one of ?day=YYYY-MM-DD or ?month=YYYY-MM")
    if day is not None:
        rows, name = day_rows(db, school_id, day, settings.school.timezone), f"attendance-{school_id}-{day}.csv"
    else:
        assert month is not None
        rows, name = month_rows(db, school_id, month), f"attendance-{school_id}-{month}.csv"
    audit(db.conn, who, school_id, "export_attendance", f"{'day' if day else 'month'}:{day or month}")
    return _csv(rows, name)
