"""The web application: the staff drop page, the lead's pages and the HTTP API (docs/api.md).

A thin layer: reading, rendering and rolling up are opsbook's own (through
opsbook/serve/convert.py, in the conversion pool). The handlers live in opsbook/serve/staff.py
and opsbook/serve/lead.py, their plumbing in opsbook/serve/base.py; this module routes requests
to them, refuses cross-site ones and turns every failure into an answer in the request's
language.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from opsbook.serve import convert
from opsbook.serve.answers import Problem
from opsbook.serve.base import Settings, log
from opsbook.serve.lead import LeadRoutes
from opsbook.serve.pool import Pool
from opsbook.serve.security import BodyTooLarge, Guard, cross_site
from opsbook.serve.staff import StaffRoutes

__all__ = ["Server", "Settings", "build_app", "guarded"]


class Server(StaffRoutes, LeadRoutes):
    """The application's state and every handler (staff.py, lead.py, base.py)."""


def wrap(server: Server, handler: Callable[[Request], Awaitable[Response]], *, html: bool) -> Any:
    """A handler that refuses cross-site requests and answers every failure in the request's
    language: a Problem as itself, a body over the cap as 413, a bug as a logged 500."""

    async def endpoint(request: Request) -> Response:
        if cross_site(request.method, dict(request.headers), request.headers.get("host", "")):
            return server.problem(request, Problem.of(403, "cross_site"), html=html)
        try:
            return await handler(request)
        except Problem as exc:
            return server.problem(request, exc, html=html)
        except BodyTooLarge:
            limit = server.settings.max_upload_mb
            return server.problem(request, Problem.failure(convert.too_large(limit)), html=html)
        except Exception:  # a bug: logged with its traceback, answered in one line
            log.exception("%s %s", request.method, request.url.path)
            return server.problem(request, Problem.of(500, "internal"), html=html)

    return endpoint


def routes(s: Server) -> list[BaseRoute]:
    """Every address of the application and its handler."""
    return [
        Route("/", wrap(s, s.home, html=True)),
        Route("/workbook", wrap(s, s.workbook, html=True)),
        Route("/submit", wrap(s, s.submit_page, html=True), methods=["POST"]),
        Route("/healthz", s.health),
        Route("/lead", wrap(s, s.lead, html=True), name="lead"),
        Route("/lead/login", wrap(s, s.login_page, html=True)),
        Route("/lead/login", wrap(s, s.login, html=True), methods=["POST"]),
        Route("/lead/logout", wrap(s, s.logout, html=True), methods=["POST"]),
        Route("/lead/roster", wrap(s, s.roster_upload, html=True), methods=["POST"]),
        Route("/lead/periods/{period:path}", wrap(s, s.lead_period, html=True)),
        Route("/api/v1/render", wrap(s, s.api_render, html=False), methods=["POST"]),
        Route("/api/v1/check", wrap(s, s.api_check, html=False), methods=["POST"]),
        Route("/api/v1/submissions", wrap(s, s.api_submit, html=False), methods=["POST"]),
        Route("/api/v1/submissions/{id}", wrap(s, s.api_submission, html=False)),
        Route("/api/v1/submissions/{id}/{kind}", wrap(s, s.download, html=False)),
        Route("/api/v1/periods", wrap(s, s.api_periods, html=False)),
        Route("/api/v1/roster", wrap(s, s.api_roster, html=False)),
        Route("/api/v1/roster", wrap(s, s.roster_upload, html=False), methods=["POST"]),
        Route(
            "/api/v1/periods/{period:path}/submissions",
            wrap(s, s.api_period_submissions, html=False),
        ),
        Route("/api/v1/periods/{period:path}/{file}", wrap(s, s.period_file, html=False)),
        Mount("/static", StaticFiles(packages=[("opsbook.serve", "static")]), name="static"),
    ]


def build_app(server: Server) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings = server.settings
        server.pool = Pool(settings.workers, settings.queue, settings.timeout)
        try:
            yield
        finally:
            server.pool.close()

    async def not_found(request: Request, exc: Exception) -> Response:
        html = not request.url.path.startswith("/api/")
        return server.problem(request, Problem.of(404, "not_found"), html=html)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        html = not request.url.path.startswith("/api/")
        return server.problem(request, Problem.of(405, "method"), html=html)

    return Starlette(
        routes=routes(server),
        lifespan=lifespan,
        exception_handlers={404: not_found, 405: not_allowed},
    )


def guarded(server: Server) -> Guard:
    """The application inside its guard (body cap, security headers)."""
    app = build_app(server)
    limit = server.settings.max_upload_mb

    def refuse(scope: Any) -> Any:
        request = Request(scope)
        html = not request.url.path.startswith("/api/")
        return server.problem(request, Problem.failure(convert.too_large(limit)), html=html)

    return Guard(app, int(limit * 1024 * 1024), refuse)
