"""The Praktijkloket: server-rendered HTML pages over the query API's own code paths (``routes``), SVG charts
rendered on the server (``svg``), the API docs with locally served assets, and the Content-Security-Policy
(``install``) that keeps every page to this origin."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from registry.api.web.templating import STATIC_DIR

# Everything from this origin only. The pages need no inline script or style; Swagger UI and ReDoc set inline
# styles and ReDoc runs a worker from a blob: URL, so /docs and /redoc allow exactly that (still no other origin).
CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")
CSP_DOCS = ("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
DOCS_PATHS = ("/docs", "/redoc")


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

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        docs = request.url.path in DOCS_PATHS
        response.headers.setdefault("Content-Security-Policy", CSP_DOCS if docs else CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
