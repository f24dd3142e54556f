"""Message texts per kind and language, times in the school's zone, Kazakh suffixes, aliases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kuzet.contracts.enums import CameraHealthState
from notifications.templates import KINDS, LANGUAGES, TemplateError, kk_locative, load_catalogue, render

# 02:52 UTC is 07:52 in Asia/Almaty (UTC+5).
T = datetime(2026, 9, 1, 2, 52, tzinfo=UTC)
FIELDS: dict[str, dict[str, Any]] = {
    "entered": {"name": "Aruzhan"},
    "left": {"name": "Aruzhan"},
    "late": {"name": "Aruzhan", "minutes_late": 12},
    "fever": {"name": "Aruzhan", "temperature_c": 38.04},
    "unknown_face": {"door": "Main door"},
    "police_violation": {"violation": "red_light", "plate": "123ABC02", "location": "Abay / Dostyk"},
    "camera_health": {"camera_id": "door-1", "state": "covered", "detail": "Lens covered: check the camera."},
    "camera_recovered": {"camera_id": "door-1", "previous": "frozen"},
}


@pytest.mark.parametrize(
    ("kind", "language", "expected_body"),
    [
        ("entered", "en", "Aruzhan entered school at 07:52"),
        ("entered", "ru", "Aruzhan: вход в школу в 07:52"),
        ("entered", "kk", "Aruzhan мектепке 07:52-де кірді"),
        ("left", "en", "Aruzhan left school at 07:52"),
        ("left", "kk", "Aruzhan мектептен 07:52-де шықты"),
        ("late", "ru", "Aruzhan: опоздание на 12 мин., вход в школу в 07:52"),
        ("fever", "en", "Aruzhan had a temperature of 38.0 °C at the door at 07:52. Please check on the pupil."),
        ("fever", "ru", "Aruzhan: температура 38,0 °C на входе в 07:52. Проверьте самочувствие ученика."),
        (
            "police_violation",
            "en",
            "Violation: running a red light. Plate: 123ABC02. Time: 2026-09-01 07:52. Place: Abay / Dostyk.",
        ),
    ],
)
def test_bodies(kind: str, language: str, expected_body: str) -> None:
    assert render(kind, language, time=T, **FIELDS[kind])[1] == expected_body


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_in_every_language_uses_its_fields(kind: str, language: str) -> None:
    subject, body = render(kind, language, time=T, **FIELDS[kind])
    assert subject and body
    assert "{" not in subject + body
    assert "07:52" in body
    for value in FIELDS[kind].values():
        if isinstance(value, str) and value not in ("red_light", "covered", "frozen"):
            assert value in subject + body


@pytest.mark.parametrize(
    ("gender", "expected"),
    [
        ("f", "Аружан пришла в школу в 07:52"),
        ("m", "Аружан пришёл в школу в 07:52"),
        (None, "Аружан: вход в школу в 07:52"),
    ],
)
def test_russian_gender(gender: str | None, expected: str) -> None:
    assert render("entered", "ru", gender=gender, name="Аружан", time=T)[1] == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("hhmm", "suffix"),
    [
        ("07:52", "де"),
        ("08:40", "та"),
        ("08:00", "де"),
        ("10:00", "да"),
        ("07:30", "да"),
        ("07:43", "те"),
        ("07:50", "де"),
        ("07:46", "да"),
        ("00:00", "де"),
        ("07:09", "да"),
        ("20:00", "да"),
    ],
)
def test_kazakh_locative(hhmm: str, suffix: str) -> None:
    assert kk_locative(hhmm) == suffix


def test_timezone_is_configurable() -> None:
    assert render("entered", "en", tz="Europe/Moscow", name="A", time=T)[1] == "A entered school at 05:52"


@pytest.mark.parametrize(
    ("kind", "language", "fields", "message"),
    [
        ("birthday", "en", {"name": "A", "time": T}, "unknown message kind"),
        ("entered", "de", {"name": "A", "time": T}, "unknown language"),
        ("entered", "en", {"time": T}, "needs fields ['name']"),
        ("entered", "en", {"name": "A", "time": datetime(2026, 9, 1, 7, 52)}, "timezone-aware"),
    ],
)
def test_errors(kind: str, language: str, fields: dict[str, Any], message: str) -> None:
    with pytest.raises(TemplateError, match=message.replace("[", r"\[").replace("]", r"\]")):
        render(kind, language, **fields)


def test_school_service_aliases() -> None:
    """The school service's kind and field names (pupil_entered, pupil=, camera=, local HH:MM) are accepted."""
    assert render("pupil_entered", "kk", pupil="Аружан", time="07:52") == (
        "Аружан мектепке кірді",
        "Аружан мектепке 07:52-де кірді",
    )
    assert "38,1 °C" in render("fever_alert", "ru", pupil="A", time="07:52", temperature="38.1", camera="d")[1]
    assert "door-1" in render("unknown_face", "en", pupil="?", time="07:52", camera="door-1", temperature="")[1]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("state", [s for s in CameraHealthState if s is not CameraHealthState.HEALTHY])
def test_every_camera_state_has_its_words(state: CameraHealthState, language: str) -> None:
    """An operator's alert names the state in the recipient's language, never the raw enum value (healthy is
    announced by ``camera_recovered``)."""
    words = load_catalogue(language).camera_states.get(state.value)
    assert words, f"{language}: no camera_states entry for {state.value}"
    subject, body = render("camera_health", language, time=T, camera_id="door-1", state=state.value, detail="x")
    assert words in subject + body
