"""The lead's side of the server: signing in, the periods and their submissions, the roster
and who is missing, and the team's files (roll-up, export, every summary in one zip)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from opsbook.serve import convert
from opsbook.serve.answers import Problem, form_problem, lang_of
from opsbook.serve.base import DOCX, XLSX, Base
from opsbook.serve.convert import Failure
from opsbook.serve.security import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    content_disposition,
    session_value,
    token_matches,
)
from opsbook.serve.store import Submission
from workbook.i18n import catalog


class LeadRoutes(Base):
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
            raise form_problem("", 0) from None
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
