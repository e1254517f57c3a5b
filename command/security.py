"""Request and response hardening: CSRF on cookie-authenticated writes, a body size limit,
security headers with a per-request CSP nonce, and safe redirect targets."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import WSGIRequestHandler

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SERVER_NAME = "hailops"

# Scripts only from our own static files, or inline blocks carrying this request's nonce
# (folium's map script and the page boot data).  Styles likewise: our stylesheets, and
# <style> blocks with the nonce (folium's map header).  No style="" attribute is applied, in
# a template or in markup a script builds (innerHTML); scripts set styles through the CSSOM
# (element.style), which the policy does not govern — as Leaflet does.
CSP_TEMPLATE = (
    "default-src 'self'; script-src 'self'{nonce}; style-src 'self'{nonce}; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# A stand-alone document (a bulletin as issued and stored, a drill report): no script; its
# own <style> blocks allowed by their hashes (a stored document cannot carry a request's
# nonce), and the style attributes of documents stored before they were removed, by theirs.
DOCUMENT_CSP = (
    "default-src 'none'; style-src {styles}; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"


def csp_nonce() -> str:
    """This request's CSP nonce (made on first use; only then is it put in the header)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    nonce: str = g.csp_nonce
    return nonce


def _sha256(text: str) -> str:
    import base64
    import hashlib

    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def document_policy(html: str) -> str:
    """The CSP of a stand-alone HTML document: its own styles by hash, nothing else inline."""
    import re

    blocks = re.findall(r"<style(?:\s[^>]*)?>(.*?)</style>", html, flags=re.S | re.I)
    attributes = re.findall(r"""\sstyle=(?:"([^"]*)"|'([^']*)')""", html, flags=re.I)
    sources = [_sha256(b) for b in blocks]
    if attributes:
        from html import unescape

        sources += ["'unsafe-hashes'", *(_sha256(unescape(a or b)) for a, b in attributes)]
    return DOCUMENT_CSP.format(styles=" ".join(dict.fromkeys(sources)) or "'none'")


def token_authenticated() -> bool:
    """True when a bearer token, and not a cookie session, authenticated this request.

    Flask-Login asks the request loader (bearer tokens) only when the cookie session carries
    no user, and the loader marks ``g.token_auth`` only for a token that authenticates."""
    if not request.headers.get("Authorization", "").startswith("Bearer "):
        return False
    return bool(current_user.is_authenticated) and bool(g.get("token_auth", False))


def _check_csrf() -> None:
    # Browsers (cookie sessions) must send the CSRF token on every unsafe request, forms and
    # fetch() alike (X-CSRFToken header), whatever other headers say.  Only a request that a
    # bearer token really authenticates (a header a cross-site page cannot send) needs none.
    if request.method in SAFE_METHODS or not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    if token_authenticated():
        return
    from command.extensions import csrf

    csrf.protect()


def _check_nul() -> None:
    """A NUL character in the path, the query or a form field is never meant (and PostgreSQL
    text refuses it: a 500 at the first query).  JSON bodies are checked with their models
    (``command.web.schemas``), uploads by their readers."""
    from werkzeug.exceptions import BadRequest

    texts = [request.path, *(t for kv in request.args.items(multi=True) for t in kv)]
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        texts += [t for kv in request.form.items(multi=True) for t in kv]
    if any(isinstance(t, str) and "\x00" in t for t in texts):
        raise BadRequest("a NUL character (%00) is not allowed in a path, query or form field")


def _check_size() -> None:
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge(f"request body larger than {limit} bytes")


def _headers(resp: Response) -> Response:
    nonce = g.get("csp_nonce")
    h = resp.headers
    h.setdefault(
        "Content-Security-Policy", CSP_TEMPLATE.format(nonce=f" 'nonce-{nonce}'" if nonce else "")
    )
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        h.setdefault("Strict-Transport-Security", HSTS)
    # Replaces "Werkzeug/x Python/y" (servers add their own only when none is set).
    h["Server"] = SERVER_NAME
    return resp


class QuietRequestHandler(WSGIRequestHandler):
    """The built-in server's handler without "Werkzeug/x Python/y" in the Server header."""

    def version_string(self) -> str:
        return SERVER_NAME


def init_app(app: Flask) -> None:
    trusted = app.config["HAILOPS"].trusted_proxies
    if trusted:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Behind a TLS-terminating proxy: scheme, host and client address from its headers.
        proxied = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted, x_host=trusted)
        app.wsgi_app = proxied  # type: ignore[method-assign]
    app.before_request(_check_size)
    app.before_request(_check_nul)
    app.before_request(_check_csrf)
    app.after_request(_headers)


def _plain_path(target: str) -> bool:
    # Browsers drop tabs and newlines and read "\" as "/": "/\t/evil" is "//evil".
    if any(ord(c) < 0x21 or ord(c) == 0x7F or c == "\\" for c in target):
        return False
    if not target.startswith("/") or target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, default: str) -> str:
    """A redirect target from a request: a path on this site, or ``default``."""
    return target if target and _plain_path(target) else default


def safe_referrer(default: str) -> str:
    """The referring page if it is on this site (as a path), else ``default``."""
    ref = request.referrer
    if not ref:
        return default
    parts = urlsplit(ref)
    if parts.netloc != request.host:
        return default
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return safe_next(path, default)
