"""newsdesk.ingest.fetch and netguard: every bound of a fetch, on loopback servers."""

from __future__ import annotations

import gzip
import shutil
import socket
import ssl
import subprocess
import time
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from newsdesk.httpheaders import retry_after_seconds
from newsdesk.ingest import netguard, transport
from newsdesk.ingest.fetch import USER_AGENT, FetchError, fetch_url, url_for_fetch
from tests.support.http import Response
from tests.support.rawhttp import RawServer, drip, gzip_bomb, response_head, zeros

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


def _refused(url: str, kind: str) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch_url(url=url)
    assert caught.value.kind == kind, str(caught.value)
    return caught.value


# --- Plain behaviour ------------------------------------------------------------


def test_fetch_returns_body_headers_and_connected_address(feed_server):
    """A 200 comes back with its body, lower-cased headers and the address connected to."""
    feed_server.static("/feed.xml", FEED, headers={"ETag": '"v1"', "Cache-Control": "public, max-age=1800"})
    result = fetch_url(url=feed_server.url("/feed.xml"))
    assert result.status == 200
    assert result.body == FEED
    assert result.headers["etag"] == '"v1"'
    assert result.max_age_seconds == 1800
    assert result.connected_ip == "127.0.0.1"
    assert result.final_url == feed_server.url("/feed.xml")
    assert result.permanent_redirect_url == ""


def test_user_agent_names_newsdesk_and_no_credentials_or_cookies_are_sent(feed_server):
    """User info in the URL is dropped; a cookie the server sets is never sent back."""
    feed_server.route("/feed.xml", lambda _r: Response(200, FEED, {"Set-Cookie": "session=abc; Path=/"}))
    url = feed_server.url("/feed.xml").replace("http://", "http://admin:hunter2@")
    first = fetch_url(url=url)
    fetch_url(url=url)
    assert "admin" not in first.final_url and "hunter2" not in first.final_url
    for request in feed_server.requests:
        assert "Newsdesk" in request.headers["user-agent"]
        assert request.headers["user-agent"] == USER_AGENT
        assert "authorization" not in request.headers
        assert "cookie" not in request.headers
        assert not any(name.startswith("x-") for name in request.headers)


def test_conditional_get_sends_validators_and_304_has_no_body(feed_server):
    def handler(request):
        if request.headers.get("if-none-match") == '"v1"':
            return Response(304, b"", {"ETag": '"v1"'})
        return Response(200, FEED, {"ETag": '"v1"'})

    feed_server.route("/feed.xml", handler)
    result = fetch_url(url=feed_server.url("/feed.xml"), etag='"v1"', last_modified="Mon, 09 Feb 2026 11:00:00 GMT")
    assert result.status == 304 and result.not_modified
    assert result.body == b""
    assert feed_server.requests[-1].headers["if-modified-since"] == "Mon, 09 Feb 2026 11:00:00 GMT"


@pytest.mark.parametrize("status", [401, 403, 404, 410, 500])
def test_error_statuses_are_results_not_exceptions(feed_server, status):
    feed_server.static("/feed.xml", b"gone", status=status)
    result = fetch_url(url=feed_server.url("/feed.xml"))
    assert result.status == status


def test_429_retry_after_seconds_and_503_retry_after_date(feed_server):
    later = datetime.now(tz=UTC) + timedelta(minutes=10)
    feed_server.static("/busy", b"", status=429, headers={"Retry-After": "120"})
    feed_server.static("/down", b"", status=503, headers={"Retry-After": format_datetime(later, usegmt=True)})
    assert fetch_url(url=feed_server.url("/busy")).retry_after_seconds == 120
    seconds = fetch_url(url=feed_server.url("/down")).retry_after_seconds
    assert seconds is not None and 590 <= seconds <= 600


def test_retry_after_garbage_is_ignored():
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("") is None
    assert retry_after_seconds("Mon, 09 Feb 2015 11:00:00 GMT") == 0.0


def test_gzip_and_deflate_bodies_are_decoded(feed_server):
    feed_server.route("/gz", lambda _r: Response(200, gzip.compress(FEED), {"Content-Encoding": "gzip"}))
    feed_server.route("/zl", lambda _r: Response(200, zlib.compress(FEED), {"Content-Encoding": "deflate"}))
    raw = zlib.compressobj(wbits=-15)
    raw_body = raw.compress(FEED) + raw.flush()
    feed_server.route("/raw", lambda _r: Response(200, raw_body, {"Content-Encoding": "deflate"}))
    for path in ("/gz", "/zl", "/raw"):
        assert fetch_url(url=feed_server.url(path)).body == FEED
    assert feed_server.requests[0].headers["accept-encoding"] == "gzip, deflate"


