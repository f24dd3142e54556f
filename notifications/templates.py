"""Message texts in Kazakh, Russian and English, rendered from the YAML files in ``notifications/templates/``.

``render("entered", "en", name="Aruzhan", time=captured_at)`` -> ``("Aruzhan entered school",
"Aruzhan entered school at 07:52")``. Times are shown in the school's timezone (Asia/Almaty by default). Russian
uses a gender-neutral form unless ``gender`` is given; Kazakh gets the locative suffix by vowel harmony.
"""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

import yaml

TEMPLATE_DIR = Path(__file__).parent / "templates"
DEFAULT_TIMEZONE = "Asia/Almaty"
Language = Literal["kk", "ru", "en"]
LANGUAGES: tuple[str, ...] = get_args(Language)
KINDS: tuple[str, ...] = (
    "entered",
    "left",
    "late",
    "fever",
    "unknown_face",
    "police_violation",
    "camera_health",
    "camera_recovered",
)
REQUIRED: dict[str, frozenset[str]] = {
    "entered": frozenset({"name", "time"}),
    "left": frozenset({"name", "time"}),
    "late": frozenset({"name", "time", "minutes_late"}),
    "fever": frozenset({"name", "time", "temperature"}),
    "unknown_face": frozenset({"door", "time"}),
    "police_violation": frozenset({"violation", "plate", "time", "location"}),
    "camera_health": frozenset({"camera_id", "state", "detail", "time"}),
    "camera_recovered": frozenset({"camera_id", "previous", "time"}),
}
KIND_ALIASES = {"pupil_entered": "entered", "pupil_left": "left", "fever_alert": "fever", "pupil_late": "late"}
FIELD_ALIASES = {"pupil": "name", "camera": "door"}
_DERIVED = frozenset({"hhmm", "at", "date", "temperature"})
# Locative suffix after the last spoken numeral (бір-де, үш-те, алты-да, қырық-та, елу-де ...).
_KK_UNITS = {1: "де", 2: "де", 3: "те", 4: "те", 5: "те", 6: "да", 7: "де", 8: "де", 9: "да"}
_KK_TENS = {10: "да", 20: "да", 30: "да", 40: "та", 50: "де"}


class TemplateError(ValueError):
    """Unknown kind or language, a missing field, or a broken template file."""


@dataclass(frozen=True, slots=True)
class Template:
    """Subject and body of one kind in one language (body_f / body_m are optional gendered variants)."""

    subject: str
    body: str
    body_f: str | None = None
    body_m: str | None = None


@dataclass(frozen=True, slots=True)
class Catalogue:
    """All templates of one language."""

    decimal: str
    violations: dict[str, str]
    kinds: dict[str, Template]
    camera_states: dict[str, str] = field(default_factory=dict)


def kk_locative(hhmm: str) -> str:
    """Kazakh locative suffix for a clock time read aloud, e.g. ``07:52`` -> ``де``, ``08:40`` -> ``та``."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    number = minute if minute else hour
    if number == 0:
        return "де"
    return _KK_UNITS[number % 10] if number % 10 else _KK_TENS[number % 100 if number < 60 else 10]


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _parse(language: str, raw: Any) -> Catalogue:
    if not isinstance(raw, dict) or not isinstance(raw.get("kinds"), dict):
        raise TemplateError(f"templates/{language}.yaml: expected keys decimal, violations, kinds")
    kinds: dict[str, Template] = {}
    for kind in KINDS:
        entry = raw["kinds"].get(kind)
        if not isinstance(entry, dict) or "subject" not in entry or "body" not in entry:
            raise TemplateError(f"templates/{language}.yaml: kind {kind!r} needs subject and body")
        template = Template(**{k: str(v) for k, v in entry.items()})
        allowed = (REQUIRED[kind] - {"time"}) | _DERIVED
        for text in (template.subject, template.body, template.body_f or "", template.body_m or ""):
            unknown = _placeholders(text) - allowed
            if unknown:
                raise TemplateError(f"templates/{language}.yaml: {kind} uses unknown fields {sorted(unknown)}")
        kinds[kind] = template
    violations = {str(k): str(v) for k, v in (raw.get("violations") or {}).items()}
    states = {str(k): str(v) for k, v in (raw.get("camera_states") or {}).items()}
    return Catalogue(decimal=str(raw.get("decimal", ".")), violations=violations, kinds=kinds, camera_states=states)


@functools.lru_cache(maxsize=8)
def load_catalogue(language: str, folder: Path = TEMPLATE_DIR) -> Catalogue:
    """Read and check ``{folder}/{language}.yaml`` (cached)."""
    if language not in LANGUAGES:
        raise TemplateError(f"unknown language {language!r}; expected one of {list(LANGUAGES)}")
    return _parse(language, yaml.safe_load((folder / f"{language}.yaml").read_text(encoding="utf-8")))


def _clock(when: Any, tz: str | ZoneInfo) -> tuple[str, str]:
    """(HH:MM, YYYY-MM-DD) in the school's zone; a ``HH:MM`` string is taken as already local (no date)."""
    if isinstance(when, str) and len(when) == 5 and when[2] == ":" and (when[:2] + when[3:]).isdigit():
        return when, ""
    if not isinstance(when, datetime) or when.tzinfo is None:
        raise TemplateError("time must be a timezone-aware datetime (or a local 'HH:MM' string)")
    local = when.astimezone(tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz))
    return local.strftime("%H:%M"), local.strftime("%Y-%m-%d")


