"""The monthly attendance report (Order No. 456 asks schools to keep one): per class and per pupil, the school days
present, late and absent, as data for the page, a CSV and a printable PDF with a chart per class.

School days are the weekdays of the month up to today in the school's zone (a day not yet lived is not an absence).
The PDF puts each class on its own page: a stacked bar chart per pupil (matplotlib) above the class table, in the
page's language with DejaVu Sans (matplotlib's bundled font, which has Kazakh and Russian letters).
"""

from __future__ import annotations

import calendar
import csv
import io
import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from backend.services.errors import BadInputError
from backend.services.pages import school_zone
from backend.services.records import public_id, school_name
from backend.store import attendance, schools
from backend.web.i18n import Translate

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class PupilTotals:
    """One pupil's month."""

    pupil_id: str
    name: str
    present: int
    late: int
    absent: int


@dataclass(slots=True)
class ClassReport:
    """One class's month."""

    name: str
    pupils: list[PupilTotals] = field(default_factory=list)

    @property
    def totals(self) -> tuple[int, int, int]:
        """(present, late, absent) summed over the class."""
        return (sum(p.present for p in self.pupils), sum(p.late for p in self.pupils),
                sum(p.absent for p in self.pupils))  # fmt: skip


@dataclass(frozen=True, slots=True)
class MonthlyReport:
    """The report of one school and month."""

    school_id: str
    school_name: str
    month: str
    school_days: list[str]
    classes: list[ClassReport]


def checked_month(month: str) -> tuple[int, int]:
    """(year, month) of ``YYYY-MM`` between 1900 and 2999, else 422."""
    try:
        parsed = datetime.strptime(month, "%Y-%m")
    except ValueError as exc:
        raise BadInputError("No such month", f"{month} is not a month; use YYYY-MM") from exc
    if not 1900 <= parsed.year <= 2999:
        raise BadInputError("No such month", f"{month} is outside 1900-2999")
    return parsed.year, parsed.month


def school_days(year: int, month: int, today: date) -> list[str]:
    """Weekdays of the month up to ``today``."""
    last = calendar.monthrange(year, month)[1]
    days = (date(year, month, d) for d in range(1, last + 1))
    return [d.isoformat() for d in days if d.weekday() < 5 and d <= today]


def monthly(conn: sqlite3.Connection, school_id: str, month: str, default_zone: str) -> MonthlyReport:
    """Days present, late and absent of every pupil of the school in ``month``, grouped by class."""
    year, number = checked_month(month)
    today = datetime.now(ZoneInfo(school_zone(conn, school_id, default_zone))).date()
    days = school_days(year, number, today)
    wanted = set(days)
    marks: dict[str, dict[str, bool]] = {}
    for pupil_id, day, late in attendance.month_marks(conn, school_id, f"{year:04d}-{number:02d}"):
        if day in wanted:
            marks.setdefault(pupil_id, {})[day] = late
    classes: dict[str, ClassReport] = {}
    for line in schools.roster(conn, school_id):
        seen = marks.get(line.pupil_id, {})
        late_days = sum(1 for was_late in seen.values() if was_late)
        totals = PupilTotals(public_id(line.pupil_id), line.name, len(seen), late_days, len(days) - len(seen))
        classes.setdefault(line.class_name, ClassReport(line.class_name)).pupils.append(totals)
    return MonthlyReport(school_id, school_name(conn, school_id), f"{year:04d}-{number:02d}", days,
                         list(classes.values()))  # fmt: skip


def _cell(value: object) -> object:
    """A text cell a spreadsheet would run as a formula, prefixed with ``'``."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def to_csv(report: MonthlyReport) -> str:
    """One row per pupil: class, pupil, name, present, late, absent, school days."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["class", "pupil_id", "name", "present", "late", "absent", "school_days"])
    for group in report.classes:
        for p in group.pupils:
            writer.writerow([_cell(c) for c in (group.name, p.pupil_id, p.name, p.present, p.late, p.absent,
                                                len(report.school_days))])  # fmt: skip
    return buffer.getvalue()


def class_chart_png(group: ClassReport, t: Translate) -> bytes:
    """A stacked horizontal bar per pupil (on time, late, absent), as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    names = [p.name for p in group.pupils]
    on_time = [p.present - p.late for p in group.pupils]
    late = [p.late for p in group.pupils]
    absent = [p.absent for p in group.pupils]
    figure = Figure(figsize=(7, 0.9 + 0.32 * max(1, len(names))), dpi=110)
    axes = figure.add_subplot()
    axes.barh(names, on_time, color="#2e7d32", label=t("report.on_time"))
    axes.barh(names, late, left=on_time, color="#f9a825", label=t("report.late"))
    axes.barh(names, absent, left=[a + b for a, b in zip(on_time, late, strict=True)], color="#c62828",
              label=t("report.absent"))  # fmt: skip
    axes.invert_yaxis()
    axes.set_xlabel(t("report.days"))
    axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8, frameon=False)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def _font() -> str:
    """Register DejaVu Sans (Cyrillic, Kazakh letters) with reportlab once; its name."""
    from matplotlib import font_manager
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", font_manager.findfont("DejaVu Sans")))
    return "DejaVuSans"


def to_pdf(report: MonthlyReport, t: Translate) -> bytes:
    """The printable report: one A4 page per class with its chart and table."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import Image, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _font()
    styles = getSampleStyleSheet()
    for style in styles.byName.values():
        style.fontName = font
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, title=t("report.title"), leftMargin=2 * cm, rightMargin=2 * cm)
    story: list[object] = []
    for i, group in enumerate(report.classes):
        if i:
            story.append(PageBreak())
        story.append(Paragraph(f"{t('report.title')}: {report.school_name}, {report.month}", styles["Title"]))
        story.append(Paragraph(f"{t('report.class')} {group.name} · {t('report.school_days')}: "
                               f"{len(report.school_days)} · {t('report.order')}", styles["Normal"]))  # fmt: skip
        png = class_chart_png(group, t)
        story += [Spacer(1, 8), Image(io.BytesIO(png), width=16 * cm, height=16 * cm * _ratio(png)), Spacer(1, 8)]
        rows = [[t("report.pupil"), t("report.present"), t("report.late"), t("report.absent")]]
        rows += [[p.name, str(p.present), str(p.late), str(p.absent)] for p in group.pupils]
        rows.append([t("report.total"), *(str(n) for n in group.totals)])
        table = Table(rows, colWidths=[8 * cm, 2.6 * cm, 2.6 * cm, 2.6 * cm], repeatRows=1)
        table.setStyle(TableStyle([
            ("FONTNAME", (0, 0), (-1, -1), font), ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")), ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ]))  # fmt: skip
        story.append(table)
    if not story:
        story.append(Paragraph(t("report.no_pupils"), styles["Normal"]))
    doc.build(story)
    return out.getvalue()


def _ratio(png: bytes) -> float:
    """Height / width of a PNG (from its IHDR)."""
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    return height / width