def test_connection_refused_is_a_transient_error():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    error = _refused(f"http://127.0.0.1:{port}/feed.xml", "connect")
    assert error.transient


# --- Schemes and addresses ------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://127.0.0.1/feed.xml", "gopher://127.0.0.1:70/", "javascript:alert(1)", "feed.xml"],
)
def test_only_http_and_https_are_fetched(url):
    error = _refused(url, "scheme")
    assert not error.transient


@pytest.mark.parametrize("host", ["2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0x7f.0.0.1"])
def test_decimal_octal_and_hex_ip_forms_are_refused(host, settings):
    """Even where loopback is allowed, non-canonical IP spellings are refused."""
    _refused(f"http://{host}/feed.xml", "ssrf")
    settings.NEWSDESK_FETCH_ALLOWED_NETWORKS = []
    _refused(f"http://{host}/feed.xml", "ssrf")


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "localhost"])
def test_loopback_in_every_spelling_is_refused_by_default(host, settings, feed_server):
    settings.NEWSDESK_FETCH_ALLOWED_NETWORKS = []
    feed_server.static("/feed.xml", FEED)
    _refused(f"http://{host}:{feed_server.port}/feed.xml", "ssrf")
    assert feed_server.hits("/feed.xml") == 0


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.254",
        "0.0.0.0",  # noqa: S104
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "::",
    ],
)
def test_guard_refuses_non_global_addresses(address, settings):
    """Judged without any packet being sent: the guard is a pure function."""
    settings.NEWSDESK_FETCH_ALLOWED_NETWORKS = []
    with pytest.raises(netguard.AddressRefused):
        netguard.address_check(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "::ffff:93.184.216.34"])
def test_guard_lets_global_addresses_through(address, settings):
    settings.NEWSDESK_FETCH_ALLOWED_NETWORKS = []
    assert netguard.address_check(address)


def test_allowed_networks_setting_opens_a_listed_range(settings):
    settings.NEWSDESK_FETCH_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    assert netguard.address_check("10.20.1.1")
    with pytest.raises(netguard.AddressRefused):
        netguard.address_check("10.21.1.1")


def test_name_resolving_to_a_refused_address_is_refused(settings, monkeypatch):
    """One bad answer refuses the name: mixed public/private answers stage rebinding."""
    settings.NEWSDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.2/32"]
    monkeypatch.setattr(
        netguard, "host_resolve", lambda host, port: [(socket.AF_INET, "127.0.0.2"), (socket.AF_INET, "127.0.0.1")]
    )
    error = _refused("http://feeds.example/feed.xml", "ssrf")
    assert "127.0.0.1" in str(error)


def test_dns_answer_is_resolved_once_and_the_checked_address_is_the_one_connected(settings, monkeypatch):
    """Rebinding: the resolver answers an allowed address, then a refused one.
    The fetch connects to the address it checked, and sends the name as Host."""
    settings.NEWSDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.2/32"]
    answers = iter(["127.0.0.2", "127.0.0.1", "127.0.0.1"])
    calls = []

    def rebinding_resolver(host, port):
        calls.append(host)
        return [(socket.AF_INET, next(answers))]

    monkeypatch.setattr(netguard, "host_resolve", rebinding_resolver)

    def handler(conn, head):
        conn.sendall(response_head(headers={"Content-Length": str(len(FEED))}) + FEED)

    with RawServer(handler, host="127.0.0.2") as server:
        result = fetch_url(url=f"http://feeds.example:{server.port}/feed.xml")
        assert result.body == FEED
        assert result.connected_ip == "127.0.0.2"
        assert calls == ["feeds.example"]
        assert f"Host: feeds.example:{server.port}".encode() in server.requests[0]


# --- Redirects ---------------------------------------------------------------------------


def test_redirect_to_loopback_is_refused_when_loopback_is_not_allowed(settings, feed_server):
    """A public-looking server (here 127.0.0.2, allowed) redirects to 127.0.0.1 (not allowed)."""
    settings.NEWSDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.2/32"]
    feed_server.static("/secret", b"internal data")
    target = feed_server.url("/secret")

    def handler(conn, head):
        conn.sendall(response_head("302 Found", {"Location": target, "Content-Length": "0"}))

    with RawServer(handler, host="127.0.0.2") as server:
        error = _refused(server.url("/feed.xml"), "ssrf")
    assert "127.0.0.1" in str(error)
    assert feed_server.hits("/secret") == 0


