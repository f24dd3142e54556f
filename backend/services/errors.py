"""Domain errors: what a service raises when a request cannot be carried out.

Services and stores know nothing of HTTP. They raise one of these with a short title and a detail a person can act
on; ``backend.errors`` maps every ``DomainError`` to problem JSON with the class's status in one handler. Routes and
dependencies may still raise ``backend.errors.Problem`` for HTTP-only concerns (a missing header, a bad cookie).
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every service-level failure; ``status`` is the HTTP status the handler answers with."""

    status: ClassVar[int] = 400

    def __init__(self, title: str, detail: str, **extra: Any) -> None:
        super().__init__(f"{title}: {detail}")
        self.title = title
        self.detail = detail
        self.extra = extra


class BadInputError(DomainError):
    """The request is well-formed but its content cannot be used (422)."""

    status = 422


class NotFoundError(DomainError):
    """The thing named does not exist, or the caller may not know that it does (404)."""

    status = 404


class ConflictError(DomainError):
    """The request clashes with what is stored (409): a taken name, a duplicate, a state that forbids it."""

    status = 409


class UnauthenticatedError(DomainError):
    """The caller is not known: no, a wrong or an expired credential (401)."""

    status = 401


class ForbiddenError(DomainError):
    """The caller is known but may not do this (403)."""

    status = 403


class TooLargeError(DomainError):
    """The payload is over a configured size (413)."""

    status = 413


class UnsupportedMediaError(DomainError):
    """The payload's type is not one this endpoint takes (415)."""

    status = 415


class TooManyRequestsError(DomainError):
    """A rate or failure limit was hit (429); ``retry_after_s`` in ``extra`` says when to come back."""

    status = 429
