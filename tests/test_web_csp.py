"""The CSP middleware: django-csp's headers, with the settings policy built once."""

from __future__ import annotations

import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory

from newsdesk.web.csp import CachedCSPMiddleware


def _both(response_factory, path="/"):
    """The headers each middleware sets on the same kind of response."""
    out = []
    for cls in (CSPMiddleware, CachedCSPMiddleware):
        request = RequestFactory().get(path)
        mw = cls(lambda r: response_factory())
        mw.process_request(request)
        out.append(dict(mw.process_response(request, response_factory()).items()))
    return out


def test_plain_responses_get_django_csp_s_own_header():
    theirs, ours = _both(HttpResponse)
    assert ours[HEADER] == theirs[HEADER]
    assert "script-src 'self'" in ours[HEADER] and "frame-ancestors 'none'" in ours[HEADER]
    assert HEADER_REPORT_ONLY not in ours


def test_per_view_updates_and_exemptions_take_django_csp_s_path():
    def updated():
        response = HttpResponse()
        response._csp_update = {"img-src": ["https://img.example"]}
        return response

    def exempt():
        response = HttpResponse()
        response._csp_exempt = True
        return response

    theirs, ours = _both(updated)
    assert ours[HEADER] == theirs[HEADER] and "https://img.example" in ours[HEADER]
    theirs, ours = _both(exempt)
    assert HEADER not in ours and HEADER not in theirs


def test_a_nonce_used_by_the_view_is_in_the_header(settings):
    from csp.constants import NONCE

    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'self'"], "script-src": ["'self'", NONCE]}}
    request = RequestFactory().get("/")
    mw = CachedCSPMiddleware(lambda r: HttpResponse())
    mw.process_request(request)
    nonce = str(request.csp_nonce)
    response = mw.process_response(request, HttpResponse())
    assert f"'nonce-{nonce}'" in response[HEADER]


@pytest.mark.parametrize("report_only", [False, True])
def test_a_changed_setting_is_followed(settings, report_only):
    policy = {"DIRECTIVES": {"default-src": ["'self'"], "connect-src": ["https://changed.example"]}}
    name = "CONTENT_SECURITY_POLICY_REPORT_ONLY" if report_only else "CONTENT_SECURITY_POLICY"
    _both(HttpResponse)  # warm the cache under the old setting
    setattr(settings, name, policy)
    theirs, ours = _both(HttpResponse)
    header = HEADER_REPORT_ONLY if report_only else HEADER
    assert ours[header] == theirs[header] and "https://changed.example" in ours[header]


def test_nonce_after_the_header_is_written_is_an_error():
    from csp.exceptions import CSPNonceError

    request = RequestFactory().get("/")
    mw = CachedCSPMiddleware(lambda r: HttpResponse())
    mw.process_request(request)
    mw.process_response(request, HttpResponse())
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)