def test_redirect_to_a_file_url_is_refused(feed_server):
    feed_server.route("/feed.xml", lambda _r: Response(302, b"", {"Location": "file:///etc/passwd"}))
    _refused(feed_server.url("/feed.xml"), "scheme")


def test_redirect_loop_is_detected(feed_server):
    feed_server.route("/a", lambda _r: Response(302, b"", {"Location": "/b"}))
    feed_server.route("/b", lambda _r: Response(302, b"", {"Location": "/a"}))
    error = _refused(feed_server.url("/a"), "redirects")
    assert "loop" in str(error)
    assert feed_server.hits("/a") == 1 and feed_server.hits("/b") == 1


def test_five_redirects_are_followed_and_a_sixth_is_refused(feed_server):
    for i in range(6):
        feed_server.route(f"/r{i}", lambda _r, i=i: Response(302, b"", {"Location": f"/r{i + 1}"}))
    feed_server.static("/r6", FEED)
    feed_server.static("/r5-final", FEED)
    assert fetch_url(url=feed_server.url("/r1")).body == FEED  # r1 -> r6: five hops
    error = _refused(feed_server.url("/r0"), "redirects")
    assert "too many" in str(error)
    assert feed_server.hits("/r6") == 1


@pytest.mark.parametrize("status", [301, 308])
def test_permanent_redirect_is_reported(feed_server, status):
    feed_server.route("/old.xml", lambda _r: Response(status, b"", {"Location": "/new.xml"}))
    feed_server.static("/new.xml", FEED)
    result = fetch_url(url=feed_server.url("/old.xml"))
    assert result.body == FEED
    assert result.permanent_redirect_url == feed_server.url("/new.xml")
    assert result.final_url == feed_server.url("/new.xml")


def test_permanent_redirect_after_a_temporary_one_is_not_reported(feed_server):
    feed_server.route("/a", lambda _r: Response(302, b"", {"Location": "/b"}))
    feed_server.route("/b", lambda _r: Response(301, b"", {"Location": "/c"}))
    feed_server.static("/c", FEED)
    result = fetch_url(url=feed_server.url("/a"))
    assert result.final_url == feed_server.url("/c")
    assert result.permanent_redirect_url == ""


# --- Size, time and encoding bounds -----------------------------------------------------------


def test_body_is_capped_at_the_setting(settings, feed_server):
    settings.NEWSDESK_FETCH_MAX_BYTES = 1000
    feed_server.static("/fits", b"x" * 1000)
    feed_server.static("/over", b"x" * 1001)
    assert len(fetch_url(url=feed_server.url("/fits")).body) == 1000
    error = _refused(feed_server.url("/over"), "too_large")
    assert not error.transient


def test_one_gigabyte_body_without_length_is_cut_off_at_the_cap():
    """A server streaming 1 GB (generated, never held) is read only up to the cap."""

    def handler(conn, head):
        server.send(conn, response_head(headers={"Content-Type": "application/rss+xml"}))
        for block in zeros(1024**3):
            server.send(conn, block)

    with RawServer(handler) as server:
        started = time.monotonic()
        error = _refused(server.url("/huge.xml"), "too_large")
        assert time.monotonic() - started < 10
    assert "10485760" in str(error)
    assert server.bytes_sent < 64 * 1024 * 1024


def test_one_gigabyte_content_length_is_refused_before_reading():
    def handler(conn, head):
        server.send(conn, response_head(headers={"Content-Length": str(1024**3)}))
        for block in zeros(1024**3):
            server.send(conn, block)

    with RawServer(handler) as server:
        _refused(server.url("/huge.xml"), "too_large")
    assert server.bytes_sent < 64 * 1024 * 1024


def test_gzip_bomb_is_stopped_at_the_decompressed_cap():
    """200 MB of zeros in ~200 KB of gzip: refused, and memory stays near the cap."""
    bomb = gzip_bomb(200 * 1024 * 1024)
    assert len(bomb) < 1024 * 1024

    def handler(conn, head):
        server.send(conn, response_head(headers={"Content-Encoding": "gzip", "Content-Length": str(len(bomb))}) + bomb)

    with RawServer(handler) as server:
        tracemalloc.start()
        try:
            error = _refused(server.url("/bomb.xml"), "too_large")
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert "decompression" in str(error)
    assert peak < 40 * 1024 * 1024


def test_content_length_longer_than_the_body_is_an_error():
    def handler(conn, head):
        conn.sendall(response_head(headers={"Content-Length": "5000"}) + FEED)

    with RawServer(handler) as server:
        error = _refused(server.url("/short.xml"), "protocol")
    assert "ended early" in str(error)


