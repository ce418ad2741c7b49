"""The web application: the staff drop page, the lead's pages and the HTTP API (docs/api.md).

A thin layer: reading, rendering and rolling up are opsbook's own (through
opsbook/serve/convert.py, in the conversion pool); this module parses requests, checks who may
do what, stores submissions and answers in the request's language.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from opsbook.serve import convert
from opsbook.serve.convert import Converted, Failure
from opsbook.serve.pool import Busy, Pool, TimedOut
from opsbook.serve.security import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    BodyTooLarge,
    Guard,
    content_disposition,
    cross_site,
    session_valid,
    session_value,
    token_matches,
)
from opsbook.serve.store import NewSubmission, Store, Submission
from workbook.i18n import LANGS, catalog

log = logging.getLogger("opsbook.serve")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
RETRY_AFTER = "5"
LANG_COOKIE = "opsbook_lang"


@dataclass(frozen=True)
class Settings:
    workers: int = 2
    queue: int = 32
    timeout: float = 60.0
    max_upload_mb: float = 25.0
    max_files: int = 10


class Problem(Exception):
    """An answer other than success: HTTP status, a code and the message in every locale."""

    def __init__(self, status: int, code: str, messages: dict[str, str], exit_code: int = 0):
        super().__init__(code)
        self.status = status
        self.code = code
        self.messages = messages
        self.exit_code = exit_code

    @classmethod
    def of(cls, status: int, key: str, **params: object) -> Problem:
        return cls(status, key, {lang: catalog(lang)(f"errors.serve.{key}", **params)
                                 for lang in LANGS})  # fmt: skip

    @classmethod
    def failure(cls, failure: Failure) -> Problem:
        """A user error from opsbook, with the status that mirrors the CLI's exit code."""
        if failure.exit_code == 2:
            status = 400
        elif failure.exit_code == 4 and failure.too_large:
            status = 413
        else:
            status = 422
        return cls(status, failure.key, failure.messages, failure.exit_code)


# --- Language -----------------------------------------------------------------------------------


