"""One error body for every refusal: ``{"error": {"code": ..., "message": ..., "fields": [...]}}``.

Codes a client can act on: ``token_required``, ``bad_token``, ``forbidden``,
``invalid_filter``, ``unknown_parameter``, ``bad_cursor``, ``bad_request``,
``not_found``, ``conflict``, ``rate_limited``, ``server_error``.
"""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or []


def error_response(api: NinjaAPI, request: HttpRequest, *, status: int, code: str, message: str, fields=None):
    body = {"error": {"code": code, "message": message, **({"fields": fields} if fields else {})}}
    response = api.create_response(request, body, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="newsdesk"'
    return response


def handlers_install(api: NinjaAPI) -> None:
    """Replace ninja's default error bodies with ours, for every kind of refusal."""

    def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return error_response(api, request, status=exc.status, code=exc.code, message=exc.message, fields=exc.fields)

    def on_auth(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return error_response(
            api, request, status=401, code="token_required",
            message="This desk is private: send an API token as 'Authorization: Bearer <token>'.",
        )  # fmt: skip

    def on_throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
        return error_response(
            api, request, status=429, code="rate_limited",
            message="Too many requests for this token; wait for the number of seconds in Retry-After.",
        )  # fmt: skip

    def on_validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        fields = sorted({str(e.get("loc", ["?"])[-1]) for e in exc.errors})
        return error_response(
            api, request, status=400, code="bad_request",
            message="; ".join(f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg', 'invalid')}" for e in exc.errors)[:1000],
            fields=fields,
        )  # fmt: skip

    def on_http(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
        return error_response(api, request, status=exc.status_code, code=code, message=str(exc))

    def on_404(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error_response(api, request, status=404, code="not_found", message=str(exc) or "Not found.")

    def on_other(request: HttpRequest, exc: Exception) -> HttpResponse:
        # A bug, not bad input: logged with its trace; the client gets a body it can parse.
        log.exception("event=api_error path=%s", request.path)
        return error_response(api, request, status=500, code="server_error", message="Something broke on our side.")

    api.add_exception_handler(ApiError, on_api_error)
    api.add_exception_handler(AuthenticationError, on_auth)
    api.add_exception_handler(Throttled, on_throttled)
    api.add_exception_handler(ValidationError, on_validation)
    api.add_exception_handler(HttpError, on_http)
    api.add_exception_handler(Http404, on_404)
    api.add_exception_handler(Exception, on_other)
