"""What a Praktijkloket form post must show before it is read: the page's own origin, a small body, and the CSRF
token of the visitor's cookie.

* Origin: ``Origin`` (else the origin of ``Referer``) is ``PRAKTIJK_PUBLIC_URL``'s or the request's own; a page
  elsewhere that posts ``/sleutel`` (and so logs the visitor in with the attacker's key) is refused with 403.
* CSRF token (double submit): ``CsrfCookie`` gives every visitor a random token in an HttpOnly, SameSite=Strict
  cookie and to the page (``request.state.csrf``); the form sends it back in ``csrf``. Another site can neither
  read nor set the cookie, so it cannot post a matching pair (403).
* Size: a form body over ``MAX_FORM_BYTES`` is refused with 413 before it is parsed (a key is 60 bytes).
* ``Secure`` cookies whenever ``PRAKTIJK_PUBLIC_URL`` is https (also behind a TLS proxy, where the app sees http).
"""

from __future__ import annotations

import re
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_COOKIE = "praktijk_csrf"
CSRF_FIELD = "csrf"
MAX_FORM_BYTES = 4096
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)


class FormulierFout(Exception):
    """A form post refused before it was read: the status and a message for the page."""

    def __init__(self, status: int, melding: str) -> None:
        super().__init__(melding)
        self.status = status
        self.melding = melding


def secure(request: Request, public_url: str) -> bool:
    """Cookies are ``Secure`` when the public URL is https, or when this request itself came over https."""
    return public_url.startswith("https://") or request.url.scheme == "https"


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else None


def check_origin(request: Request, public_url: str) -> None:
    """403 unless the post comes from a page of this site (``Origin``, else ``Referer``)."""
    sent = request.headers.get("origin") or _origin(request.headers.get("referer", "")) or ""
    allowed = {_origin(f"{request.url.scheme}://{request.headers.get('host', '')}"), _origin(public_url)}
    if sent.lower() not in allowed - {None}:
        raise FormulierFout(403, "Dit formulier komt niet van het Praktijkloket zelf en is geweigerd.")


async def read_form(request: Request) -> dict[str, str]:
    """The url-encoded form, at most ``MAX_FORM_BYTES`` (413 past that, whatever Content-Length claims)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise FormulierFout(413, "Het formulier is te groot.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormulierFout(413, "Het formulier is te groot.")
    text = bytes(body).decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}


def check_token(request: Request, form: dict[str, str]) -> None:
    """403 unless the form's ``csrf`` equals the visitor's CSRF cookie."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get(CSRF_FIELD, "")
    if not _TOKEN.match(cookie) or not secrets.compare_digest(cookie.encode(), sent.encode()):
        raise FormulierFout(403, "Het formulier is verlopen of komt niet van deze pagina: probeer het opnieuw.")


async def checked_form(request: Request, public_url: str) -> dict[str, str]:
    """The form of a Praktijkloket post after the origin, size and token checks (``FormulierFout`` otherwise)."""
    check_origin(request, public_url)
    form = await read_form(request)
    check_token(request, form)
    return form


def _cookie_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header: as if there were none
                return None
            morsel = jar.get(CSRF_COOKIE)
            if morsel is not None and _TOKEN.match(morsel.value):
                return morsel.value
    return None


# the API's answers and the metrics: no page, no form, so no token (a fresh one costs a getrandom call per request)
ZONDER_FORMULIEREN = ("/v1/", "/metrics")


class CsrfCookie:
    """Pure ASGI middleware: every request for a page gets its visitor's CSRF token in ``request.state.csrf``; a
    visitor without one gets a new token, set as a cookie on the HTML page that carries the forms."""

    def __init__(self, app: ASGIApp, secure_cookie: bool) -> None:
        self.app = app
        self.secure_cookie = secure_cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ZONDER_FORMULIEREN):
            await self.app(scope, receive, send)
            return
        token = _cookie_token(scope)
        scope.setdefault("state", {})["csrf"] = token or secrets.token_urlsafe(32)
        if token is not None:
            await self.app(scope, receive, send)
            return
        cookie = self._cookie(scope["state"]["csrf"], scope.get("scheme") == "https")

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    headers.append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _cookie(self, token: str, https: bool) -> str:
        flags = "; HttpOnly; Path=/; SameSite=Strict" + ("; Secure" if self.secure_cookie or https else "")
        return f"{CSRF_COOKIE}={token}{flags}"