def test_content_length_shorter_than_the_body_reads_only_what_was_declared():
    def handler(conn, head):
        conn.sendall(response_head(headers={"Content-Length": "10"}) + FEED + b"x" * 100_000)

    with RawServer(handler) as server:
        assert fetch_url(url=server.url("/long.xml")).body == FEED[:10]


def test_slow_drip_is_cut_off_by_the_overall_deadline(settings):
    """Each byte arrives well within the read timeout; the deadline still ends it."""
    settings.NEWSDESK_FETCH_DEADLINE = 1.5
    settings.NEWSDESK_FETCH_READ_TIMEOUT = 1.0
    payload = response_head(headers={"Content-Length": str(len(FEED))}) + FEED

    def handler(conn, head):
        drip(server, conn, payload, every=0.1, limit_seconds=10)

    with RawServer(handler) as server:
        started = time.monotonic()
        error = _refused(server.url("/drip.xml"), "deadline")
        elapsed = time.monotonic() - started
    assert 1.4 <= elapsed < 3.0
    assert error.transient


def test_silent_server_hits_the_read_timeout(settings):
    settings.NEWSDESK_FETCH_READ_TIMEOUT = 0.5

    def handler(conn, head):
        time.sleep(3)

    with RawServer(handler) as server:
        started = time.monotonic()
        _refused(server.url("/silent.xml"), "timeout")
        assert time.monotonic() - started < 2.0


def test_url_for_fetch_normalises_what_is_requested():
    assert url_for_fetch("HTTP://user:pw@Example.COM:80/a b/ü?q=1#frag") == "http://example.com/a%20b/%C3%BC?q=1"
    assert url_for_fetch("https://bücher.example/feed") == "https://xn--bcher-kva.example/feed"


# --- TLS -------------------------------------------------------------------------------------------


@pytest.fixture
def tls_pair(tmp_path):
    """A throw-away self-signed certificate for feeds.example."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not available")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=feeds.example",
         "-addext", "subjectAltName=DNS:feeds.example"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


def test_https_verifies_the_host_name_while_connecting_to_the_pinned_address(settings, monkeypatch, tls_pair):
    """The socket goes to the checked address; SNI and certificate checks use the name."""
    cert, key = tls_pair
    settings.NEWSDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.2/32"]
    monkeypatch.setattr(netguard, "host_resolve", lambda host, port: [(socket.AF_INET, "127.0.0.2")])
    monkeypatch.setattr(transport, "tls_context", lambda: ssl.create_default_context(cafile=str(cert)))
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(str(cert), str(key))

    def handler(conn, head):
        conn.sendall(response_head(headers={"Content-Length": str(len(FEED))}) + FEED)

    with RawServer(handler, host="127.0.0.2", tls=server_context) as server:
        result = fetch_url(url=f"https://feeds.example:{server.port}/feed.xml")
        assert result.body == FEED
        assert result.connected_ip == "127.0.0.2"
        assert server.server_names == ["feeds.example"]
        # Same address, a name the certificate does not cover: refused.
        error = _refused(f"https://other.example:{server.port}/feed.xml", "tls")
        assert "certificate" in str(error).lower() or "hostname" in str(error).lower()


def test_a_slow_resolver_counts_against_the_deadline(settings, monkeypatch):
    settings.NEWSDESK_FETCH_DEADLINE = 1.0
    settings.NEWSDESK_FETCH_CONNECT_TIMEOUT = 1.0

    def stuck_resolver(host, port):
        time.sleep(3)
        return [(socket.AF_INET, "127.0.0.1")]

    monkeypatch.setattr(netguard, "host_resolve", stuck_resolver)
    started = time.monotonic()
    error = _refused("http://slow-dns.example/feed.xml", "dns")
    assert time.monotonic() - started < 2.0
    assert "timed out" in str(error)


def test_stored_validators_with_line_breaks_are_not_sent(feed_server):
    """An ETag a server once sent could carry CR/LF: never echoed as a header."""
    feed_server.static("/feed.xml", FEED)
    result = fetch_url(url=feed_server.url("/feed.xml"), etag='"a"\r\nCookie: x=1', last_modified="Mon\n, 1")
    assert result.status == 200
    request = feed_server.requests[-1]
    assert "if-none-match" not in request.headers and "cookie" not in request.headers
    assert "if-modified-since" not in request.headers


def test_redirect_to_a_malformed_host_is_a_clear_error(feed_server):
    feed_server.route("/feed.xml", lambda _r: Response(302, b"", {"Location": "http://exa mple\x01.com/feed"}))
    _refused(feed_server.url("/feed.xml"), "bad_url")
