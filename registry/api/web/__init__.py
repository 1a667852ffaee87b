"""The Praktijkloket: server-rendered HTML pages over the query API's own code paths (``routes``), SVG charts
rendered on the server (``svg``), the API docs with locally served assets, and the security headers of every
response (``install``): the Content-Security-Policy that keeps every page to this origin and the others below."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.api.web.templating import STATIC_DIR

# Everything from this origin only. The pages need no inline script or style; Swagger UI and ReDoc set inline
# styles and ReDoc runs a worker from a blob: URL, so /docs and /redoc allow exactly that (still no other origin).
CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
CSP_DOCS = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
DOCS_PATHS = ("/docs", "/redoc")
# On every response (also problem+json and the 500 answer, see problems.py): no framing, no sniffing, no referrer
# to other origins, nothing shared with other browsing contexts, no powerful browser features.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
HSTS = "max-age=31536000"  # only on https (a browser ignores it over http anyway)
NO_STORE_PREFIXES = ("/v1/", "/metrics")  # keyed answers: never kept by a shared cache unless the endpoint says so


def security_headers(path: str, https: bool) -> dict[str, str]:
    """The headers every response to ``path`` carries (the endpoint's own values win)."""
    headers = {"Content-Security-Policy": CSP_DOCS if path in DOCS_PATHS else CSP, **SECURITY_HEADERS}
    if https:
        headers["Strict-Transport-Security"] = HSTS
    if path.startswith(NO_STORE_PREFIXES):
        headers["Cache-Control"] = "no-store"
    return headers


def vendor_dir() -> Path:
    """Swagger UI 5 and ReDoc as shipped by the ``fastapi-offline`` wheel (swagger-ui-bundle.js, swagger-ui.css,
    redoc.standalone.js, favicon.png), served under /static/vendor."""
    return Path(str(files("fastapi_offline").joinpath("static")))


def install(app: FastAPI) -> None:
    """Add the pages, the static files and the security headers to the API app."""
    from registry.api.web.routes import router

    app.include_router(router)
    app.mount("/static/vendor", StaticFiles(directory=vendor_dir()), name="vendor")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    app.add_middleware(SecurityHeaders)


class SecurityHeaders:
    """Pure ASGI middleware adding ``security_headers`` to every HTTP response (the endpoint's own values win).
    Not ``@app.middleware``: Starlette's BaseHTTPMiddleware streams each body through a task and a queue, about a
    fifth of the API's busy time on a cached answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, https = scope["path"], scope.get("scheme") == "https"  # as request.url.path and .scheme

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in security_headers(path, https).items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