def _values(language: str, catalogue: Catalogue, tz: str | ZoneInfo, fields: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {k: v for k, v in fields.items() if k != "time"}
    values["hhmm"], values["date"] = _clock(fields["time"], tz)
    values["at"] = f"{values['hhmm']}-{kk_locative(values['hhmm'])}" if language == "kk" else values["hhmm"]
    values["temperature"] = str(values.get("temperature", "")).replace(".", catalogue.decimal)
    if "violation" in fields:
        values["violation"] = catalogue.violations.get(str(fields["violation"]), str(fields["violation"]))
    for name in ("state", "previous"):  # CameraHealthState codes, in words
        if name in fields:
            values[name] = catalogue.camera_states.get(str(fields[name]), str(fields[name]))
    return values


def render(
    kind: str,
    language: str,
    *,
    tz: str | ZoneInfo = DEFAULT_TIMEZONE,
    gender: Literal["f", "m"] | None = None,
    **fields: Any,
) -> tuple[str, str]:
    """Subject and body of one message.

    Args:
        kind: one of ``KINDS`` (or an alias in ``KIND_ALIASES``, e.g. ``pupil_entered``).
        language: ``kk``, ``ru`` or ``en``.
        tz: the school's timezone (IANA name or ZoneInfo); ``time`` is shown in it.
        gender: ``f`` / ``m`` for gendered Russian forms; None gives the neutral form.
        **fields: the kind's ``REQUIRED`` fields (aliases in ``FIELD_ALIASES``, e.g. ``pupil`` for ``name``);
            ``time`` is a timezone-aware datetime (or a local ``HH:MM`` string), ``temperature_c`` a float (or
            ``temperature`` a preformatted string), ``violation`` a ViolationEvent.violation code, ``state`` /
            ``previous`` CameraHealthState codes (shown in words).
            Extra fields are ignored.

    Raises:
        TemplateError: unknown kind/language, a missing field, or a naive ``time``.
    """
    kind = KIND_ALIASES.get(kind, kind)
    fields = {FIELD_ALIASES.get(k, k): v for k, v in fields.items()}
    if kind not in REQUIRED:
        raise TemplateError(f"unknown message kind {kind!r}; expected one of {list(KINDS)}")
    if "temperature_c" in fields:
        fields["temperature"] = f"{float(fields.pop('temperature_c')):.1f}"
    missing = REQUIRED[kind] - fields.keys()
    if missing:
        raise TemplateError(f"{kind} message needs fields {sorted(missing)}")
    catalogue = load_catalogue(language)
    values = _values(language, catalogue, tz, fields)
    template = catalogue.kinds[kind]
    body = {"f": template.body_f, "m": template.body_m}.get(gender or "") or template.body
    return template.subject.format_map(values), body.format_map(values)