def accept_language(header: str) -> str | None:
    """The first supported language of an Accept-Language header, by quality."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag.strip().lower()))
    for neg_q, _, tag in sorted(ranked):
        if neg_q >= 0:
            continue
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh-CN"
    return None


def lang_of(request: Request) -> str:
    """?lang= (the page's switch), else the cookie it set, else Accept-Language, else zh-CN."""
    for value in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if value in LANGS:
            return value
    return accept_language(request.headers.get("accept-language", "")) or "zh-CN"


# --- The application ----------------------------------------------------------------------------


class Server:
    def __init__(self, store: Store, settings: Settings, session_secret: str, token_hash: str):
        self.store = store
        self.settings = settings
        self.secret = session_secret
        self.token_hash = token_hash
        self.pool: Pool | None = None
        self.templates = Environment(
            loader=PackageLoader("opsbook.serve", "templates"),
            autoescape=select_autoescape(["html"], default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        # 2026-12-02T07:06:26+00:00 -> 2026-12-02 07:06 (the headers say UTC)
        self.templates.filters["when"] = lambda iso: str(iso)[:16].replace("T", " ")

    # --- plumbing

    async def run(self, func: Callable[..., Any], *args: Any) -> Any:
        assert self.pool is not None
        try:
            return await self.pool.run(func, *args)
        except Busy:
            raise Problem.of(503, "busy") from None
        except TimedOut:
            raise Problem.of(503, "timeout") from None

    async def db(self, func: Callable[..., Any], *args: Any) -> Any:
        return await run_in_threadpool(func, *args)

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        lang = lang_of(request)
        t = catalog(lang)
        other = "en" if lang == "zh-CN" else "zh-CN"
        html = self.templates.get_template(name).render(
            t=t, lang=lang, other=other, request=request, lead=self.is_lead(request),
            label=convert.period_label, kpis_of=lambda s: convert.kpi_texts(s["kpis"], lang),
            **context,
        )  # fmt: skip
        return self.finish(request, HTMLResponse(html, status))

    @staticmethod
    def finish(request: Request, response: Response) -> Response:
        chosen = request.query_params.get("lang")
        if chosen in LANGS:
            response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, samesite="lax")
        return response

    def problem(self, request: Request, exc: Problem, *, html: bool) -> Response:
        lang = lang_of(request)
        headers = {"Retry-After": RETRY_AFTER} if exc.status == 503 else {}
        if html:
            response = self.page(request, "error.html", exc.status, message=exc.messages[lang])
            response.headers.update(headers)
            return response
        error: dict[str, object] = {"code": exc.code, "message": exc.messages[lang]}
        if exc.exit_code:
            error["exit_code"] = exc.exit_code
        body = {"error": error}
        return JSONResponse(body, exc.status, headers=headers)

    def is_lead(self, request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return token_matches(auth[7:], self.token_hash)
        return session_valid(request.cookies.get(SESSION_COOKIE), self.secret)

    def require_lead(self, request: Request) -> None:
        if not self.is_lead(request):
            raise Problem.of(401, "unauthorized")

    async def uploads(self, request: Request) -> list[tuple[bytes, str]]:
        """The request's files (field `file`), within the count limit."""
        limit = self.settings.max_files
        try:
            form = await request.form(max_files=limit, max_fields=20)
        except (MultiPartException, HTTPException) as exc:
            detail = getattr(exc, "message", None) or getattr(exc, "detail", "")
            raise Problem.of(400, "bad_form", detail=str(detail), max=limit) from None
        files: list[tuple[bytes, str]] = []
        for item in form.getlist("file"):
            if isinstance(item, UploadFile):
                name = Path((item.filename or "upload.xlsx").replace("\\", "/")).name
                data = await item.read()
                await item.close()
                if name or data:
                    files.append((data, name or "upload.xlsx"))
        await form.close()
        if not files:
            raise Problem.of(400, "no_file")
        return files

    # --- submissions

    async def submit(self, request: Request, data: bytes, name: str) -> Submission | Problem:
        try:
            result = await self.run(convert.convert_job, data, name)
        except Problem as exc:
            return exc
        if isinstance(result, Failure):
            return Problem.failure(result)
        assert isinstance(result, Converted)
        key, typed = convert.period_of(result.period_text)
        stem = Path(name).stem
        record = NewSubmission(
            id=secrets.token_urlsafe(16),
            period_key=key,
            period_label=typed,
            person=result.person,
            person_key=result.person_key,
            store_name=result.store_name,
            errors=result.errors,
            warnings=result.warnings,
            blank=result.blank,
            details={"issues": result.issues, "kpis": result.kpis, "lang": result.lang},
            workbook_name=name,
            workbook=data,
            summary_name=f"{stem}.docx",
            summary=result.docx,
            workbook_sha256=result.sha256,
        )
        await self.db(self.store.add, record)  # committed before anyone is told
        stored: Submission | None = await self.db(self.store.get, record.id)
        assert stored is not None
        return stored

    def submission_json(self, request: Request, s: Submission) -> dict[str, Any]:
        lang = lang_of(request)
        base = str(request.base_url).rstrip("/")
        return {
            "id": s.id,
            "person": s.person,
            "store": s.store_name,
            "period": {"key": s.period_key, "text": s.period_label,
                       "label": convert.period_label(s.period_key, s.period_label, lang)},
            "submitted_at": s.created_at,
            "status": "errors" if s.errors else ("warnings" if s.warnings else "ok"),
            "blank": s.blank,
            "errors": s.errors,
            "warnings": s.warnings,
            "versions": s.versions,
            "kpis": s.details.get("kpis", {}),
            "issues": [
                {k: (v[lang] if k in ("message", "text") else v) for k, v in issue.items()}
                for issue in s.details.get("issues", [])
            ],
            "workbook_url": f"{base}/api/v1/submissions/{s.id}/workbook",
            "summary_url": f"{base}/api/v1/submissions/{s.id}/summary",
        }  # fmt: skip

    # --- routes: staff

    async def home(self, request: Request) -> Response:
        lang = lang_of(request)
        today = dt.date.today()
        return self.page(
            request, "staff.html",
            default_period=convert.current_period_label(lang, today.year, today.month),
            max_files=self.settings.max_files, max_mb=f"{self.settings.max_upload_mb:g}",
        )  # fmt: skip

    async def workbook(self, request: Request) -> Response:
        lang = lang_of(request)
        q = request.query_params

        def field(name: str) -> str | None:
            value = " ".join(q.get(name, "").split())[:60]
            return value or None

        store, period, author = field("store"), field("period"), field("name")
        url = str(request.base_url)
        data = await self.run(convert.workbook_job, lang, store, period, author, url)
        stem = convert.file_stem(author or "", store or "", period or "")
        name = f"{stem}_{catalog(lang)('workbook.suffix')}.xlsx"
        return self.finish(request, Response(data, 200, media_type=XLSX,
                                             headers={"Content-Disposition":
                                                      content_disposition(name)}))  # fmt: skip

    async def submit_page(self, request: Request) -> Response:
        files = await self.uploads(request)
        results = await asyncio.gather(*(self.submit(request, d, n) for d, n in files))
        rows: list[dict[str, Any]] = []
        for (_, name), result in zip(files, results, strict=False):
            if isinstance(result, Problem):  # this file only: the others are stored
                rows.append({"name": name, "problem": result.messages[lang_of(request)]})
            else:
                rows.append({"name": name, "s": self.submission_json(request, result)})
        template = "_results.html" if request.query_params.get("fragment") else "results.html"
        return self.page(request, template, rows=rows)

    # --- routes: API

    async def api_render(self, request: Request) -> Response:
        data, name = (await self.uploads(request))[0]
        result = await self.run(convert.convert_job, data, name)
        if isinstance(result, Failure):
            raise Problem.failure(result)
        headers = {
            "Content-Disposition": content_disposition(f"{Path(name).stem}.docx"),
            "X-Opsbook-Errors": str(result.errors),
            "X-Opsbook-Warnings": str(result.warnings),
        }
        return Response(result.docx, 200, media_type=DOCX, headers=headers)

    async def api_check(self, request: Request) -> Response:
        data, name = (await self.uploads(request))[0]
        result = await self.run(convert.check_job, data, name)
        if isinstance(result, Failure):
            raise Problem.failure(result)
        lang = lang_of(request)
        result["issues"] = [
            {k: (v[lang] if k in ("message", "text") else v) for k, v in i.items()}
            for i in result["issues"]
        ]
        return JSONResponse(result)

    async def api_submit(self, request: Request) -> Response:
        files = await self.uploads(request)
        if len(files) != 1:
            raise Problem.of(400, "one_file")
        result = await self.submit(request, *files[0])
        if isinstance(result, Problem):
            raise result
        return JSONResponse(self.submission_json(request, result), 201)

    async def api_submission(self, request: Request) -> Response:
        found = await self.db(self.store.get, request.path_params["id"])
        if found is None:
            raise Problem.of(404, "not_found")
        return JSONResponse(self.submission_json(request, found))

    async def download(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in ("workbook", "summary"):
            raise Problem.of(404, "not_found")
        found = await self.db(self.store.file, request.path_params["id"], kind)
        if found is None:
            raise Problem.of(404, "not_found")
        name, data = found
        media = XLSX if kind == "workbook" else DOCX
        if kind == "workbook" and name.lower().endswith(".xlsm"):
            media = "application/vnd.ms-excel.sheet.macroEnabled.12"
        return Response(data, 200, media_type=media,
                        headers={"Content-Disposition": content_disposition(name)})  # fmt: skip

    async def api_periods(self, request: Request) -> Response:
        self.require_lead(request)
        lang = lang_of(request)
        periods = await self.db(self.store.periods)
        return JSONResponse(
            [{"key": p.key, "label": convert.period_label(p.key, p.label, lang), "people": p.people,
              "submissions": p.submissions, "last": p.last} for p in periods]
        )  # fmt: skip

    async def api_period_submissions(self, request: Request) -> Response:
        self.require_lead(request)
        key = request.path_params["period"]
        every = request.query_params.get("history") in ("1", "true")
        found = await self.db(self.store.history if every else self.store.current, key)
        return JSONResponse([self.submission_json(request, s) for s in found])

    async def period_file(self, request: Request) -> Response:
        self.require_lead(request)
        key = request.path_params["period"]
        what = request.path_params["file"]
        lang = lang_of(request)
        stem = convert.file_stem(catalog(lang)("serve.team_file"), key)
        if what == "summaries.zip":
            files = await self.db(self.store.current_files, key, "summary")
            if not files:
                raise Problem.of(404, "no_submissions")
            named = [(f"{convert.file_stem(s.person, s.store_name)}.docx", d)
                     for s, _, d in files]  # fmt: skip
            data = await self.run(convert.summaries_zip, named)
            disposition = {"Content-Disposition": content_disposition(f"{stem}.zip")}
            return Response(data, media_type="application/zip", headers=disposition)
        formats = {"rollup.xlsx": ("xlsx", XLSX), "rollup.docx": ("docx", DOCX),
                   "export.json": ("json", "application/json"),
                   "export.csv": ("csv", "text/csv; charset=utf-8")}  # fmt: skip
        if what not in formats:
            raise Problem.of(404, "not_found")
        fmt, media = formats[what]
        files = await self.db(self.store.current_files, key, "workbook")
        if not files:
            raise Problem.of(404, "no_submissions")
        stored = await self.db(self.store.roster)
        roster = (stored[1], stored[0]) if stored is not None else None
        workbooks = [(d, n) for _, n, d in files]
        result = await self.run(convert.rollup_job, workbooks, roster, fmt, lang)
        if isinstance(result, Failure):
            raise Problem.failure(result)
        disposition = {"Content-Disposition": content_disposition(f"{stem}.{fmt}")}
        return Response(result, media_type=media, headers=disposition)

    async def roster_upload(self, request: Request) -> Response:
        self.require_lead(request)
        data, name = (await self.uploads(request))[0]
        names = convert.roster_names(data, name)
        if isinstance(names, Failure):
            raise Problem.failure(names)
        await self.db(self.store.set_roster, name, data)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"name": name, "people": [n for n, _ in names]}, 201)
        back = request.query_params.get("period")
        target = f"/lead/periods/{back}" if back else "/lead"
        return RedirectResponse(request.url_for("lead").path if not back else target, 303)

    async def api_roster(self, request: Request) -> Response:
        self.require_lead(request)
        roster = await self.db(self.store.roster)
        if roster is None:
            raise Problem.of(404, "no_roster")
        names = convert.roster_names(roster[1], roster[0])
        if isinstance(names, Failure):
            raise Problem.failure(names)
        return JSONResponse({"name": roster[0], "people": [n for n, _ in names]})

    # --- routes: the lead's pages

    async def login_page(self, request: Request) -> Response:
        return self.page(request, "login.html", failed=False)

    async def login(self, request: Request) -> Response:
        try:
            form = await request.form(max_files=0, max_fields=5)
        except (MultiPartException, HTTPException):
            raise Problem.of(400, "bad_form", detail="token", max=0) from None
        token = str(form.get("token") or "")
        if not token_matches(token, self.token_hash):
            return self.page(request, "login.html", 401, failed=True)
        response = RedirectResponse("/lead", 303)
        response.set_cookie(
            SESSION_COOKIE, session_value(self.secret), max_age=SESSION_SECONDS, httponly=True,
            samesite="strict", secure=request.url.scheme == "https", path="/",
        )  # fmt: skip
        return response

    async def logout(self, request: Request) -> Response:
        response = RedirectResponse("/", 303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def lead(self, request: Request) -> Response:
        if not self.is_lead(request):
            return RedirectResponse("/lead/login", 303)
        periods = await self.db(self.store.periods)
        roster = await self.db(self.store.roster)
        return self.page(request, "lead.html", periods=periods, roster=roster)

    async def lead_period(self, request: Request) -> Response:
        if not self.is_lead(request):
            return RedirectResponse("/lead/login", 303)
        key = request.path_params["period"]
        current: list[Submission] = await self.db(self.store.current, key)
        roster = await self.db(self.store.roster)
        people = [self.submission_json(request, s) for s in current]
        board: dict[str, list[str]] | None = None
        if roster is not None:
            names = convert.roster_names(roster[1], roster[0])
            if not isinstance(names, Failure):
                by_key = {s.person_key: s for s in current}
                board = {"missing": [], "blank": [], "errors": [], "ok": [], "unlisted": []}
                listed: set[str] = set()
                for shown, person in names:
                    s = by_key.get(person) if person else None
                    if s is None:
                        board["missing"].append(shown)
                        continue
                    listed.add(s.person_key)
                    bucket = "blank" if s.blank else ("errors" if s.errors else "ok")
                    board[bucket].append(shown)
                board["unlisted"] = [s.person for s in current if s.person_key not in listed]
        label = (convert.period_label(key, current[0].period_label, lang_of(request))
                 if current else key)  # fmt: skip
        return self.page(request, "period.html", key=key, period=label, people=people,
                         board=board, roster=roster)  # fmt: skip

    async def health(self, request: Request) -> Response:
        return PlainTextResponse("ok")


def build_app(server: Server) -> Starlette:
    def wrap(handler: Callable[[Request], Awaitable[Response]], *, html: bool) -> Any:
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

    s = server
    routes = [
        Route("/", wrap(s.home, html=True)),
        Route("/workbook", wrap(s.workbook, html=True)),
        Route("/submit", wrap(s.submit_page, html=True), methods=["POST"]),
        Route("/healthz", s.health),
        Route("/lead", wrap(s.lead, html=True), name="lead"),
        Route("/lead/login", wrap(s.login_page, html=True)),
        Route("/lead/login", wrap(s.login, html=True), methods=["POST"]),
        Route("/lead/logout", wrap(s.logout, html=True), methods=["POST"]),
        Route("/lead/roster", wrap(s.roster_upload, html=True), methods=["POST"]),
        Route("/lead/periods/{period:path}", wrap(s.lead_period, html=True)),
        Route("/api/v1/render", wrap(s.api_render, html=False), methods=["POST"]),
        Route("/api/v1/check", wrap(s.api_check, html=False), methods=["POST"]),
        Route("/api/v1/submissions", wrap(s.api_submit, html=False), methods=["POST"]),
        Route("/api/v1/submissions/{id}", wrap(s.api_submission, html=False)),
        Route("/api/v1/submissions/{id}/{kind}", wrap(s.download, html=False)),
        Route("/api/v1/periods", wrap(s.api_periods, html=False)),
        Route("/api/v1/roster", wrap(s.api_roster, html=False)),
        Route("/api/v1/roster", wrap(s.roster_upload, html=False), methods=["POST"]),
        Route(
            "/api/v1/periods/{period:path}/submissions", wrap(s.api_period_submissions, html=False)
        ),
        Route("/api/v1/periods/{period:path}/{file}", wrap(s.period_file, html=False)),
        Mount("/static", StaticFiles(packages=[("opsbook.serve", "static")]), name="static"),
    ]

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
        routes=routes, lifespan=lifespan, exception_handlers={404: not_found, 405: not_allowed}
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


def json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
