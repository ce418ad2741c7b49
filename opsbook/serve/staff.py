"""The staff's side of the server: the drop page, the workbook to fill, and the HTTP API that
converts, checks and stores one upload (docs/api.md)."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from opsbook.serve import convert
from opsbook.serve.answers import Problem, lang_of
from opsbook.serve.base import DOCX, XLSX, Base
from opsbook.serve.convert import Converted, Failure
from opsbook.serve.security import content_disposition
from opsbook.serve.store import NewSubmission, Submission
from workbook.i18n import catalog


class StaffRoutes(Base):
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
                rows.append({"name": name, "problem": result.message(lang_of(request))})
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

    async def health(self, request: Request) -> Response:
        return PlainTextResponse("ok")
