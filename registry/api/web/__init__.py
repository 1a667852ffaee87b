"""The Praktijkloket: server-rendered HTML pages (``routes``) over the API's application layer, SVG charts
rendered on the server (``svg``), the API docs with locally served assets, and the middleware that adds the
security headers (``registry.api.headers``) to every response (``install``)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.api.headers import security_headers
from registry.api.web.routes import router
from registry.api.web.templating import STATIC_DIR


def vendor_dir() -> Path:
    """Swagger UI 5 and ReDoc as shipped by the ``fastapi-offline`` wheel (swagger-ui-bundle.js, swagger-ui.css,
    redoc.standalone.js, favicon.png), served under /static/vendor."""
    return Path(str(files("fastapi_offline").joinpath("static")))


def install(app: FastAPI) -> None:
    """Add the pages, the static files and the security headers to the API app."""
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
