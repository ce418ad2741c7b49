"""The server's plumbing, shared by its pages and its API: settings, the conversion pool and
the store called without blocking, pages rendered in the request's language, answers to
problems, who is the lead, and the uploaded files of a request."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from opsbook.serve import convert
from opsbook.serve.answers import LANG_COOKIE, RETRY_AFTER, Problem, form_problem, lang_of
from opsbook.serve.pool import Busy, Pool, TimedOut
from opsbook.serve.security import SESSION_COOKIE, session_valid, token_matches
from opsbook.serve.store import Store, Submission
from workbook.i18n import LANGS, catalog

log = logging.getLogger("opsbook.serve")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class Settings:
    workers: int = 2
    queue: int = 32
    timeout: float = 60.0
    max_upload_mb: float = 25.0
    max_files: int = 10


class Base:
    """The state every handler shares, and its plumbing."""

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
            response = self.page(request, "error.html", exc.status, message=exc.message(lang))
            response.headers.update(headers)
            return response
        error: dict[str, object] = {"code": exc.code, "message": exc.message(lang)}
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
            raise form_problem(str(detail), limit) from None
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
