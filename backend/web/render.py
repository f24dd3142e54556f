"""Rendering a page or a live fragment: the templates with ``t()``, the language switch and the request's nonce.

``t`` and ``page_lang`` are template globals that take the language from the context (``lang``, which ``page`` and
``fragment`` pass: the user's remembered choice) or else from the ``kuzet_lang`` cookie the switch also sets, so
templates rendered by other routers' ``Jinja2Templates`` (``install_globals``) speak the same language.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from backend.web.i18n import FOLDER, LANGUAGES, NATIVE, PageLanguage, language, translator

LANG_COOKIE = "kuzet_lang"


def context_language(ctx: Context) -> PageLanguage:
    """The language of a template being rendered: its ``lang`` variable, else the request's cookie."""
    chosen = ctx.get("lang")
    if chosen in LANGUAGES:
        return language(chosen)
    request = ctx.get("request")
    return language(None if request is None else request.cookies.get(LANG_COOKIE))


@pass_context
def _t(ctx: Context, key: str, **values: object) -> str:
    return translator(context_language(ctx))(key, **values)


@pass_context
def _page_lang(ctx: Context) -> str:
    return context_language(ctx)


def install_globals(templates: Jinja2Templates) -> Jinja2Templates:
    """Give a ``Jinja2Templates`` the pages' ``t``, ``page_lang``, ``languages`` and ``native`` globals."""
    templates.env.globals.update(t=_t, page_lang=_page_lang, languages=LANGUAGES, native=NATIVE)
    templates.env.filters["weekday"] = lambda day: date.fromisoformat(day).weekday()
    return templates


TEMPLATES = install_globals(Jinja2Templates(directory=str(FOLDER.parent / "templates")))


def page(request: Request, name: str, lang: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A whole page in ``lang`` (``context`` as the template's variables); the cookie follows the account."""
    response = TEMPLATES.TemplateResponse(request, name, {**context, "lang": lang}, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    if request.cookies.get(LANG_COOKIE) != lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=400 * 86400, samesite="strict", httponly=True)
    return response


def fragment(name: str, lang: str, **context: Any) -> str:
    """A part of a page rendered alone (what the live board sends through its event stream)."""
    return TEMPLATES.get_template(name).render({**context, "lang": lang})
