"""What the server answers in which language: the language of a request, and Problem, an answer
other than success that carries a message key and its values until the answer is written
(localized at the edge, in the page's or the request's language)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from opsbook.serve.convert import Failure
from workbook.i18n import LANGS, catalog

RETRY_AFTER = "5"
LANG_COOKIE = "opsbook_lang"


@dataclass(frozen=True)
class Words:
    """A value of a message that is itself words of the catalogue (localized with it)."""

    key: str


class Problem(Exception):
    """An answer other than success: HTTP status, a code, and the message key and its values."""

    def __init__(
        self,
        status: int,
        code: str,
        key: str,
        params: dict[str, object] | None = None,
        exit_code: int = 0,
    ):
        super().__init__(code)
        self.status = status
        self.code = code
        self.key = key
        self.params = dict(params or {})
        self.exit_code = exit_code

    @classmethod
    def of(cls, status: int, code: str, **params: object) -> Problem:
        """One of the server's own answers (errors.serve.<code>)."""
        return cls(status, code, f"errors.serve.{code}", params)

    @classmethod
    def failure(cls, failure: Failure) -> Problem:
        """A user error from opsbook, with the status that mirrors the CLI's exit code."""
        if failure.exit_code == 2:
            status = 400
        elif failure.exit_code == 4 and failure.too_large:
            status = 413
        else:
            status = 422
        return cls(status, failure.key, f"errors.{failure.key}", failure.params, failure.exit_code)

    def message(self, lang: str) -> str:
        t = catalog(lang)
        params = {k: t(v.key) if isinstance(v, Words) else v for k, v in self.params.items()}
        return t(self.key, **params)


def form_problem(detail: str, limit: int) -> Problem:
    """The 400 for a form Starlette's parser refused; its English detail becomes a reason in the
    request's language."""
    text = detail.lower()
    if "files" in text:
        reason = Words("serve_form.too_many_files")
    elif "fields" in text:
        reason = Words("serve_form.too_many_fields")
    else:
        reason = Words("serve_form.unreadable")
    return Problem.of(400, "bad_form", detail=reason, max=limit)


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
