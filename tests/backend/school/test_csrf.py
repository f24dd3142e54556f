"""CSRF and page headers: a page of another site cannot use the session cookie to change anything.

Every state-changing route of the app is tried with a valid session cookie and a foreign ``Origin`` (403 before the
route runs); the same requests from the site's own origin, or by a device key or bearer token, are not refused by the
guard. Every answer carries the security headers; pages carry a nonce CSP that their own scripts use.
"""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from backend.settings import Settings
from tests.backend.conftest import ADMIN, TEMPLATE_KEY
from tests.backend.school.conftest import PASSWORD, World

FOREIGN = "https://evil.example"
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def _cookie_login(world: World, username: str) -> None:
    world.client.cookies.clear()
    reply = world.client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    assert "kuzet_session" in world.client.cookies
    cookie = reply.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie  # served on loopback


def _state_changing_routes(world: World) -> list[tuple[str, str]]:
    """Every unsafe (method, path) of the OpenAPI document, path parameters filled in (school-1 for the school)."""
    routes = []
    for template, operations in world.client.get("/openapi.json").json()["paths"].items():
        path = re.sub(r"\{(\w+)\}", "x1", template).replace("/schools/x1", "/schools/school-1")
        routes.extend((method.upper(), path) for method in operations if method.upper() in UNSAFE)
    return routes


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (120, 90, 60)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_every_state_changing_route_refuses_a_foreign_origin_with_a_valid_cookie(world: World) -> None:
    _cookie_login(world, "admin_a")
    routes = _state_changing_routes(world)
    assert len(routes) >= 20 and ("POST", "/api/v1/auth/logout") in routes
    refused = {}
    for method, path in routes:
        reply = world.client.request(method, path, json={}, headers={"Origin": FOREIGN})
        refused[(method, path)] = reply.status_code
        assert reply.headers["content-type"].startswith("application/problem+json")
    assert {k: v for k, v in refused.items() if v != 403} == {}
    photo = {"photos": ("a.jpg", _jpeg(), "image/jpeg")}
    upload = world.client.post(
        "/api/v1/schools/school-1/pupils/p1/photos", files=photo, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert upload.status_code == 403, upload.text
    assert world.rows("SELECT COUNT(*) FROM face_templates") == [(0,)]
    assert world.client.get("/api/v1/auth/me").status_code == 200, "the refused logout must not have logged out"


def test_the_sites_own_pages_and_header_authenticated_callers_pass(world: World) -> None:
    _cookie_login(world, "staff_a")
    same_origin = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    own = world.client.post("/api/v1/auth/logout", headers=same_origin)
    assert own.status_code == 204
    _cookie_login(world, "staff_a")
    assert world.client.post("/api/v1/auth/logout").status_code == 204  # no Origin: not a browser, not CSRF
    world.client.cookies.clear()
    bearer = world.client.post("/api/v1/auth/logout", headers={**world.auth("admin_b"), "Origin": FOREIGN})
    assert bearer.status_code == 204
    cross_login = world.client.post(
        "/api/v1/auth/login", json={"username": "staff_a", "password": PASSWORD}, headers={"Origin": FOREIGN}
    )
    assert cross_login.status_code == 403  # login CSRF: a foreign page cannot log the browser in either


def test_pages_and_api_answers_carry_the_security_headers(world: World) -> None:
    _cookie_login(world, "staff_a")
    page = world.client.get("/schools/school-1/dashboard")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp)
    assert nonce is not None and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    scripts = re.findall(r"<(script|style)([^>]*)>", page.text)
    assert scripts and all(f'nonce="{nonce.group(1)}"' in attrs for _, attrs in scripts)
    second = world.client.get("/schools/school-1/dashboard").headers["content-security-policy"]
    assert second != csp, "the nonce is fresh per answer"
    for reply in (page, world.client.get("/login"), world.client.get("/api/v1/auth/me"), world.client.get("/nope")):
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["x-frame-options"] == "DENY"
        assert reply.headers["referrer-policy"] == "same-origin"
        assert "frame-ancestors 'none'" in reply.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("host", "secure"), [("127.0.0.1", False), ("::1", False), ("0.0.0.0", True), ("10.1.2.3", True)]
)
def test_the_session_cookie_is_secure_unless_served_on_loopback(host: str, secure: bool) -> None:
    settings = Settings(admin_token=ADMIN, template_key=TEMPLATE_KEY, host=host)
    assert settings.cookies_secure is secure
    forced = Settings(admin_token=ADMIN, template_key=TEMPLATE_KEY, host=host, limits={"secure_cookies": True})
    assert forced.cookies_secure is True
